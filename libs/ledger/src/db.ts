/**
 * One small database interface with two drivers: node-postgres (DATABASE_URL) and PGlite (the
 * embedded default). Repositories take a `Queryable`; inside `transaction(fn)` they get the
 * transaction's handle, so every statement of a transaction goes through it (STYLE.md,
 * "Persistence and messaging").
 *
 * PostgreSQL outages (docs/adr/0010): the pool and every checked-out client have an 'error'
 * listener (without one, a server restart — 57P01 on an idle connection — ends the process). A
 * connection-class failure marks `health` down; while it is down every call fails at once with
 * `StoreUnavailableError`, and a background probe (`SELECT 1`, back-off doubling up to
 * `probeIntervalMs`) marks it up again. While up, the same probe runs every `probeIntervalMs`, so an
 * outage with no traffic is seen too. Connections are made anew after an outage; node-postgres
 * keeps named prepared statements per connection and prepares them again on a new one.
 */
import { mkdirSync } from 'node:fs';
import { Pool, type PoolClient } from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import {
  backoffDelay,
  describeConnectionError,
  isConnectionError,
  StoreHealth,
} from './store-health';
import { StoreDamagedError, StoreLock } from './store-lock';

export * from './store-health';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly driver: 'pg' | 'pglite';
  /** up, or down with a reason and since when (PGlite, in-process, is always up) */
  readonly health: StoreHealth;
  /** Runs fn in one transaction: COMMIT if it resolves, ROLLBACK if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Statements with parameters run as named prepared statements: PostgreSQL parses and plans each
 * once per connection instead of once per call (the settle path runs the same dozen statements for
 * every bill). The name is the statement's number in this process; past MAX_PREPARED distinct texts
 * (dynamic filters) the rest run unnamed.
 */
const MAX_PREPARED = 500;
const prepared = new Map<string, string>();

function queryConfig(
  sql: string,
  params: unknown[],
): { text: string; values: unknown[]; name?: string } {
  if (params.length === 0) return { text: sql, values: params };
  let name = prepared.get(sql);
  if (name === undefined && prepared.size < MAX_PREPARED) {
    name = `onebill_${prepared.size + 1}`;
    prepared.set(sql, name);
  }
  return name === undefined ? { text: sql, values: params } : { text: sql, values: params, name };
}

class PgTx implements Queryable {
  constructor(private readonly client: PoolClient) {}

  async query<R>(sql: string, params: unknown[] = []): Promise<QueryResult<R>> {
    const result = await this.client.query(queryConfig(sql, params));
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    await this.client.query(sql);
  }
}

/** node-postgres settings, validated by the app's configuration. */
export interface PgSettings {
  /** PostgreSQL connections at most */
  poolSize: number;
  /** give up connecting after this long (pg-pool `connectionTimeoutMillis`) */
  connectTimeoutMs: number;
  /** a statement whose answer has not arrived after this long fails (pg `query_timeout`); 0 = never */
  queryTimeoutMs: number;
  /** the probe's period while up, and the longest back-off between probes while down */
  probeIntervalMs: number;
  /** every session's search_path (a test's or a bench's own schema); absent = the server's */
  searchPath?: string;
}

export const PG_DEFAULTS: PgSettings = {
  poolSize: 10,
  connectTimeoutMs: 5_000,
  queryTimeoutMs: 60_000,
  probeIntervalMs: 2_000,
};

/** The first probe of an outage comes this soon; later ones double up to probeIntervalMs. */
const PROBE_INITIAL_MS = 250;

export class PgDb implements Db {
  readonly driver = 'pg';
  readonly health = new StoreHealth();
  private closed = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing: Promise<void> = Promise.resolve();
  private probeFailures = 0;

  constructor(
    private readonly pool: Pool,
    private readonly settings: PgSettings = PG_DEFAULTS,
  ) {
    // An idle client's connection died (restart, pg_terminate_backend): pg-pool drops that client;
    // without this listener Node would end the process on the 'error' event.
    pool.on('error', (error) => this.failed(error));
    this.scheduleProbe();
  }

  /** `settings` as a number: the pool size, other settings at their defaults. */
  static fromUrl(url: string, settings: Partial<PgSettings> | number = {}): PgDb {
    const s = {
      ...PG_DEFAULTS,
      ...(typeof settings === 'number' ? { poolSize: settings } : settings),
    };
    return new PgDb(
      new Pool({
        connectionString: url,
        max: s.poolSize,
        connectionTimeoutMillis: s.connectTimeoutMs,
        ...(s.queryTimeoutMs > 0 ? { query_timeout: s.queryTimeoutMs } : {}),
        // a dead peer (a primary gone without a FIN) is noticed by TCP keep-alive
        keepAlive: true,
        ...(s.searchPath === undefined ? {} : { options: `-c search_path=${s.searchPath}` }),
      }),
      s,
    );
  }

  async query<R>(sql: string, params: unknown[] = []): Promise<QueryResult<R>> {
    this.refuseWhileDown();
    try {
      const result = await this.pool.query(queryConfig(sql, params));
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
    } catch (error) {
      throw this.classify(error);
    }
  }

