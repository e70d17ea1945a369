/**
 * The ledger against the real PostgreSQL of the integration run (DATABASE_URL, set by
 * test/support/global-setup.ts). Each run migrates a schema of its own, so these tests neither
 * see nor disturb the rows of other suites sharing the database.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { formatFen, parseWireFen } from '@onebill/money';
import type { PgDb, Queryable } from './db';
import { loadMigrations, migrate } from './migrate';
import {
  claimOutboxBatch,
  findSettlementByBill,
  insertOutbox,
  insertSettlement,
  lockAccumulators,
  markPublished,
  saveAccumulators,
  type OutboxRow,
  type SettlementRow,
} from './repositories';
import { bodyHashOf, sampleBill, sampleResult, settlementExtras } from './testing/fixtures';
import {
  createSchema,
  dropSchemaAndClose,
  openInSchema,
  signal,
  untilSomeoneWaitsOnALock,
} from './testing/postgres';

const schema = `ledger_it_${randomBytes(5).toString('hex')}`;

describe('ledger on PostgreSQL', () => {
  let db: PgDb;

  beforeAll(async () => {
    await createSchema(schema);
    db = openInSchema(schema, 5);
  });

  afterAll(() => dropSchemaAndClose(db, schema));

  it('applies the migrations once even when two gateways start together', async () => {
    const all = loadMigrations().map((m) => m.name);
    const other = openInSchema(schema, 5);
    try {
      const [first, second] = await Promise.all([migrate(db), migrate(other)]);
      // One of the two applied everything; the other waited on the advisory lock and found it done.
      expect([first, second].sort((a, b) => b.length - a.length)).toEqual([all, []]);
    } finally {
      await other.close();
    }
    expect(await migrate(db)).toEqual([]);
    const { rows } = await db.query<{ name: string }>(
      'SELECT name FROM schema_migrations ORDER BY version',
    );
    expect(rows.map((r) => r.name)).toEqual(all);
  });

  it('settles a bill once when two consumers insert it at the same time', async () => {
    const bill = sampleBill();
    const result = sampleResult(bill);
    const firstInserted = signal();
    const settle = (setlId: string, before: Promise<void>, after: () => void) =>
      db.transaction(async (tx) => {
        await before;
        const row = await insertSettlement(tx, {
          setlId,
          bill,
          bodyHash: bodyHashOf(bill),
          clrOptins: '510402',
          ...settlementExtras(),
          result,
        });
        after();
        // hold the transaction open while the other one runs into the unique index
        await new Promise((resolve) => setTimeout(resolve, 200));
        return row;
      });

    const results = await Promise.all([
      settle('S-A', Promise.resolve(), firstInserted.fire),
      settle('S-B', firstInserted.promise, () => undefined),
    ]);

    const winners = results.filter((r): r is SettlementRow => r !== null);
    expect(winners.map((w) => w.setlId)).toEqual(['S-A']);
    expect(results[1]).toBeNull();
    const { rows } = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM settlements
       WHERE fixmedins_code = $1 AND mdtrt_id = $2 AND status = 'settled'`,
      [bill.fixmedinsCode, bill.mdtrtId],
    );
    expect(rows[0]?.n).toBe('1');
    expect((await findSettlementByBill(db, bill.fixmedinsCode, bill.mdtrtId))?.setlId).toBe('S-A');
  });

  it("serialises two bills of one person: the second sees the first's accumulators", async () => {
    const psnNo = `PSN-${randomUUID()}`;
    const firstLocked = signal();
    const releaseFirst = signal();
    const order: string[] = [];

    const add = async (tx: Queryable, who: string, amount: string): Promise<void> => {
      const locked = await lockAccumulators(tx, psnNo, 2024);
      order.push(`${who} locked at version ${locked.version}`);
      const before = parseWireFen(locked.data.cashSelfPay, 'cashSelfPay');
      await saveAccumulators(
        tx,
        psnNo,
        { ...locked.data, cashSelfPay: formatFen(before + parseWireFen(amount, 'amount')) },
        locked.version,
      );
    };

    const first = db.transaction(async (tx) => {
      await add(tx, 'first', '100.00');
      firstLocked.fire();
      await releaseFirst.promise;
      order.push('first commits');
    });
    await firstLocked.promise;
    const second = db.transaction((tx) => add(tx, 'second', '50.00'));
    await untilSomeoneWaitsOnALock(db);
    releaseFirst.fire();
    await Promise.all([first, second]);

    expect(order).toEqual([
      'first locked at version 0',
      'first commits',
      'second locked at version 1',
    ]);
    const final = await db.transaction((tx) => lockAccumulators(tx, psnNo, 2024));
    expect(final.version).toBe(2);
    expect(final.data.cashSelfPay).toBe('150.00');
  });

  it('gives two outbox relays disjoint batches and leaves nothing unpublished', async () => {
    const ids = Array.from({ length: 10 }, () => randomUUID());
    await db.transaction(async (tx) => {
      for (const eventId of ids) {
        await insertOutbox(tx, {
          eventId,
          topic: 'settlement.events.v1',
          key: '510402',
          payload: JSON.stringify({ eventId }),
          headers: { 'event-type': 'settled' },
        });
      }
    });
    // the same event id again is not a second event
    expect(
      await insertOutbox(db, {
        eventId: ids[0] ?? '',
        topic: 'settlement.events.v1',
        key: '510402',
        payload: '{}',
        headers: {},
      }),
    ).toBe(false);

    const aClaimed = signal();
    const bDone = signal();
    let batchA: OutboxRow[] = [];
    let batchB: OutboxRow[] = [];
    const relayA = db.transaction(async (tx) => {
      batchA = await claimOutboxBatch(tx, 4);
      aClaimed.fire();
      await bDone.promise; // keep A's rows locked while B claims
      await markPublished(
        tx,
        batchA.map((e) => e.eventId),
      );
    });
    await aClaimed.promise;
    const relayB = db.transaction(async (tx) => {
      batchB = await claimOutboxBatch(tx, 100);
      bDone.fire();
      await markPublished(
        tx,
        batchB.map((e) => e.eventId),
      );
    });
    await Promise.all([relayA, relayB]);

    const a = batchA.map((e) => e.eventId);
    const b = batchB.map((e) => e.eventId);
    expect(a).toHaveLength(4);
    expect(b).toHaveLength(6);
    expect(a.filter((id) => b.includes(id))).toEqual([]);
    expect([...a, ...b].sort()).toEqual([...ids].sort());
    expect(await db.transaction((tx) => claimOutboxBatch(tx, 100))).toEqual([]);
  });
});
