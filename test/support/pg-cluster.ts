/**
 * A PostgreSQL cluster of a test's own, for fault tests that stop, restart or cut it off without
 * touching the shared server: `initdb` into a temporary folder with the binaries of
 * `pg_config --bindir`, run as the user `postgres` (root may not run postgres) on a port of the
 * test's own, trust authentication on 127.0.0.1 only. `stop()` is a fast shutdown (what an
 * operator's restart does: 57P01 to every session).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

function bindir(): string {
  return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
}

export class PgCluster {
  private readonly bin = bindir();
  private running = false;

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  /** initdb + start; the data folder is removed by `destroy()`. */
  static async create(port: number): Promise<PgCluster> {
    const dir = mkdtempSync(join(tmpdir(), `onebill-pg-${port}-`));
    const cluster = new PgCluster(dir, port);
    if (userInfo().uid === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(dir, uid, gid);
    }
    chmodSync(dir, 0o700);
    cluster.run('initdb', [
      '-D',
      join(dir, 'data'),
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    await cluster.start();
    return cluster;
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Runs a PostgreSQL binary as the user postgres when we are root. */
  private run(binary: string, args: string[]): string {
    const path = join(this.bin, binary);
    const [cmd, argv] =
      userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  async start(): Promise<void> {
    this.run('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'server.log'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`,
      '-w',
      '-t',
      '60',
      'start',
    ]);
    this.running = true;
    await Promise.resolve();
  }

  /** Fast shutdown: sessions are ended (57P01), uncommitted transactions rolled back. */
  stop(): void {
    if (!this.running) return;
    this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', '-t', '60', 'stop']);
    this.running = false;
  }

  get isRunning(): boolean {
    return this.running;
  }

  async restart(): Promise<void> {
    this.stop();
    await this.start();
  }

  /** One statement on a short-lived connection of the test's own. */
  async sql<R extends Record<string, unknown>>(
    database: string,
    text: string,
    params: unknown[] = [],
  ): Promise<R[]> {
    const client = new Client({
      connectionString: this.url(database),
      connectionTimeoutMillis: 5000,
    });
    await client.connect();
    try {
      return (await client.query<R>(text, params)).rows;
    } finally {
      await client.end();
    }
  }

  /** Ends every other session on the database (pg_terminate_backend: 57P01 to each). */
  async terminateBackends(database: string): Promise<number> {
    const rows = await this.sql<{ n: number }>(
      'postgres',
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [database],
    );
    return rows[0]?.n ?? 0;
  }

  destroy(): void {
    try {
      this.stop();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