  async exec(sql: string): Promise<void> {
    this.refuseWhileDown();
    try {
      await this.pool.query(sql);
    } catch (error) {
      throw this.classify(error);
    }
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    this.refuseWhileDown();
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.classify(error);
    }
    // A checked-out client has no pool listener: its connection dying mid-transaction would
    // otherwise be an unhandled 'error' event. The statement under way fails on its own.
    const onError = (error: Error): void => this.failed(error);
    client.on('error', onError);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const value = await fn(new PgTx(client));
      await client.query('COMMIT');
      return value;
    } catch (error) {
      if (isConnectionError(error)) {
        // Nothing to roll back on a dead connection (the server rolls back an unfinished
        // transaction); a COMMIT cut off may have committed: the caller's retry finds it by its
        // idempotency key (Kafka position, bill).
        broken = error instanceof Error ? error : new Error(String(error));
      } else {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          // The connection is unusable: destroy it rather than return it to the pool.
          broken =
            rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        }
      }
      throw this.classify(error);
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.probeTimer);
    await this.probing;
    await this.pool.end();
  }

  /** Fail fast during an outage: the probe, not the callers, finds out when it is over. */
  private refuseWhileDown(): void {
    if (!this.health.up) throw this.health.unavailable();
  }

  /** A connection-class error marks the store down and becomes a StoreUnavailableError. */
  private classify(error: unknown): unknown {
    if (!isConnectionError(error)) return error;
    this.failed(error);
    return this.health.unavailable(error);
  }

  private failed(error: unknown): void {
    if (this.closed || !isConnectionError(error)) return;
    const wasUp = this.health.up;
    this.health.markDown(describeConnectionError(error));
    if (wasUp) {
      // probe soon rather than at the end of the idle period
      this.probeFailures = 0;
      this.scheduleProbe();
    }
  }

  private scheduleProbe(): void {
    if (this.closed) return;
    clearTimeout(this.probeTimer);
    const delay = this.health.up
      ? this.settings.probeIntervalMs
      : backoffDelay(this.probeFailures + 1, {
          initialMs: PROBE_INITIAL_MS,
          maxMs: this.settings.probeIntervalMs,
        });
    this.probeTimer = setTimeout(() => {
      this.probing = this.probe().finally(() => this.scheduleProbe());
    }, delay);
    this.probeTimer.unref();
  }

  private async probe(): Promise<void> {
    if (this.closed) return;
    try {
      await this.pool.query('SELECT 1');
      this.probeFailures = 0;
      this.health.markUp();
    } catch (error) {
      if (this.closed) return;
      this.probeFailures += 1;
      // a probe that fails for another reason (e.g. too many connections) still says "not usable"
      this.health.markDown(describeConnectionError(error));
    }
  }
}

class PgliteTx implements Queryable {
  constructor(private readonly tx: Pick<PGlite, 'query' | 'exec'>) {}

  async query<R>(sql: string, params: unknown[] = []): Promise<QueryResult<R>> {
    const result = await this.tx.query<R>(sql, params);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  }

  async exec(sql: string): Promise<void> {
    await this.tx.exec(sql);
  }
}

export class PgliteDb implements Db {
  readonly driver = 'pglite';
  readonly health = new StoreHealth();
  private readonly direct: PgliteTx;
  /** PGlite has one connection: transactions run one after another, in call order. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly pglite: PGlite,
    /** the data folder's lock (none in memory), released on close */
    private readonly lock: StoreLock | null = null,
  ) {
    this.direct = new PgliteTx(pglite);
  }

  /**
   * dataDir: a folder (e.g. `.data/pglite`) or undefined for an in-memory database. A folder is
   * locked for this process first (store-lock.ts): a second process is refused with
   * StoreLockedError; a folder PostgreSQL cannot start on gives StoreDamagedError, whose message
   * says how to recover.
   */
  static async open(dataDir?: string): Promise<PgliteDb> {
    const { PGlite } = await import('@electric-sql/pglite');
    if (dataDir === undefined) return new PgliteDb(await PGlite.create());
    // PGlite creates the last folder only: a fresh clone has no `.data/` yet.
    mkdirSync(dataDir, { recursive: true });
    const lock = StoreLock.acquire(dataDir);
    try {
      return new PgliteDb(await PGlite.create(dataDir), lock);
    } catch (error) {
      lock.release();
      throw new StoreDamagedError(dataDir, error);
    }
  }

  query<R>(sql: string, params: unknown[] = []): Promise<QueryResult<R>> {
    return this.direct.query<R>(sql, params);
  }

  exec(sql: string): Promise<void> {
    return this.direct.exec(sql);
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const run = this.tail.then(() => this.pglite.transaction((tx) => fn(new PgliteTx(tx))));
    this.tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    try {
      await this.tail;
      await this.pglite.close();
    } finally {
      this.lock?.release();
    }
  }
}

/** DATABASE_URL → PostgreSQL; otherwise PGlite in `dataDir` (in memory when dataDir is null). */
export async function openDb(options: {
  databaseUrl?: string;
  dataDir?: string | null;
  /** PostgreSQL connections at most (default 10) */
  poolSize?: number;
  /** node-postgres timeouts and probe (PG_DEFAULTS where not given) */
  pg?: Partial<Omit<PgSettings, 'poolSize'>>;
}): Promise<Db> {
  if (options.databaseUrl)
    return PgDb.fromUrl(options.databaseUrl, {
      ...options.pg,
      ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
    });
  return PgliteDb.open(options.dataDir === null ? undefined : (options.dataDir ?? '.data/pglite'));
}
