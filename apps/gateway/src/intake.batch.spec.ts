/**
 * Group commit's intake (docs/adr/0020, IntakeService.submitBatch) on the embedded store with the
 * shipped rules: the same messages settled as ONE batch in one database and one by one
 * (submitDecoded, a transaction each) in another give the same outcomes, the same amounts, the
 * same positions and the same rows; a message whose handler throws is kept as an INTERNAL_ERROR
 * reject without failing its neighbours; a Kafka redelivery in a batch gets its first answer.
 *
 * No amount is typed by hand: the batch is compared with the one-by-one run of the same messages.
 */
import { randomUUID } from 'node:crypto';
import { type PgliteDb, readAccumulators } from '@onebill/ledger';
import { openTestPglite } from '@onebill/ledger/testing/pglite';
import { Topics } from '@onebill/messaging/kafka/topics';
import { RuleBook } from '@onebill/rules';
import * as settleModule from './intake/settle';
import { IntakeService, type Outcome, type Source } from './intake.service';
import { Logger } from './log';
import { example, withTag, withoutTag } from './testing/intake-fixtures';

const INPATIENT = example('discharge-panzhihua-21-dibao.xml');
const OUTPATIENT = example('discharge-panzhihua-11-none.xml');
const REVERSAL = example('reversal-panzhihua.xml');
const ADMISSION = example('admission-panzhihua.xml');

/** A row of a table, without what differs between two databases (ids, random ids, times). */
function comparable(o: Outcome): unknown {
  switch (o.status) {
    case 'settled':
    case 'duplicate':
    case 'reversed':
      return {
        status: o.status,
        mdtrtId: o.settlement.mdtrtId,
        psnNo: o.settlement.psnNo,
        setlinfo: o.settlement.result.setlinfo,
        setldetail: o.settlement.result.setldetail,
        before: o.settlement.accumulatorsBefore,
      };
    case 'admitted':
      return { status: o.status, mdtrtId: o.mdtrtId, depositWaiver: o.depositWaiver };
    case 'conflict':
    case 'rejected':
      return { status: o.status, codes: o.problems.map((p) => p.code) };
  }
}

