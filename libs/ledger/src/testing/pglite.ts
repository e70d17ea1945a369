/**
 * An in-memory PGlite for specs, with the ledger's migrations when asked. Test support only.
 */
import { PgliteDb } from '../db';
import { migrate } from '../migrate';

/**
 * PGlite loads its WebAssembly with import(), which jest's VM only allows with
 * --experimental-vm-modules (electric-sql/pglite#224); without it PGlite crashes the worker
 * instead of failing a test, so this fails first, saying what to do.
 */
export async function openTestPglite(options: { migrate: boolean }): Promise<PgliteDb> {
  if (
    !`${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`.includes(
      '--experimental-vm-modules',
    )
  ) {
    throw new Error('run jest with NODE_OPTIONS=--experimental-vm-modules to test PGlite');
  }
  const db = await PgliteDb.open();
  if (options.migrate) await migrate(db);
  return db;
}

/**
 * A migrated in-memory PGlite for the enclosing describe block (or file): opened in its
 * beforeAll, closed in its afterAll. Call the returned function inside tests.
 */
export function usePglite(): () => PgliteDb {
  let db: PgliteDb | undefined;
  beforeAll(async () => {
    db = await openTestPglite({ migrate: true });
  });
  afterAll(async () => {
    await db?.close();
  });
  return () => {
    if (db === undefined) throw new Error('usePglite: the database opens in beforeAll');
    return db;
  };
}
