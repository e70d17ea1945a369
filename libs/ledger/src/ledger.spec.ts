/**
 * The ledger on the embedded default (PGlite, in memory): the same migrations as PostgreSQL and
 * one settle round-trip. No external service.
 */
import { randomUUID } from 'node:crypto';
import { type PgliteDb } from './db';
import { loadMigrations, migrate } from './migrate';
import {
  claimOutboxBatch,
  findSettlementByBill,
  insertInbox,
  insertOutbox,
  insertReject,
  insertSettlement,
  lockAccumulators,
  markPublished,
  reverseSettlement,
  saveAccumulators,
} from './repositories';
import { bodyHashOf, sampleBill, sampleResult, settlementExtras } from './testing/fixtures';
import { openTestPglite } from './testing/pglite';

describe('ledger on PGlite', () => {
  let db: PgliteDb;

  beforeAll(async () => {
    db = await openTestPglite({ migrate: false });
  });

  afterAll(async () => {
    await db.close();
  });

  it('applies every migration once, then none', async () => {
    const all = loadMigrations().map((m) => m.name);
    expect(all.length).toBeGreaterThan(0);
    expect(await migrate(db)).toEqual(all);
    expect(await migrate(db)).toEqual([]);
    const { rows } = await db.query<{ name: string }>(
      'SELECT name FROM schema_migrations ORDER BY version',
    );
    expect(rows.map((r) => r.name)).toEqual(all);
  });

  it('settles a bill in one transaction and finds it again, amounts as exact strings', async () => {
    const bill = sampleBill();
    const result = sampleResult(bill);
    const eventId = randomUUID();

    const settled = await db.transaction(async (tx) => {
      const inbox = await insertInbox(tx, {
        source: 'http',
        payload: '<discharge/>',
        status: 'settled',
        correlationId: 'c-1',
      });
      const acc = await lockAccumulators(tx, bill.psnNo, 2024);
      expect(acc.version).toBe(0);
      const row = await insertSettlement(tx, {
        setlId: `S-${randomUUID()}`,
        bill,
        bodyHash: bodyHashOf(bill),
        clrOptins: '510402',
        ...settlementExtras(),
        inboxId: inbox.id,
        result,
      });
      await saveAccumulators(tx, bill.psnNo, result.accumulators, acc.version);
      await insertOutbox(tx, {
        eventId,
        topic: 'settlement.events.v1',
        key: '510402',
        payload: JSON.stringify({ setl_id: row?.setlId }),
        headers: { 'event-type': 'settled' },
      });
      return row;
    });

    expect(settled).not.toBeNull();
    const found = await findSettlementByBill(db, bill.fixmedinsCode, bill.mdtrtId);
    expect(found?.setlId).toBe(settled?.setlId);
    expect(found?.result).toEqual(result);
    expect(found?.ruleSetVersion).toBe('example-2024.1');

    const { rows } = await db.query<{ hifp_pay: string; total: string }>(
      `SELECT hifp_pay::text AS hifp_pay, (fund_pay_sumamt + psn_part_amt)::text AS total
       FROM settlements WHERE setl_id = $1`,
      [settled?.setlId],
    );
    expect(rows[0]).toEqual({ hifp_pay: '6020.00', total: '10000.00' });

    // a redelivery of the same bill does not settle it twice
    const again = await insertSettlement(db, {
      setlId: `S-${randomUUID()}`,
      bill,
      bodyHash: bodyHashOf(bill),
      clrOptins: '510402',
      ...settlementExtras(),
      result,
    });
    expect(again).toBeNull();

    const acc = await db.transaction((tx) => lockAccumulators(tx, bill.psnNo, 2024));
    expect(acc).toEqual({ data: result.accumulators, version: 1 });

    const claimed = await db.transaction(async (tx) => {
      const batch = await claimOutboxBatch(tx, 10);
      await markPublished(
        tx,
        batch.map((e) => e.eventId),
      );
      return batch;
    });
    expect(claimed.map((e) => e.eventId)).toEqual([eventId]);
    expect(claimed[0]?.headers).toEqual({ 'event-type': 'settled' });
    expect(await db.transaction((tx) => claimOutboxBatch(tx, 10))).toEqual([]);

    // a reversal frees the bill for a new settlement
    const reversed = await db.transaction((tx) =>
      reverseSettlement(tx, settled?.setlId ?? '', { reason: 'revoked at the cashier' }),
    );
    expect(reversed?.status).toBe('reversed');
    expect(await findSettlementByBill(db, bill.fixmedinsCode, bill.mdtrtId)).toBeNull();
  });

  it('records a redelivered Kafka position once and keeps rejects with their reason', async () => {
    const message = {
      source: 'kafka' as const,
      topic: 'his.discharge.v1',
      partition: 0,
      offset: '42',
      key: 'H51040200001',
      payload: '<discharge><broken></discharge>',
      status: 'rejected' as const,
    };
    const first = await insertInbox(db, message);
    const second = await insertInbox(db, message);
    expect(first.inserted).toBe(true);
    expect(second).toEqual({
      id: first.id,
      inserted: false,
      status: 'rejected',
      setlId: null,
      rejectId: null,
      correlationId: null,
    });

    const rejectId = await insertReject(db, {
      inboxId: first.id,
      reasonCode: 'XML_MALFORMED',
      message: 'unclosed element',
      payload: message.payload,
    });
    const { rows } = await db.query<{ reason_code: string; payload: string }>(
      'SELECT reason_code, payload FROM rejects WHERE id = $1',
      [rejectId],
    );
    expect(rows[0]).toEqual({ reason_code: 'XML_MALFORMED', payload: message.payload });
  });

  it('rolls back every statement of a failed transaction', async () => {
    const bill = sampleBill();
    await expect(
      db.transaction(async (tx) => {
        await insertSettlement(tx, {
          setlId: `S-${randomUUID()}`,
          bill,
          bodyHash: bodyHashOf(bill),
          clrOptins: '510402',
          ...settlementExtras(),
          result: sampleResult(bill),
        });
        throw new Error('publish step failed');
      }),
    ).rejects.toThrow('publish step failed');
    expect(await findSettlementByBill(db, bill.fixmedinsCode, bill.mdtrtId)).toBeNull();
  });
});