describe('IntakeService.submitBatch (group commit) against one by one', () => {
  const rules = RuleBook.load();
  const clock = new Date('2024-05-12T02:00:00.000Z');
  const log = new Logger('error', {}, () => undefined);
  let batchDb: PgliteDb;
  let aloneDb: PgliteDb;
  let batched: IntakeService;
  let alone: IntakeService;
  let offset = 0;

  beforeAll(async () => {
    batchDb = await openTestPglite({ migrate: true });
    aloneDb = await openTestPglite({ migrate: true });
    const options = { maxMessageBytes: 65536, now: () => clock };
    batched = new IntakeService(batchDb, rules, log, options);
    alone = new IntakeService(aloneDb, rules, log, options);
  });

  afterAll(async () => {
    await batchDb.close();
    await aloneDb.close();
  });

  afterEach(() => jest.restoreAllMocks());

  const kafka = (correlationId: string): Source => ({
    kind: 'kafka',
    topic: Topics.hisDischarge,
    partition: 0,
    offset: String(++offset),
    key: 'H51040000002',
    correlationId,
  });

  /** The same messages (same positions, same correlation ids) in a batch and one by one. */
  async function both(xmls: string[]): Promise<{ batch: Outcome[]; one: Outcome[] }> {
    const sources = xmls.map((_x, i) => kafka(`c-${offset}-${i}`));
    const batch = await batched.submitBatch(
      xmls.map((xml, i) => ({ arrival: batched.decode(xml), source: sources[i] as Source })),
    );
    const one: Outcome[] = [];
    // alone, as the Kafka ingress does: a message whose handler throws is kept as a reject
    for (const [i, xml] of xmls.entries()) {
      const arrival = alone.decode(xml);
      const source = sources[i] as Source;
      one.push(
        await alone
          .submitDecoded(arrival, source)
          .catch((e: unknown) => alone.internalRejectDecoded(arrival, source, e)),
      );
    }
    return { batch, one };
  }

  async function rows(db: PgliteDb, psnNos: string[], visits: string[]): Promise<unknown> {
    const q = async (sql: string, params: unknown[]): Promise<unknown[]> =>
      (await db.query(sql, params)).rows;
    return {
      accumulators: await q(
        'SELECT psn_no, year, data, version FROM accumulators WHERE psn_no = ANY($1) ORDER BY psn_no',
        [psnNos],
      ),
      inbox: await q(
        `SELECT correlation_id, status, (setl_id IS NOT NULL) AS settled,
                (reject_id IS NOT NULL) AS rejected
           FROM inbox WHERE correlation_id = ANY(SELECT correlation_id FROM inbox
                 WHERE payload LIKE ANY($1)) ORDER BY id`,
        [visits.map((v) => `%${v}%`)],
      ),
      settlements: await q(
        `SELECT mdtrt_id, psn_no, status, fund_pay_sumamt::text, psn_cash_pay::text
           FROM settlements WHERE mdtrt_id = ANY($1) ORDER BY created_at, mdtrt_id`,
        [visits],
      ),
      rejects: await q(
        `SELECT r.reason_code, r.field FROM rejects r JOIN inbox i ON i.id = r.inbox_id
          WHERE i.payload LIKE ANY($1) ORDER BY r.id`,
        [visits.map((v) => `%${v}%`)],
      ),
      outbox: await q(
        `SELECT topic, headers->>'correlation-id' AS correlation FROM outbox
          WHERE headers->>'correlation-id' IN (SELECT correlation_id FROM inbox
                 WHERE payload LIKE ANY($1)) ORDER BY id`,
        [visits.map((v) => `%${v}%`)],
      ),
    };
  }

  it('settles a mixed batch exactly as one by one: two bills of a person, a conflict, a reversal, rejects, an admission', async () => {
    const run = randomUUID().slice(0, 8);
    const p1 = `PSN-B1-${run}`;
    const p2 = `PSN-B2-${run}`;
    const v = (n: number): string => `MDT-B-${run}-${n}`;
    const bill = (xml: string, visit: string, psn: string): string =>
      withTag(withTag(xml, 'mdtrt_id', visit), 'psn_no', psn);
    const xmls = [
      bill(INPATIENT, v(1), p1),
      // the same person again: computed on the position the first left
      withTag(
        withTag(bill(INPATIENT, v(2), p1), 'begntime', '2024-04-01 09:00:00'),
        'endtime',
        '2024-04-10 10:00:00',
      ),
      bill(OUTPATIENT, v(3), p2),
      // another bill for visit 1: a conflict in the middle of the batch
      withTag(bill(INPATIENT, v(1), p1), 'endtime', '2024-03-16 10:00:00'),
      // the same bytes as visit 3: a duplicate of a bill settled earlier in the batch
      bill(OUTPATIENT, v(3), p2),
      // a hospital not in the registry: a reject, and no position created for the person
      withTag(bill(OUTPATIENT, v(4), `PSN-B3-${run}`), 'fixmedins_code', 'H99999999999'),
      '<discharge><broken>',
      // visit 3 reversed in the same batch it was settled in
      withoutTag(
        withTag(withTag(REVERSAL, 'mdtrt_id', v(3)), 'fixmedins_code', 'H51040000006'),
        'setl_id',
      ),
      withTag(withTag(ADMISSION, 'mdtrt_id', v(5)), 'psn_no', p2),
      bill(INPATIENT, v(6), p2),
    ];
    const { batch, one } = await both(xmls);

    expect(batch.map((o) => o.status)).toEqual([
      'settled',
      'settled',
      'settled',
      'conflict',
      'duplicate',
      'rejected',
      'rejected',
      'reversed',
      'admitted',
      'settled',
    ]);
    expect(batch.map(comparable)).toEqual(one.map(comparable));
    const visits = [1, 2, 3, 4, 5, 6].map(v);
    expect(await rows(batchDb, [p1, p2, `PSN-B3-${run}`], visits)).toEqual(
      await rows(aloneDb, [p1, p2, `PSN-B3-${run}`], visits),
    );
    // and the settlement times came from the database at the flush
    for (const o of batch)
      if (o.status === 'settled') expect(o.settlement.createdAt).toBeInstanceOf(Date);
    expect(await readAccumulators(batchDb, `PSN-B3-${run}`, 2024)).toBeNull();
  });

  it('keeps a message whose handler throws as an INTERNAL_ERROR reject and settles its neighbours', async () => {
    const run = randomUUID().slice(0, 8);
    const psn = `PSN-T-${run}`;
    const v = (n: number): string => `MDT-T-${run}-${n}`;
    const xmls = [1, 2, 3].map((n) => withTag(withTag(INPATIENT, 'mdtrt_id', v(n)), 'psn_no', psn));
    const real = settleModule.settleBill;
    jest.spyOn(settleModule, 'settleBill').mockImplementation(async (deps, ctx, m) => {
      if (m.bill.mdtrtId === v(2)) {
        // after a write staged in its bill: undone with it
        await ctx.scope.setInboxStatus(ctx.inboxId, 'settled');
        throw new Error('the handler broke');
      }
      return real(deps, ctx, m);
    });

    const { batch, one } = await both(xmls);

    expect(batch.map((o) => o.status)).toEqual(['settled', 'rejected', 'settled']);
    expect(batch[1]).toMatchObject({
      problems: [{ code: 'INTERNAL_ERROR', message: 'the handler broke' }],
    });
    expect(batch.map(comparable)).toEqual(one.map(comparable));
    // the third bill is computed on the first one's position, not on the failed one's
    const [first, , third] = batch;
    if (first?.status !== 'settled' || third?.status !== 'settled') throw new Error('not settled');
    expect(third.settlement.accumulatorsBefore).toEqual(first.settlement.result.accumulators);
    expect(await rows(batchDb, [psn], [1, 2, 3].map(v))).toEqual(
      await rows(aloneDb, [psn], [1, 2, 3].map(v)),
    );
  });

  it('fails the whole batch, writing nothing, when a handler meets a deadlock (alone it is tried again)', async () => {
    const run = randomUUID().slice(0, 8);
    const xmls = [1, 2].map((n) =>
      withTag(withTag(OUTPATIENT, 'mdtrt_id', `MDT-D-${run}-${n}`), 'psn_no', `PSN-D-${run}`),
    );
    jest
      .spyOn(settleModule, 'settleBill')
      .mockImplementation((_deps, _ctx, m) =>
        Promise.reject(
          m.bill.mdtrtId.endsWith('-2')
            ? Object.assign(new Error('deadlock detected'), { code: '40P01' })
            : new Error('an ordinary failure: kept as a reject, undone with the batch'),
        ),
      );
    const inbox = async (): Promise<number> =>
      (
        await batchDb.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM inbox WHERE payload LIKE $1`,
          [`%MDT-D-${run}%`],
        )
      ).rows[0]?.n ?? -1;

    await expect(
      batched.submitBatch(
        xmls.map((xml) => ({ arrival: batched.decode(xml), source: kafka('deadlock') })),
      ),
    ).rejects.toMatchObject({ code: '40P01' });
    expect(await inbox()).toBe(0);
  });

  it('answers a Kafka record delivered again in a batch with its first outcome, writing nothing', async () => {
    const run = randomUUID().slice(0, 8);
    const xml = withTag(withTag(OUTPATIENT, 'mdtrt_id', `MDT-R-${run}`), 'psn_no', `PSN-R-${run}`);
    const source = kafka('first');
    const [first] = await batched.submitBatch([{ arrival: batched.decode(xml), source }]);
    const count = async (): Promise<unknown[]> =>
      (
        await batchDb.query(
          `SELECT (SELECT count(*) FROM inbox)::int AS i, (SELECT count(*) FROM outbox)::int AS o,
                  (SELECT count(*) FROM settlements)::int AS s`,
        )
      ).rows;
    const before = await count();

    const again = await batched.submitBatch([
      { arrival: batched.decode(xml), source: { ...source, correlationId: 'again' } },
    ]);

    expect(first?.status).toBe('settled');
    expect(again).toEqual([{ ...first, status: 'duplicate', correlationId: 'first' }]);
    expect(await count()).toEqual(before);
  });
});
