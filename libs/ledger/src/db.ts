/**
 * One small database interface with two drivers: node-postgres (DATABASE_URL) and PGlite (the
 * embedded default). Repositories take a `Queryable`; inside `transaction(fn)` they get the
 * transaction's handle, so every statement of a transaction goes through it (STYLE.md,
 * "Persistence and messaging").
 */
import { mkdirSync } from 'node:fs';
import { Pool, type PoolClient } from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import { StoreDamagedError, StoreLock } from './store-lock';

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

export class PgDb implements Db {
  readonly driver = 'pg';

  constructor(private readonly pool: Pool) {}

  static fromUrl(url: string, max = 10): PgDb {
    return new PgDb(new Pool({ connectionString: url, max }));
  }

  async query<R>(sql: string, params: unknown[] = []): Promise<QueryResult<R>> {
    const result = await this.pool.query(queryConfig(sql, params));
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const value = await fn(new PgTx(client));
      await client.query('COMMIT');
      return value;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is unusable: destroy it rather than return it to the pool.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
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
}): Promise<Db> {
  if (options.databaseUrl) return PgDb.fromUrl(options.databaseUrl, options.poolSize ?? 10);
  return PgliteDb.open(options.dataDir === null ? undefined : (options.dataDir ?? '.data/pglite'));
}
