/**
 * Group commit on the real PostgreSQL (DATABASE_URL, from test/support/global-setup.ts): the
 * cases of testing/group-commit-cases.ts (the same as on PGlite), each database a fresh schema,
 * and what only a server with concurrent sessions shows: the people of a batch are locked in one
 * fixed order (psn_no, year), whatever order the batch names them in, so two batches never
 * deadlock.
 */
import { randomBytes } from 'node:crypto';
import { lockAccumulatorsBatch } from './batch';
import { PgDb } from './db';
import { migrate } from './migrate';
import { groupCommitCases } from './testing/group-commit-cases';
import {
  createSchema,
  databaseUrl,
  openInSchema,
  signal,
  untilSomeoneWaitsOnALock,
} from './testing/postgres';
import { UnitOfWork } from './unit-of-work';

const schemas: string[] = [];

/** A fresh schema with the ledger's migrations, and a pool whose sessions use it. */
async function freshDb(): Promise<PgDb> {
  const schema = `uow_it_${randomBytes(5).toString('hex')}`;
  schemas.push(schema);
  await createSchema(schema);
  const db = openInSchema(schema, 6);
  await migrate(db);
  return db;
}

afterAll(async () => {
  const admin = PgDb.fromUrl(databaseUrl(), 1);
  for (const schema of schemas) await admin.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.close();
});

describe('group commit on PostgreSQL', () => {
  groupCommitCases(freshDb);
});

describe('the people of a batch are locked in one fixed order', () => {
  let db: PgDb;
  const tag = randomBytes(3).toString('hex');
  const people = [1, 2, 3, 4, 5].map((n) => ({ psnNo: `LK-${tag}-${n}`, year: 2024 }));

  beforeAll(async () => {
    db = await freshDb();
    await db.transaction((tx) => lockAccumulatorsBatch(tx, people));
  });
  afterAll(async () => {
    await db.close();
  });

  /** Whether another session holds the person's row lock (probed with NOWAIT, then let go). */
  async function lockedElsewhere(psnNo: string): Promise<boolean> {
    try {
      await db.transaction((tx) =>
        tx.query('SELECT 1 FROM accumulators WHERE psn_no = $1 AND year = 2024 FOR UPDATE NOWAIT', [
          psnNo,
        ]),
      );
      return false;
    } catch (e) {
      if ((e as { code?: string }).code === '55P03') return true;
      throw e;
    }
  }

  it('takes them sorted by psn_no whatever the order given: it waits at the third holding the first two only', async () => {
    const holding = signal();
    const release = signal();
    const third = people[2]?.psnNo ?? '';
    const holder = db.transaction(async (tx) => {
      await lockAccumulatorsBatch(tx, [{ psnNo: third, year: 2024 }]);
      holding.fire();
      await release.promise;
    });
    await holding.promise;
    const reversed = [...people].reverse();
    const batch = db.transaction(async (tx) => {
      const uow = new UnitOfWork(tx);
      await uow.lockPeople(reversed);
    });
    await untilSomeoneWaitsOnALock(db);
    const held = [];
    for (const p of people) {
      if (p.psnNo === third) continue;
      held.push([p.psnNo.slice(-1), await lockedElsewhere(p.psnNo)]);
    }
    release.fire();
    await Promise.all([holder, batch]);
    // given 5, 4, 3, 2, 1, it locked 1 and 2 and waits at 3; 4 and 5 are not taken yet
    expect(held).toEqual([
      ['1', true],
      ['2', true],
      ['4', false],
      ['5', false],
    ]);
  });

  it('lets two batches naming the same people in opposite orders both commit (no deadlock)', async () => {
    const run = (order: typeof people): Promise<void> =>
      db.transaction(async (tx) => {
        const uow = new UnitOfWork(tx);
        await uow.lockPeople(order);
        for (const p of order) {
          await uow.bill(async (b) => {
            const locked = await b.accumulators(p.psnNo, p.year);
            await b.saveAccumulators(p.psnNo, locked.data, locked.version);
          });
        }
        // hold the locks a while, as a batch being computed does
        await new Promise((resolve) => setTimeout(resolve, 100));
        await uow.flush();
      });
    for (let round = 0; round < 3; round += 1) {
      await expect(Promise.all([run(people), run([...people].reverse())])).resolves.toBeDefined();
    }
    const { rows } = await db.query<{ version: number }>(
      'SELECT version FROM accumulators WHERE psn_no LIKE $1 ORDER BY psn_no',
      [`LK-${tag}-%`],
    );
    // every batch saved every person once: 2 batches × 3 rounds
    expect(rows.map((r) => r.version)).toEqual([6, 6, 6, 6, 6]);
  });
});
