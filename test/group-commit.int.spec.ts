/**
 * Group commit as the intake's public behaviour shows it (issue 17, docs/adr/0020-group-commit.md),
 * through the compiled gateway, the real broker and a fresh database of the run: several messages
 * produced at once to one partition (one produce request, keyed by one hospital) arrive as one
 * fetched batch, which the intake may settle in one transaction. Whatever it does inside, each
 * message's outcome must be the one it gets alone:
 *  (a) a conflicting bill in the middle of the batch is answered with its conflict and its
 *      neighbours are settled;
 *  (b) two bills of one person in one batch leave the same accumulators as the same two bills sent
 *      one by one.
 * These hold before group commit is wired in (one transaction per message) and after.
 */
import { type Db, openDb } from '@onebill/ledger';
import { Topics, validateSettlementEvent } from '@onebill/messaging';
import { writeCredentials } from './support/credentials';
import { billXml as billOf, hospitalOf, newRun } from './support/bills';
import { eventually } from './support/eventually';
import { GatewayHarness } from './support/harness';
import { KafkaTap } from './support/kafka-tap';

const CREDENTIALS = writeCredentials();
const RUN = newRun('G');
const GROUP = `group-commit-${RUN}`;
const TEMPLATE = 'discharge-panzhihua-11-none.xml';

describe('group commit: a batch settles as its messages would one by one', () => {
  let harness: GatewayHarness;
  let tap: KafkaTap;
  let db: Db;

  const inboxOf = async (
    visitPrefix: string,
  ): Promise<Array<{ visit: string; status: string; partition: number; offset: string }>> =>
    (
      await db.query<{ visit: string; status: string; partition: number; offset: string }>(
        `SELECT substring(payload FROM '<mdtrt_id>([^<]*)</mdtrt_id>') AS visit, status, partition,
                "offset"::text AS "offset"
           FROM inbox WHERE source = 'kafka' AND payload LIKE $1 ORDER BY "offset"::bigint`,
        [`%<mdtrt_id>${visitPrefix}%`],
      )
    ).rows;

  const settledVisits = async (visitPrefix: string): Promise<string[]> =>
    (
      await db.query<{ mdtrt_id: string }>(
        `SELECT mdtrt_id FROM settlements WHERE mdtrt_id LIKE $1 AND status = 'settled'
          ORDER BY mdtrt_id`,
        [`${visitPrefix}%`],
      )
    ).rows.map((r) => r.mdtrt_id);

  beforeAll(async () => {
    tap = await KafkaTap.open([Topics.settlementEvents, Topics.hisDischargeRejected]);
    db = await openDb({ databaseUrl: process.env.DATABASE_URL ?? '' });
    harness = await GatewayHarness.open(GROUP, CREDENTIALS.file);
  });

  afterAll(async () => {
    await harness?.close();
    await tap?.close();
    await db?.close();
  });

  it('settles the others of a batch and answers a conflicting bill in its middle with its conflict', async () => {
    const visit = (v: string): string => billOf(RUN, TEMPLATE, v);
    const conflicting = billOf(RUN, TEMPLATE, 'A1', {
      extra: { tag: 'fulamt_ownpay_amt', yuan: 10 },
    });
    // one produce request, one key: one partition, one fetched batch
    const batch = [visit('A1'), visit('A2'), conflicting, visit('A3'), visit('A4')];
    expect(new Set(batch.map(hospitalOf)).size).toBe(1);
    await harness.publish(batch);

    const rows = await eventually(async () => {
      const r = await inboxOf(`${RUN}-A`);
      expect(r.map((x) => x.status)).not.toContain('received');
      expect(r).toHaveLength(5);
      return r;
    });
    expect(new Set(rows.map((r) => r.partition)).size).toBe(1);
    expect(rows.map((r) => [r.visit, r.status])).toEqual([
      [`${RUN}-A1`, 'settled'],
      [`${RUN}-A2`, 'settled'],
      [`${RUN}-A1`, 'conflict'],
      [`${RUN}-A3`, 'settled'],
      [`${RUN}-A4`, 'settled'],
    ]);
    expect(await settledVisits(`${RUN}-A`)).toEqual([1, 2, 3, 4].map((n) => `${RUN}-A${n}`));

    // the conflicting bill is answered with its conflict, and only it
    const rejects = await eventually(() => {
      const r = tap
        .on(Topics.hisDischargeRejected)
        .map((m) => JSON.parse(m.value) as Record<string, unknown>)
        .filter((e) => String(e.original_payload).includes(`${RUN}-A`));
      expect(r).toHaveLength(1);
      return r;
    });
    expect(rejects[0]).toMatchObject({
      status: 'conflict',
      reason_code: 'CONFLICT',
      field: 'mdtrt_id',
      original_payload: conflicting,
    });
    // and each neighbour's county event goes out once
    const county = await eventually(() => {
      const seen = new Map<string, string>();
      for (const m of tap.on(Topics.settlementEvents)) {
        const e = validateSettlementEvent(JSON.parse(m.value) as unknown);
        if (e.ok && e.value.mdtrt_id.startsWith(`${RUN}-A`))
          seen.set(e.value.event_id, e.value.mdtrt_id);
      }
      expect(seen.size).toBe(4);
      return [...seen.values()].sort();
    });
    expect(county).toEqual([1, 2, 3, 4].map((n) => `${RUN}-A${n}`));
  });

  it('gives two bills of one person in one batch the accumulators they get one by one', async () => {
    const together = `${RUN}PT`;
    const oneByOne = `${RUN}PO`;
    // the same two bills for two new people: one person's in one batch, the other's one by one
    await harness.publish([
      billOf(RUN, TEMPLATE, 'T1', { psn: together }),
      billOf(RUN, TEMPLATE, 'T2', { psn: together }),
    ]);
    await harness.publish([billOf(RUN, TEMPLATE, 'O1', { psn: oneByOne })]);
    await eventually(async () => expect(await settledVisits(`${RUN}-O1`)).toHaveLength(1));
    await harness.publish([billOf(RUN, TEMPLATE, 'O2', { psn: oneByOne })]);

    const positions = await eventually(async () => {
      const { rows } = await db.query<{ psn_no: string; data: unknown; version: number }>(
        `SELECT psn_no, data, version FROM accumulators WHERE psn_no = ANY($1) ORDER BY psn_no`,
        [[oneByOne, together]],
      );
      expect(rows.map((r) => [r.psn_no, r.version])).toEqual([
        [oneByOne, 2],
        [together, 2],
      ]);
      return rows;
    });
    expect(positions[1]?.data).toEqual(positions[0]?.data);

    // and each bill was computed on the position the one before it left: the same amounts
    const { rows: bills } = await db.query<{
      psn_no: string;
      fund: string;
      cash: string;
      before: unknown;
    }>(
      `SELECT psn_no, fund_pay_sumamt::text AS fund, psn_cash_pay::text AS cash,
              accumulators_before AS before
         FROM settlements WHERE psn_no = ANY($1) ORDER BY psn_no, mdtrt_id`,
      [[oneByOne, together]],
    );
    const of = (psn: string): unknown[] =>
      bills
        .filter((b) => b.psn_no === psn)
        .map(({ fund, cash, before }) => ({ fund, cash, before }));
    expect(of(together)).toHaveLength(2);
    expect(of(together)).toEqual(of(oneByOne));
  });
});
