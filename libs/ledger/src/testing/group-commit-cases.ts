/**
 * The group-commit cases, run on PGlite (unit-of-work.spec.ts) and on PostgreSQL
 * (unit-of-work.int.spec.ts): a batch in one transaction stores exactly the rows one message per
 * transaction stores, its archive holds the same entries, and one failing bill changes nothing
 * for its neighbours. Test support only.
 */
import { ArchiveSealer, verifyArchive } from '../archive';
import type { Db } from '../db';
import { identityPeriodsBatch } from '../batch';
import { identityPeriods } from '../identities';
import { UnitOfWork } from '../unit-of-work';
import {
  archiveByKind,
  handleMessage,
  inboxOf,
  ledgerSnapshot,
  type ScenarioMessage,
  settleAsBatch,
  settleOneByOne,
} from './group-commit-scenario';

/** A fresh, migrated database per call; closed by the caller's `close`. */
export type OpenDb = () => Promise<Db>;

export function groupCommitCases(open: OpenDb): void {
  const opened: Db[] = [];
  const fresh = async (): Promise<Db> => {
    const db = await open();
    opened.push(db);
    return db;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((db) => db.close()));
  });

  // persons A, B, C; offset 4 resends visit V1 with another body (a conflict in the middle of
  // the batch); offset 7 resends visit V2 as it was (a duplicate)
  const mixed: ScenarioMessage[] = [
    { offset: 1, psnNo: 'PSN-A', mdtrtId: 'V1' },
    { offset: 2, psnNo: 'PSN-B', mdtrtId: 'V2' },
    { offset: 3, psnNo: 'PSN-A', mdtrtId: 'V3' },
    { offset: 4, psnNo: 'PSN-A', mdtrtId: 'V1', ownpay: '400.00' },
    { offset: 5, psnNo: 'PSN-C', mdtrtId: 'V5' },
    { offset: 6, psnNo: 'PSN-B', mdtrtId: 'V6' },
    { offset: 7, psnNo: 'PSN-B', mdtrtId: 'V2' },
  ];
  const expected = ['settled', 'settled', 'settled', 'conflict', 'settled', 'settled', 'duplicate'];

  it('stores in one transaction exactly the rows one message per transaction stores', async () => {
    const [alone, batched, eager] = [await fresh(), await fresh(), await fresh()];
    expect(await settleOneByOne(alone, mixed)).toEqual(expected);
    const run = await settleAsBatch(batched, mixed, 'deferred');
    expect(run.outcomes).toEqual(expected);
    expect(run.mode).toBe('deferred');
    expect((await settleAsBatch(eager, mixed, 'eager')).outcomes).toEqual(expected);

    const reference = await ledgerSnapshot(alone);
    expect(await ledgerSnapshot(batched)).toEqual(reference);
    expect(await ledgerSnapshot(eager)).toEqual(reference);
    // two bills of one person, the second computed on the position the first left (version 2)
    expect(reference['accumulators']).toEqual([
      expect.objectContaining({ psn_no: 'PSN-A', version: 2 }),
      expect.objectContaining({ psn_no: 'PSN-B', version: 2 }),
      expect.objectContaining({ psn_no: 'PSN-C', version: 1 }),
    ]);
    expect(JSON.parse((reference['accumulators']?.[0] as { data: string }).data)).toMatchObject({
      cashSelfPay: '7960.00',
      basicPaid: { inpatient: '12040.00' },
    });
  });

  it('costs a savepoint only for the bill that runs a statement of its own', async () => {
    const db = await fresh();
    const run = await settleAsBatch(db, mixed, 'deferred');
    // the conflict writes its reject at once; every other bill only stages rows
    expect(run.stats.savepoints).toBe(1);
    // inbox, lock, prefetch; flush before the conflict (settlements, positions, events,
    // statuses); savepoint, reject, release; final flush (the same four)
    expect(run.stats.statements).toBeLessThanOrEqual(16);
  });

  it('archives the same entries with the same content hashes, and the chain verifies', async () => {
    const [alone, batched, eager] = [await fresh(), await fresh(), await fresh()];
    await settleOneByOne(alone, mixed);
    await settleAsBatch(batched, mixed, 'deferred');
    await settleAsBatch(eager, mixed, 'eager');
    const reference = await archiveByKind(alone);
    const fromBatch = await archiveByKind(batched);
    // messages, senders, settlements, events: entry for entry, in the same order within the kind
    for (const kind of ['in', 'submission', 'settlement', 'out']) {
      expect(fromBatch[kind]).toEqual(reference[kind]);
      expect(fromBatch[kind]?.length).toBeGreaterThan(0);
    }
    // a person's position is written once per batch: its last entry is the one-by-one last
    // entry, the ones in between (each also inside its settlement's copy) are not separate
    const last = (entries: typeof reference.x = []): Record<string, string> =>
      Object.fromEntries(entries.map((e) => [e.ref, e.sha]));
    expect(last(fromBatch['accumulators'])).toEqual(last(reference['accumulators']));
    for (const e of fromBatch['accumulators'] ?? [])
      expect(reference['accumulators']).toContainEqual(e);
    // in eager mode every write is its own statement: the very same entries (the batch creates
    // its people's zero rows together, when it locks them, so those come in another order)
    const fromEager = await archiveByKind(eager);
    const bySha = (entries: typeof reference.x = []): typeof entries =>
      [...entries].sort((a, b) => a.sha.localeCompare(b.sha));
    expect({ ...fromEager, accumulators: bySha(fromEager['accumulators']) }).toEqual({
      ...reference,
      accumulators: bySha(reference['accumulators']),
    });

    for (const db of [alone, batched, eager]) {
      const entries = await new ArchiveSealer(db).sealNow();
      expect(entries).toBeGreaterThan(0);
      const report = await verifyArchive(db);
      expect(report.firstBroken).toBeNull();
      expect(report.ok).toBe(true);
      expect(report.checked).toBe(entries);
    }
  });

  it('undoes a failing bill alone: its rows and its position go, its neighbours stay', async () => {
    const messages: ScenarioMessage[] = [
      { offset: 1, psnNo: 'PSN-A', mdtrtId: 'V1' },
      { offset: 2, psnNo: 'PSN-A', mdtrtId: 'V2', explode: true },
      { offset: 3, psnNo: 'PSN-A', mdtrtId: 'V3' },
      { offset: 4, psnNo: 'PSN-B', mdtrtId: 'V4' },
    ];
    const outcomes = ['settled', 'failed', 'settled', 'settled'];
    const [alone, batched] = [await fresh(), await fresh()];
    expect(await settleOneByOne(alone, messages)).toEqual(outcomes);
    const run = await settleAsBatch(batched, messages, 'deferred');
    expect(run.outcomes).toEqual(outcomes);
    expect(run.mode).toBe('deferred');
    expect(run.stats.billsRolledBack).toBe(1);
    const snapshot = await ledgerSnapshot(batched);
    expect(snapshot).toEqual(await ledgerSnapshot(alone));
    // the failed bill's own reject row (written before it threw) is gone with it
    expect(snapshot['rejects']).toEqual([
      expect.objectContaining({ inbox_offset: '2', reason_code: 'INTERNAL_ERROR' }),
    ]);
    // bill 3 was computed on bill 1's position, not on the failed bill 2's
    expect(snapshot['accumulators']?.[0]).toMatchObject({ psn_no: 'PSN-A', version: 2 });
  });

  it('a bad amount refused at the flush fails its bill alone after an eager re-run', async () => {
    const messages: ScenarioMessage[] = [
      { offset: 1, psnNo: 'PSN-A', mdtrtId: 'V1' },
      { offset: 2, psnNo: 'PSN-B', mdtrtId: 'V2', medfee: '9999.00' },
      { offset: 3, psnNo: 'PSN-B', mdtrtId: 'V3' },
    ];
    const outcomes = ['settled', 'failed', 'settled'];
    const [alone, batched] = [await fresh(), await fresh()];
    expect(await settleOneByOne(alone, messages)).toEqual(outcomes);
    const run = await settleAsBatch(batched, messages, 'deferred');
    expect(run.mode).toBe('eager');
    expect(run.outcomes).toEqual(outcomes);
    const snapshot = await ledgerSnapshot(batched);
    expect(snapshot).toEqual(await ledgerSnapshot(alone));
    // the reject says what the database said, as it does for the bill alone
    const rejects = snapshot['rejects'] as Array<Record<string, string>>;
    expect(rejects.map((r) => [r['inbox_offset'], r['reason_code']])).toEqual([
      ['2', 'INTERNAL_ERROR'],
    ]);
    expect(rejects[0]?.['message']).toContain('check constraint');
  });

  it('reverses in a bill a settlement an earlier bill of the same batch staged', async () => {
    const db = await fresh();
    const settle: ScenarioMessage = { offset: 1, psnNo: 'PSN-R', mdtrtId: 'VR' };
    const outcome = await db.transaction(async (tx) => {
      const uow = new UnitOfWork(tx);
      const [ref] = await uow.recordInbox([inboxOf(settle)]);
      await uow.lockPeople([{ psnNo: 'PSN-R', year: 2024 }]);
      await uow.prefetchSettlements([{ fixmedinsCode: 'H51040200001', mdtrtId: 'VR' }]);
      const first = await uow.bill((b) => handleMessage(b, settle, ref?.id ?? ''));
      // the settlement is only staged: the reversal's UPDATE must find it written
      expect(uow.pending().settlements).toBe(1);
      const second = await uow.bill(async (b) => {
        const s = await b.settlementOfBill('H51040200001', 'VR');
        const locked = await b.accumulators('PSN-R', 2024);
        const reversed = await b.reverseSettlement(s?.setlId ?? '', { reason: 'test' });
        await b.saveAccumulators('PSN-R', s?.accumulatorsBefore ?? locked.data, locked.version);
        return [reversed?.status, await b.settlementOfBill('H51040200001', 'VR')];
      });
      await uow.flush();
      return [first, second];
    });
    expect(outcome).toEqual([
      { ok: true, value: 'settled' },
      { ok: true, value: ['reversed', null] },
    ]);
    const { rows } = await db.query<{ status: string; version: number; cash: string }>(
      `SELECT s.status, a.version, a.data->>'cashSelfPay' AS cash
         FROM settlements s JOIN accumulators a ON a.psn_no = s.psn_no
        WHERE s.setl_id = 'S-1'`,
    );
    // settled (version 1), then back to where the person started (version 2)
    expect(rows).toEqual([{ status: 'reversed', version: 2, cash: '0.00' }]);
    const archived = await new ArchiveSealer(db).sealNow();
    expect(archived).toBeGreaterThan(0);
    expect((await verifyArchive(db)).ok).toBe(true);
  });

  it("prefetches each person's identity periods exactly as identityPeriods reads them", async () => {
    const db = await fresh();
    // two people, two categories, a period changed twice, and one period withdrawn (0009)
    await db.exec(`
      INSERT INTO identity_changes (issuer, reference, psn_no, admdvs, category, valid_from,
                                    valid_to, content_sha256)
      VALUES ('civil', 'r1', 'PSN-I', '510402', 'dibao', '2024-01-01', NULL, repeat('a', 64)),
             ('civil', 'r2', 'PSN-I', '510402', 'dibao', '2024-01-01', '2024-06-30', repeat('b', 64)),
             ('civil', 'r3', 'PSN-I', '510402', 'tekun', '2024-02-01', NULL, repeat('c', 64)),
             ('civil', 'r4', 'PSN-J', '510403', 'dibao', '2024-03-01', NULL, repeat('d', 64));
      INSERT INTO identity_withdrawals (psn_no, category, valid_from, last_change_id, reason,
                                        withdrawn_by)
      SELECT psn_no, category, valid_from, id, 'sent in error', 'test'
        FROM identity_changes WHERE reference = 'r3';`);
    const people = ['PSN-I', 'PSN-J', 'PSN-NONE'];
    const batched = await identityPeriodsBatch(db, people);
    for (const p of people) expect(batched.get(p)).toEqual(await identityPeriods(db, p));
    expect(batched.get('PSN-I')).toEqual([
      expect.objectContaining({ category: 'dibao', validTo: '2024-06-30' }),
    ]);
    expect(batched.get('PSN-NONE')).toEqual([]);
  });

  it('answers a redelivered batch from its first outcome and writes nothing new', async () => {
    const db = await fresh();
    await settleAsBatch(db, mixed, 'deferred');
    const before = await ledgerSnapshot(db);
    const again = await settleAsBatch(db, mixed, 'deferred');
    expect(again.outcomes).toEqual(mixed.map(() => 'redelivered'));
    expect(await ledgerSnapshot(db)).toEqual(before);
  });
}
