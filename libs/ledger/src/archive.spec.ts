/**
 * The tamper-evident archive on the embedded default (PGlite): what the triggers copy, what the
 * sealer chains, and what verification reports when a row is altered.
 */
import { randomUUID } from 'node:crypto';
import { signHead, type SignedHead, verifyAgainstHeads } from './anchor';
import { ArchiveSealer, GENESIS_HASH, linkHash, verifyArchive } from './archive';
import { type PgliteDb } from './db';
import { insertIdentityChange, insertTopup } from './identities';
import {
  insertInbox,
  insertOutbox,
  insertSettlement,
  lockAccumulators,
  reverseSettlement,
  sha256,
  zeroAccumulators,
} from './repositories';
import { bodyHashOf, sampleBill, sampleResult } from './testing/fixtures';
import { openTestPglite } from './testing/pglite';

async function settleOne(db: PgliteDb, mdtrtId: string): Promise<string> {
  const bill = sampleBill({ mdtrtId });
  const result = sampleResult(bill);
  const setlId = `S-${mdtrtId}`;
  await db.transaction(async (tx) => {
    const inbox = await insertInbox(tx, {
      source: 'http',
      payload: `<discharge><mdtrt_id>${mdtrtId}</mdtrt_id></discharge>`,
      status: 'settled',
      correlationId: mdtrtId,
    });
    const acc = await lockAccumulators(tx, bill.psnNo, 2024);
    const eventId = randomUUID();
    await insertSettlement(tx, {
      setlId,
      bill,
      bodyHash: bodyHashOf(bill),
      clrOptins: '510402',
      inboxId: inbox.id,
      setlTime: '2024-03-01 10:00:00',
      eventId,
      accumulatorsBefore: acc.data,
      result,
    });
    await insertOutbox(tx, {
      eventId,
      topic: 'settlement.events.v1',
      key: '510402',
      payload: JSON.stringify({ setl_id: setlId, mdtrt_id: mdtrtId, fixmedins_code: 'H1' }),
      headers: {},
    });
  });
  return setlId;
}

