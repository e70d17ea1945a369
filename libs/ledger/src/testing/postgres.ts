/**
 * The real PostgreSQL of an integration run (DATABASE_URL, set by test/support/global-setup.ts),
 * a schema of its own per suite, and the helpers to make two sessions meet on a lock. Test
 * support only.
 */
import { PgDb } from '../db';

/** The integration database; throws when the global setup did not run. */
export function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: the integration global setup did not run');
  return url;
}

/** Creates `schema` (empty: the caller migrates it, or tests migrating it). */
export async function createSchema(schema: string): Promise<void> {
  const admin = PgDb.fromUrl(databaseUrl(), 1);
  try {
    await admin.exec(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.close();
  }
}

/** A pool of at most `max` sessions whose search_path is `schema` (PgDb: its pool's errors are
 * handled, a restart marks the store down instead of ending the process). */
export function openInSchema(schema: string, max: number): PgDb {
  return PgDb.fromUrl(databaseUrl(), { poolSize: max, searchPath: schema });
}

/** Drops `schema` with everything in it through `db`, then closes `db`. */
export async function dropSchemaAndClose(db: PgDb, schema: string): Promise<void> {
  try {
    await db.exec(`DROP SCHEMA ${schema} CASCADE`);
  } finally {
    await db.close();
  }
}

/** A promise with its resolve, to make two transactions meet at a chosen point. */
export function signal(): { promise: Promise<void>; fire: () => void } {
  let fire = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}

/** Waits until the backend of another session is blocked on a lock. */
export async function untilSomeoneWaitsOnALock(db: PgDb): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const { rows } = await db.query<{ waiting: string }>(
      `SELECT count(*)::text AS waiting FROM pg_stat_activity
       WHERE wait_event_type = 'Lock' AND datname = current_database()`,
    );
    if (rows[0]?.waiting !== '0') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('no session started waiting on a lock within 10 s');
}
