/**
 * The console's reads on the embedded default (PGlite, in memory): latest messages with what they
 * became, the reject queue and its resubmission link, a person's bills, and the flow per minute,
 * each filtered to one hospital the way a hospital credential is.
 */
import { randomUUID } from 'node:crypto';
import { listMessages, listRejects, findSettlementsOfPerson, readFlow } from './console';
import { PgliteDb } from './db';
import { migrate } from './migrate';
import {
  findReject,
  insertInbox,
  insertOutbox,
  insertReject,
  insertSettlement,
  markPublished,
  markResubmitted,
  reverseSettlement,
  setInboxStatus,
} from './repositories';
import { bodyHashOf, sampleBill, sampleResult, settlementExtras } from './testing/fixtures';

const A = 'H51040000001';
const B = 'H53050000001';

describe('console reads on PGlite', () => {
  let db: PgliteDb;
  let settledA = '';
  let reversedA = '';
  let rejectB = '';

  /** One settled message of hospital `code`: inbox row, settlement, one published event. */
  async function settle(code: string, mdtrtId: string, psnNo: string): Promise<string> {
    const bill = sampleBill({ fixmedinsCode: code, mdtrtId, psnNo });
    return db.transaction(async (tx) => {
      const inbox = await insertInbox(tx, {
        source: 'kafka',
        topic: 'his.discharge.v1',
        partition: 0,
        offset: String(Math.floor(Math.random() * 1e9)),
        payload: `<discharge><fixmedins_code>${code}</fixmedins_code></discharge>`,
        status: 'received',
        fixmedinsCode: code,
      });
      const row = await insertSettlement(tx, {
        setlId: `S-${randomUUID()}`,
        bill,
        bodyHash: bodyHashOf(bill),
        clrOptins: code === A ? '510402' : '530502',
        ...settlementExtras(),
        inboxId: inbox.id,
        result: sampleResult(bill),
      });
      if (row === null) throw new Error('not settled');
      await setInboxStatus(tx, inbox.id, 'settled', { setlId: row.setlId });
      const eventId = randomUUID();
      await insertOutbox(tx, {
        eventId,
        topic: 'settlement.events.v1',
        key: row.clrOptins,
        payload: '{}',
        headers: { 'fixmedins-code': code },
      });
      await markPublished(tx, [eventId]);
      return row.setlId;
    });
  }

  beforeAll(async () => {
    db = await PgliteDb.open();
    await migrate(db);
    settledA = await settle(A, 'M-A1', 'P-1');
    reversedA = await settle(A, 'M-A2', 'P-1');
    await db.transaction((tx) => reverseSettlement(tx, reversedA, { reason: 'test' }));
    await settle(B, 'M-B1', 'P-2');
    rejectB = await db.transaction(async (tx) => {
      const inbox = await insertInbox(tx, {
        source: 'http',
        payload: `<discharge><fixmedins_code>${B}</fixmedins_code><mdtrt_id> M-B9 </mdtrt_id>`,
        status: 'received',
        fixmedinsCode: B,
        submittedBy: 'his-b',
      });
      const id = await insertReject(tx, {
        inboxId: inbox.id,
        reasonCode: 'MALFORMED_XML',
        field: null,
        message: 'unclosed element',
        payload: '<discharge>',
        fixmedinsCode: B,
      });
      await setInboxStatus(tx, inbox.id, 'rejected', { rejectId: id });
      return id;
    });
  });

  afterAll(async () => {
    await db.close();
  });

  it('lists the latest messages newest first; a settled bill reversed later shows reversed', async () => {
    const all = await listMessages(db, { limit: 10 });
    expect(all.map((m) => [m.fixmedinsCode, m.status])).toEqual([
      [B, 'rejected'],
      [B, 'settled'],
      [A, 'reversed'],
      [A, 'settled'],
    ]);
    expect(all[0]).toMatchObject({
      reasonCode: 'MALFORMED_XML',
      rejectId: rejectB,
      submittedBy: 'his-b',
      // a reject has no settlement: its visit is what the message's text names
      mdtrtId: 'M-B9',
    });
    expect(all[3]).toMatchObject({ setlId: settledA, mdtrtId: 'M-A1', topic: 'his.discharge.v1' });
  });

  it('filters messages by hospital, by status, and pages backwards', async () => {
    expect((await listMessages(db, { limit: 10, fixmedinsCode: A })).map((m) => m.setlId)).toEqual([
      reversedA,
      settledA,
    ]);
    expect(
      (await listMessages(db, { limit: 10, status: 'reversed' })).map((m) => m.setlId),
    ).toEqual([reversedA]);
    expect(
      (await listMessages(db, { limit: 10, status: 'settled' })).map((m) => m.fixmedinsCode),
    ).toEqual([B, A]);
    const first = await listMessages(db, { limit: 2 });
    const next = await listMessages(db, { limit: 2, beforeId: first[1]?.id });
    expect(next.map((m) => m.setlId)).toEqual([reversedA, settledA]);
  });

  it('keeps the reject queue per hospital and links a resubmission once, with who did it', async () => {
    expect((await listRejects(db, { limit: 10, fixmedinsCode: A })).length).toBe(0);
    expect((await listRejects(db, { limit: 10, open: true })).map((r) => r.id)).toEqual([rejectB]);
    const retry = await insertInbox(db, {
      source: 'http',
      payload: '<discharge/>',
      status: 'received',
      resubmissionOf: rejectB,
      submittedBy: 'ops-night',
    });
    expect(await markResubmitted(db, rejectB, retry.id, 'ops-night')).toBe(true);
    expect(await markResubmitted(db, rejectB, retry.id, 'someone-else')).toBe(false);
    const r = await findReject(db, rejectB);
    expect(r).toMatchObject({ resubmittedAs: retry.id, resubmittedBy: 'ops-night' });
    expect(r?.resubmittedAt).toBeInstanceOf(Date);
    expect(await listRejects(db, { limit: 10, open: true })).toEqual([]);
    expect(await findReject(db, 'not-a-number')).toBeNull();
  });

  it('keeps messages and rejects to a time range, with the visit and person they name', async () => {
    const all = await listMessages(db, { limit: 10 });
    const times = all.map((m) => m.receivedAt.getTime()).sort((a, b) => a - b);
    const first = new Date(times[0] ?? 0);
    const after = new Date((times.at(-1) ?? 0) + 1);
    // from is inclusive, to exclusive: [first, after) holds them all, [after, …) none
    expect((await listMessages(db, { limit: 10, from: first, to: after })).length).toBe(all.length);
    expect(await listMessages(db, { limit: 10, from: after })).toEqual([]);
    expect(await listMessages(db, { limit: 10, to: first })).toEqual([]);
    expect(all.find((m) => m.setlId === settledA)?.psnNo).toBe('P-1');
    const rejects = await listRejects(db, { limit: 10 });
    const at = rejects[0]?.createdAt ?? new Date(0);
    expect((await listRejects(db, { limit: 10, from: at })).map((r) => r.id)).toEqual([rejectB]);
    expect(await listRejects(db, { limit: 10, to: at })).toEqual([]);
    expect(rejects[0]).toMatchObject({ mdtrtId: 'M-B9', psnNo: null });
  });

  it("finds a person's bills, only the hospital's own when asked", async () => {
    expect(
      (await findSettlementsOfPerson(db, 'P-1', { limit: 10 })).map((s) => s.setlId).sort(),
    ).toEqual([settledA, reversedA].sort());
    expect(await findSettlementsOfPerson(db, 'P-1', { limit: 10, fixmedinsCode: B })).toEqual([]);
  });

  it('counts the flow per topic per minute and breaks it down by hospital and county', async () => {
    const flow = await readFlow(db, 30);
    const total = (points: Array<{ topic: string; count: number }>, topic: string): number =>
      points.filter((p) => p.topic === topic).reduce((s, p) => s + p.count, 0);
    expect(total(flow.messagesIn, 'his.discharge.v1')).toBe(3);
    expect(total(flow.messagesIn, 'http')).toBe(2);
    expect(total(flow.messagesOut, 'settlement.events.v1')).toBe(3);
    expect(flow.rejectsByReason).toEqual([{ reason: 'MALFORMED_XML', count: 1 }]);
    expect(flow.byCounty).toEqual([
      {
        clrOptins: '510402',
        settled: 1,
        reversed: 1,
        fundPaySum: expect.stringMatching(/^\d+\.\d{2}$/) as string,
      },
      {
        clrOptins: '530502',
        settled: 1,
        reversed: 0,
        fundPaySum: expect.stringMatching(/^\d+\.\d{2}$/) as string,
      },
    ]);
    const onlyA = await readFlow(db, 30, A);
    expect(total(onlyA.messagesIn, 'his.discharge.v1')).toBe(2);
    expect(total(onlyA.messagesOut, 'settlement.events.v1')).toBe(2);
    expect(onlyA.byHospital.every((h) => h.fixmedinsCode === A)).toBe(true);
    expect(onlyA.rejectsByReason).toEqual([]);
  });
});