describe('archive (hash chain over the ledger)', () => {
  let db: PgliteDb;

  beforeEach(async () => {
    db = await openTestPglite({ migrate: true });
  });

  afterEach(async () => {
    await db.close();
  });

  it('archives the message, its sender, the position, the settlement and the event of a bill in its transaction', async () => {
    await settleOne(db, 'MDT-A1');
    const { rows } = await db.query<{ kind: string }>('SELECT kind FROM archive ORDER BY seq');
    // the person's position is the zero row the lock creates (settleOne saves no new one)
    expect(rows.map((r) => r.kind)).toEqual([
      'in',
      'submission',
      'accumulators',
      'settlement',
      'out',
    ]);
  });

  it('chains every committed entry, each link following from the one before', async () => {
    for (let i = 0; i < 5; i += 1) await settleOne(db, `MDT-B${i}`);
    const sealer = new ArchiveSealer(db, 4); // batches smaller than the backlog
    expect(await sealer.sealNow()).toBe(25);
    const { rows } = await db.query<{
      seq: string;
      prev_hash: string;
      hash: string;
      kind: string;
      ref: string;
      content_sha256: string;
    }>(
      `SELECT c.seq::text AS seq, c.prev_hash, c.hash, a.kind, a.ref, a.content_sha256
       FROM archive_chain c JOIN archive a USING (seq) ORDER BY c.seq`,
    );
    let prev = GENESIS_HASH;
    for (const r of rows) {
      expect(r.prev_hash).toBe(prev);
      expect(r.hash).toBe(linkHash(prev, r.seq, r.kind, r.ref, r.content_sha256));
      prev = r.hash;
    }
    const report = await verifyArchive(db);
    expect(report).toMatchObject({
      ok: true,
      checked: 25,
      unsealed: 0,
      head: prev,
      headSeq: rows.at(-1)!.seq,
    });
  });

  it('a tick seals only behind a watermark taken on the tick before', async () => {
    await settleOne(db, 'MDT-C1');
    const sealer = new ArchiveSealer(db);
    expect(await sealer.tick()).toBe(0); // takes the watermark
    await settleOne(db, 'MDT-C2');
    expect(await sealer.tick()).toBe(5); // seals the first bill's five entries
    expect(await sealer.tick()).toBe(5);
    expect((await verifyArchive(db)).ok).toBe(true);
  });

  it('an altered stored amount is reported at that bill', async () => {
    await settleOne(db, 'MDT-D1');
    const target = await settleOne(db, 'MDT-D2');
    await settleOne(db, 'MDT-D3');
    await new ArchiveSealer(db).sealNow();
    await db.query(`UPDATE settlements SET hifp_pay = hifp_pay + 1 WHERE setl_id = $1`, [target]);
    const report = await verifyArchive(db);
    expect(report.ok).toBe(false);
    expect(report.brokenCount).toBe(1);
    expect(report.firstBroken).toMatchObject({
      kind: 'settlement',
      ref: target,
      setlId: target,
      mdtrtId: 'MDT-D2',
      reason: 'LEDGER_ROW_ALTERED',
    });
  });

  it('an altered inbound message and a deleted event are reported', async () => {
    await settleOne(db, 'MDT-E1');
    await new ArchiveSealer(db).sealNow();
    await db.query(`UPDATE inbox SET payload = '<discharge>forged</discharge>'`);
    await db.query(`DELETE FROM outbox`);
    const report = await verifyArchive(db);
    expect(report.broken.map((b) => [b.kind, b.reason])).toEqual([
      ['in', 'LEDGER_ROW_ALTERED'],
      ['out', 'LEDGER_ROW_MISSING'],
    ]);
  });

  it('a reversal keeps the settlement matching its copy and is archived itself', async () => {
    const setlId = await settleOne(db, 'MDT-F1');
    await db.transaction(async (tx) => {
      await reverseSettlement(tx, setlId, { reason: 'patient re-admitted' });
    });
    await new ArchiveSealer(db).sealNow();
    const report = await verifyArchive(db);
    expect(report.ok).toBe(true);
    // the bill's five entries, the reversal and the settlement's new status
    expect(report.checked).toBe(7);
  });

  it('refuses to update, delete or truncate the archive and the chain', async () => {
    await settleOne(db, 'MDT-G1');
    await new ArchiveSealer(db).sealNow();
    await expect(db.query(`UPDATE archive SET content = 'x'`)).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM archive_chain`)).rejects.toThrow(/append-only/);
    await expect(db.query(`TRUNCATE archive CASCADE`)).rejects.toThrow(/append-only/);
  });

  it('a top-up written around the archive is reported at its bill; one written normally verifies', async () => {
    const setlId = await settleOne(db, 'MDT-T1');
    const topup = async (topupId: string, reference: string): Promise<void> => {
      const change = await insertIdentityChange(db, {
        issuer: 'civil-affairs',
        reference,
        psnNo: 'P-T1',
        admdvs: '510402',
        category: 'dibao',
        validFrom: '2024-01-01',
        validTo: null,
        contentSha256: sha256(reference),
        inboxId: null,
      });
      const bill = sampleBill({ mdtrtId: 'MDT-T1' });
      await insertTopup(db, {
        topupId,
        setlId,
        changeId: change!.id,
        psnNo: 'P-T1',
        year: 2024,
        identitiesUsed: ['dibao'],
        categoryUsed: 'dibao',
        result: sampleResult(bill),
        // illustrative amounts: the ledger stores what the recomputation found
        deltas: {
          basic: '0.00',
          critical: '0.00',
          commercial: '0.00',
          assistance: '10.00',
          tilted: '0.00',
        },
        psnCashDelta: '-10.00',
        eventId: randomUUID(),
        accumulatorsBefore: zeroAccumulators(2024),
        setlTime: '2024-04-01 10:00:00',
      });
    };
    await topup('T-ARCHIVED', 'R-1');
    await new ArchiveSealer(db).sealNow();
    expect((await verifyArchive(db)).ok).toBe(true);
    // written with the triggers off, as a database owner can: no archive entry
    await db.exec(`SET session_replication_role = replica`);
    await topup('T-FORGED', 'R-2');
    await db.exec(`SET session_replication_role = origin`);
    const report = await verifyArchive(db);
    expect(
      report.broken.map((b) => [b.seq, b.kind, b.ref, b.reason, b.setlId, b.mdtrtId, b.detail]),
    ).toEqual([
      [
        '-',
        'topup',
        'T-FORGED',
        'LEDGER_ROW_UNARCHIVED',
        setlId,
        'MDT-T1',
        `top-up T-FORGED of settlement ${setlId} has no archive entry (written around the archive)`,
      ],
    ]);
  });

  it("a rewrite the heads catch names the bill from another of its events (a top-up's) left in the range", async () => {
    const heads: SignedHead[] = [];
    const sealer = new ArchiveSealer(db, undefined, (h) => {
      heads.push(signHead(h, null));
    });
    const setlId = await settleOne(db, 'MDT-K1');
    await sealer.sealNow();
    // a later message and, in its transaction, an event of the bill that is not its own settled event
    await db.transaction(async (tx) => {
      await insertInbox(tx, {
        source: 'http',
        payload: '{"psn_no":"P-K1","category":"dibao"}',
        status: 'recorded',
        correlationId: 'K1',
      });
      await insertOutbox(tx, {
        eventId: randomUUID(),
        topic: 'settlement.events.v1',
        key: '510402',
        payload: JSON.stringify({ event_type: 'top-up', setl_id: setlId }),
        headers: {},
      });
    });
    await sealer.sealNow();
    expect(heads).toHaveLength(2);
    const { rows } = await db.query<{ seq: string }>(
      `SELECT seq::text AS seq FROM archive WHERE kind = 'in' ORDER BY seq DESC LIMIT 1`,
    );
    const removed = rows[0]!.seq;
    // the later message removed, the chain recomputed from there
    await db.exec(`ALTER TABLE archive DISABLE TRIGGER archive_append_only`);
    await db.exec(`ALTER TABLE archive_chain DISABLE TRIGGER archive_chain_append_only`);
    await db.query(`DELETE FROM archive_chain WHERE seq >= $1`, [removed]);
    await db.query(`DELETE FROM archive WHERE seq = $1`, [removed]);
    await new ArchiveSealer(db).sealNow();
    expect((await verifyArchive(db)).ok).toBe(true);
    const anchor = await verifyAgainstHeads(db, heads, { source: 'test' });
    expect(anchor.extended).toBe(1);
    expect(anchor.problems).toHaveLength(1);
    expect(anchor.problems[0]).toMatchObject({
      seq: heads[1]!.seq,
      reason: 'HEAD_MISMATCH',
      setlId,
      mdtrtId: 'MDT-K1',
    });
    expect(anchor.problems[0]!.detail).toMatch(
      new RegExp(
        `: rewritten in entries ${BigInt(heads[0]!.seq) + 1n}\\.\\.${heads[1]!.seq}; first bill there: ${setlId} \\(H51040200001 visit MDT-K1\\)$`,
      ),
    );
  });

  it('an archive entry altered with its guard disabled breaks the chain there', async () => {
    await settleOne(db, 'MDT-H1');
    await settleOne(db, 'MDT-H2');
    await new ArchiveSealer(db).sealNow();
    await db.exec(`ALTER TABLE archive DISABLE TRIGGER archive_append_only`);
    await db.query(
      `UPDATE archive SET content = content || ' ', content_sha256 = text_sha256(content || ' ')
       WHERE kind = 'settlement' AND ref = 'S-MDT-H2'`,
    );
    const report = await verifyArchive(db);
    expect(report.firstBroken).toMatchObject({ ref: 'S-MDT-H2', reason: 'LINK_BROKEN' });
  });
});
