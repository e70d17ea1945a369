/**
 * Group commit on the embedded default (PGlite): the batch writers and the UnitOfWork store what
 * one message per transaction stores (testing/group-commit-cases.ts). The same cases run on
 * PostgreSQL in unit-of-work.int.spec.ts.
 */
import type { PGlite } from '@electric-sql/pglite';
import { PgliteDb } from './db';
import { migrate } from './migrate';
import { groupCommitCases } from './testing/group-commit-cases';
import { openTestPglite } from './testing/pglite';

describe('group commit on PGlite', () => {
  // the cases need a dozen fresh databases: migrate one, then start each from its data folder
  let template: File | Blob;
  let PGliteClass: typeof PGlite;

  beforeAll(async () => {
    // openTestPglite first: it says how to run jest when PGlite cannot load
    await (await openTestPglite({ migrate: false })).close();
    PGliteClass = (await import('@electric-sql/pglite')).PGlite;
    const pglite = await PGliteClass.create();
    await migrate(new PgliteDb(pglite));
    template = await pglite.dumpDataDir('none');
    await pglite.close();
  });

  groupCommitCases(async () => new PgliteDb(await PGliteClass.create({ loadDataDir: template })));
});
