/**
 * The gateway end to end, as deployed: the compiled process, a real Apache Kafka broker and a real
 * PostgreSQL (KAFKA_BROKERS and DATABASE_URL from test/support/global-setup.ts). Messages go in on
 * his.discharge.v1 (and over HTTP); the test reads settlement.events.v1, his.settlement-result.v1
 * and his.discharge.rejected.v1 and the ledger tables. Every visit id carries this run's prefix, so
 * a reused broker or database does not disturb the assertions.
 */
import Ajv2020 from 'ajv/dist/2020';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Db, openDb } from '@onebill/ledger';
import { Topics, validateSettlementEvent, type SettlementEvent } from '@onebill/messaging';
import { RuleBook } from '@onebill/rules';
import { writeCredentials } from './support/credentials';
import {
  type BillOptions,
  billXml as billOf,
  example,
  fen,
  hospitalOf,
  newRun,
  reversalXml,
} from './support/bills';
import { eventually } from './support/eventually';
import { ROOT } from './support/gateway-process';
import { GatewayHarness } from './support/harness';
import { KafkaTap } from './support/kafka-tap';
import { runFeed } from './support/feed';

const CREDENTIALS = writeCredentials();
const AUTH = CREDENTIALS.header(CREDENTIALS.operator);
const RUN = newRun('E');
const rejectedSchema = new Ajv2020({ strict: false, allErrors: true }).compile(
  JSON.parse(
    readFileSync(join(ROOT, 'contracts/events/discharge-rejected.v1.schema.json'), 'utf8'),
  ) as object,
);
const GROUP = `gateway-e2e-${RUN}`;
const billXml = (template: string, visit: string, opts: BillOptions = {}): string =>
  billOf(RUN, template, visit, opts);

interface SettlementDbRow {
  setl_id: string;
  mdtrt_id: string;
  status: string;
  clr_optins: string;
  fund_pay_sumamt: string;
  event_id: string;
}

describe('gateway end to end (real Kafka, real PostgreSQL, the compiled process)', () => {
  const rules = RuleBook.load();
  let harness: GatewayHarness;
  let tap: KafkaTap;
  let db: Db;

  const publish = (xmls: string[]): Promise<void> => harness.publish(xmls);

  async function settlementsOf(visitPrefix: string): Promise<SettlementDbRow[]> {
    const r = await db.query<SettlementDbRow>(
      `SELECT setl_id, mdtrt_id, status, clr_optins, fund_pay_sumamt::text AS fund_pay_sumamt,
              event_id::text AS event_id
         FROM settlements WHERE mdtrt_id LIKE $1 ORDER BY created_at, setl_id`,
      [`${visitPrefix}%`],
    );
    return r.rows;
  }

  function countyEvents(visitPrefix: string): SettlementEvent[] {
    const seen = new Map<string, SettlementEvent>();
    for (const m of tap.on(Topics.settlementEvents)) {
      const parsed = validateSettlementEvent(JSON.parse(m.value) as unknown);
      if (!parsed.ok) throw new Error(`invalid county event: ${parsed.errors.join('; ')}`);
      if (!parsed.value.mdtrt_id.startsWith(visitPrefix)) continue;
      expect(m.key).toBe(parsed.value.clr_optins);
      expect(m.headers['event-id']).toBe(parsed.value.event_id);
      seen.set(parsed.value.event_id, parsed.value); // at least once: dedupe by event id
    }
    return [...seen.values()];
  }

  function rejectsOf(visitOrText: string): Array<Record<string, unknown>> {
    return tap
      .on(Topics.hisDischargeRejected)
      .map((m) => JSON.parse(m.value) as Record<string, unknown>)
      .filter((r) => String(r.original_payload).includes(visitOrText));
  }

  beforeAll(async () => {
    tap = await KafkaTap.open([
      Topics.settlementEvents,
      Topics.hisSettlementResult,
      Topics.hisDischargeRejected,
    ]);
    db = await openDb({ databaseUrl: process.env.DATABASE_URL ?? '' });
    harness = await GatewayHarness.open(GROUP, CREDENTIALS.file);
  });

  afterAll(async () => {
    await harness?.close();
    await tap?.close();
    await db?.close();
  });

  it('settles a discharge from Kafka once and answers the county and the hospital', async () => {
    const xml = billXml('discharge-panzhihua-21-dibao.xml', 'A1');
    await publish([xml]);
    const [s] = await eventually(async () => {
      const rows = await settlementsOf(`${RUN}-A1`);
      expect(rows).toHaveLength(1);
      return rows;
    });
    const hospital = rules.hospital(hospitalOf(xml));
    expect(s?.clr_optins).toBe(hospital?.admdvs);

    const events = await eventually(() => {
      const e = countyEvents(`${RUN}-A1`);
      expect(e).toHaveLength(1);
      return e;
    });
    const event = events[0] as SettlementEvent;
    expect(event).toMatchObject({
      event_type: 'settled',
      event_id: s?.event_id,
      setl_id: s?.setl_id,
      clr_optins: hospital?.admdvs,
      fund_pay_sumamt: s?.fund_pay_sumamt,
      category_used: 'dibao',
    });
    // the county is paid what the funds pay, to the fen
    const funds = event.funds.reduce((sum, f) => sum + fen(f.amount), 0n);
    expect(funds).toBe(fen(event.fund_pay_sumamt));
    expect(fen(event.fund_pay_sumamt) + fen(event.psn_cash_pay)).toBe(fen(event.medfee_sumamt));

    const result = await eventually(() => {
      const r = tap
        .on(Topics.hisSettlementResult)
        .filter((m) => m.value.includes(`<mdtrt_id>${RUN}-A1</mdtrt_id>`));
      expect(r).toHaveLength(1);
      return r[0];
    });
    expect(result?.key).toBe(hospitalOf(xml));
    expect(result?.value).toContain(`<setl_id>${s?.setl_id}</setl_id>`);
    expect(result?.value).toContain(`<fund_pay_sumamt>${s?.fund_pay_sumamt}</fund_pay_sumamt>`);

    // the raw message is kept with its position and hash
    const inbox = await db.query<{ partition: number; offset: string; sha: string }>(
      `SELECT partition, "offset"::text AS offset, payload_sha256 AS sha FROM inbox
        WHERE source = 'kafka' AND payload = $1`,
      [xml],
    );
    expect(inbox.rows).toHaveLength(1);
    expect(inbox.rows[0]?.sha).toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers a resent bill with the first settlement and rejects a different bill for the same visit', async () => {
    const xml = billXml('discharge-panzhihua-11-none.xml', 'B1');
    await publish([xml]);
    await eventually(async () => expect(await settlementsOf(`${RUN}-B1`)).toHaveLength(1));
    await publish([xml]); // the HIS resends it
    const conflicting = billXml('discharge-panzhihua-11-none.xml', 'B1', {
      extra: { tag: 'fulamt_ownpay_amt', yuan: 10 },
    });
    await publish([conflicting]);

    const conflict = await eventually(() => {
      const r = rejectsOf(`${RUN}-B1`);
      expect(r).toHaveLength(1);
      return r[0];
    });
    expect(conflict).toMatchObject({
      status: 'conflict',
      reason_code: 'CONFLICT',
      field: 'mdtrt_id',
      original_payload: conflicting,
    });
    const statuses = await db.query<{ status: string }>(
      `SELECT status FROM inbox WHERE payload LIKE $1 ORDER BY id`,
      [`%<mdtrt_id>${RUN}-B1</mdtrt_id>%`],
    );
    expect(statuses.rows.map((r) => r.status)).toEqual(['settled', 'duplicate', 'conflict']);
    expect(await settlementsOf(`${RUN}-B1`)).toHaveLength(1);
    // the resent bill made no second county event (give the relay time to send one if it would)
    const probe = billXml('discharge-panzhihua-11-none.xml', 'B2');
    await publish([probe]);
    await eventually(() => expect(countyEvents(`${RUN}-B2`)).toHaveLength(1));
    expect(countyEvents(`${RUN}-B1`)).toHaveLength(1);

    // over HTTP the same bill is answered with the same settlement
    const http = await fetch(`${harness.base}/api/v1/settlements`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', ...AUTH },
      body: xml,
    });
    expect(http.status).toBe(200);
    const body = (await http.json()) as { status: string; setlinfo: { setl_id: string } };
    expect(body.status).toBe('duplicate');
    expect(body.setlinfo.setl_id).toBe((await settlementsOf(`${RUN}-B1`))[0]?.setl_id);
  });

  it('gives one settlement for concurrent duplicates over Kafka and HTTP', async () => {
    const xml = billXml('discharge-baoshan-21-dibao_edge.xml', 'C1');
    const posts = Array.from({ length: 4 }, () =>
      fetch(`${harness.base}/api/v1/settlements`, {
        method: 'POST',
        headers: { 'content-type': 'application/xml', ...AUTH },
        body: xml,
      }).then(async (r) => ({ code: r.status, body: (await r.json()) as { status: string } })),
    );
    const [answers] = await Promise.all([Promise.all(posts), publish([xml, xml, xml])]);
    await eventually(async () => {
      const inbox = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM inbox WHERE payload = $1`,
        [xml],
      );
      expect(inbox.rows[0]?.n).toBe(7);
    });
    expect(await settlementsOf(`${RUN}-C1`)).toHaveLength(1);
    const settledOverHttp = answers.filter((a) => a.body.status === 'settled').length;
    expect(answers.every((a) => ['settled', 'duplicate'].includes(a.body.status))).toBe(true);
    expect(settledOverHttp).toBeLessThanOrEqual(1);
    const outcomes = await db.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM inbox WHERE payload = $1 GROUP BY status ORDER BY status`,
      [xml],
    );
    expect(outcomes.rows).toEqual([
      { status: 'duplicate', n: 6 },
      { status: 'settled', n: 1 },
    ]);
    await eventually(() => expect(countyEvents(`${RUN}-C1`)).toHaveLength(1));
  });

  it('settles each bill once with two gateway instances in one group, copies on different partitions', async () => {
    const second = await harness.another();
    try {
      const bills = Array.from({ length: 20 }, (_, i) =>
        billXml('discharge-panzhihua-13-tekun.xml', `I${i}`),
      );
      // every bill twice, under two different keys: the copies land on different partitions,
      // which the group's two members share, so both instances may settle the same bill at once
      await harness.publish([...bills, ...bills], (_xml, i) => `copy-${i}`);
      await eventually(
        async () => {
          const r = await db.query<{ status: string; n: number }>(
            `SELECT status, count(*)::int AS n FROM inbox WHERE payload LIKE $1
              GROUP BY status ORDER BY status`,
            [`%<mdtrt_id>${RUN}-I%`],
          );
          expect(r.rows).toEqual([
            { status: 'duplicate', n: 20 },
            { status: 'settled', n: 20 },
          ]);
        },
        { timeoutMs: 60_000 },
      );
      const rows = await settlementsOf(`${RUN}-I`);
      expect(rows).toHaveLength(20);
      expect(new Set(rows.map((r) => r.mdtrt_id)).size).toBe(20);
      await eventually(() => expect(countyEvents(`${RUN}-I`)).toHaveLength(20));
    } finally {
      await second.stop('SIGTERM');
    }
  });

  it('answers an admission with the deposit waiver, over HTTP and on the hospital result topic', async () => {
    // Panzhihua 004 第十六条: a referred 低保 inpatient is treated first and pays later
    const admission = example('admission-panzhihua.xml')
      .replace(/<mdtrt_id>[^<]*<\/mdtrt_id>/, `<mdtrt_id>${RUN}-W1</mdtrt_id>`)
      .replace(/<psn_no>[^<]*<\/psn_no>/, `<psn_no>${RUN}PW1</psn_no>`);
    const http = await fetch(`${harness.base}/api/v1/admissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', ...AUTH },
      body: admission,
    });
    expect(http.status).toBe(201);
    expect(await http.json()).toMatchObject({
      status: 'admitted',
      mdtrt_id: `${RUN}-W1`,
      deposit_waiver: { applies: true, category: 'dibao', article: '004 第十六条' },
    });
    // the same person without a referral, over Kafka: the deposit is asked, and the answer says why
    const unreferred = admission
      .replace(`${RUN}-W1`, `${RUN}-W2`)
      .replace('<refl_flag>1</refl_flag>', '<refl_flag>0</refl_flag>');
    await harness.publish([unreferred], hospitalOf, Topics.hisAdmission);
    const answer = await eventually(() => {
      const r = tap
        .on(Topics.hisSettlementResult)
        .map((m) => JSON.parse(m.value.startsWith('{') ? m.value : '{}') as Record<string, unknown>)
        .filter((v) => v.mdtrt_id === `${RUN}-W2`);
      expect(r).toHaveLength(1);
      return r[0];
    });
    expect(answer).toMatchObject({
      status: 'admitted',
      deposit_waiver: { applies: false, category: null, article: '004 第十六条' },
    });
    expect(String((answer?.deposit_waiver as { reason: string }).reason)).toContain('not referred');

    // a discharge posted to the admissions route is refused as a wrong route, and settles nothing
    const misrouted = billXml('discharge-panzhihua-21-dibao.xml', 'W3');
    const wrong = await fetch(`${harness.base}/api/v1/admissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', ...AUTH },
      body: misrouted,
    });
    expect(wrong.status).toBe(400);
    const problem = (await wrong.json()) as { errors: Array<{ code: string; rule: string }> };
    expect(problem.errors[0]?.code).toBe('WRONG_ROUTE');
    expect(problem.errors[0]?.rule).toContain('/api/v1/settlements');
    expect(await settlementsOf(`${RUN}-W3`)).toHaveLength(0);
  });

  it('reverses a bill and settles the corrected one: the county is owed the corrected bill alone', async () => {
    const first = billXml('discharge-panzhihua-21-dibao.xml', 'D1', {
      extra: { tag: 'inscp_scp_amt', yuan: 1000 },
    });
    await publish([first]);
    const [original] = await eventually(async () => {
      const rows = await settlementsOf(`${RUN}-D1`);
      expect(rows).toHaveLength(1);
      return rows;
    });
    const reversal = reversalXml(first, original?.setl_id ?? '');
    await publish([reversal]);
    await eventually(async () =>
      expect((await settlementsOf(`${RUN}-D1`)).map((r) => r.status)).toEqual(['reversed']),
    );
    const corrected = billXml('discharge-panzhihua-21-dibao.xml', 'D1');
    await publish([corrected]);
    const rows = await eventually(async () => {
      const r = await settlementsOf(`${RUN}-D1`);
      expect(r.map((x) => x.status)).toEqual(['reversed', 'settled']);
      return r;
    });
    const events = await eventually(() => {
      const e = countyEvents(`${RUN}-D1`);
      expect(e).toHaveLength(3);
      return e;
    });
    const reversedEvent = events.find((e) => e.event_type === 'reversed');
    expect(reversedEvent?.reverses_event_id).toBe(original?.event_id);
    // what the county owes per fund: settled + reversed + settled again = the corrected bill
    const owed = new Map<string, bigint>();
    for (const e of events) {
      for (const f of e.funds)
        owed.set(f.fund_pay_type, (owed.get(f.fund_pay_type) ?? 0n) + fen(f.amount));
    }
    const correctedEvent = events.find(
      (e) => e.event_type === 'settled' && e.setl_id === rows[1]?.setl_id,
    );
    const expected = new Map<string, bigint>();
    for (const f of correctedEvent?.funds ?? [])
      expected.set(f.fund_pay_type, (expected.get(f.fund_pay_type) ?? 0n) + fen(f.amount));
    for (const [fund, amount] of owed)
      expect([fund, amount]).toEqual([fund, expected.get(fund) ?? 0n]);
    expect(fen(correctedEvent?.fund_pay_sumamt ?? '0')).toBe(fen(rows[1]?.fund_pay_sumamt ?? '0'));
    // the reversal gave the person's year back: the corrected bill paid what it pays a person
    // with nothing used yet (deductible and caps included), as a pre-settlement for a fresh
    // person shows
    const preview = await fetch(`${harness.base}/api/v1/settlements/preview`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', ...AUTH },
      body: billXml('discharge-panzhihua-21-dibao.xml', 'D9'),
    });
    expect(preview.status).toBe(200);
    const fresh = (await preview.json()) as {
      setlinfo: { fund_pay_sumamt: string; act_pay_dedc: string };
    };
    expect(fresh.setlinfo.fund_pay_sumamt).toBe(rows[1]?.fund_pay_sumamt);
    expect(fen(fresh.setlinfo.act_pay_dedc)).toBeGreaterThan(0n);
  });

  it('rejects malformed, oversized and entity-bomb XML with reasons while good bills keep flowing', async () => {
    const good = (n: number): string => billXml('discharge-panzhihua-13-tekun.xml', `F${n}`);
    const truncated = good(90).slice(0, 300);
    const missing = good(91).replace(/<psn_no>[^<]*<\/psn_no>/, '');
    const bomb = `<?xml version="1.0"?>
<!DOCTYPE discharge [<!ENTITY a "${RUN}-bomb-aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<discharge version="1"><fixmedins_code>H51040000001</fixmedins_code><mdtrt_id>&c;</mdtrt_id></discharge>`;
    const oversized = good(92).replace(
      '<identities',
      `<!-- ${RUN}-big ${'x'.repeat(70_000)} --><identities`,
    );
    await publish([
      good(1),
      truncated,
      good(2),
      missing,
      good(3),
      bomb,
      good(4),
      oversized,
      good(5),
    ]);

    await eventually(async () => expect(await settlementsOf(`${RUN}-F`)).toHaveLength(5), {
      timeoutMs: 60_000,
    });
    const reasons = await eventually(() => {
      const r = [
        ...rejectsOf(`${RUN}-F90`),
        ...rejectsOf(`${RUN}-F91`),
        ...rejectsOf(`${RUN}-bomb`),
        ...rejectsOf(`${RUN}-big`),
      ];
      expect(r).toHaveLength(4);
      return r;
    });
    const byPayload = (marker: string): Record<string, unknown> | undefined =>
      reasons.find((r) => String(r.original_payload).includes(marker));
    expect(byPayload(`${RUN}-F90`)).toMatchObject({
      status: 'rejected',
      reason_code: 'MALFORMED_XML',
    });
    expect(byPayload(`${RUN}-F91`)).toMatchObject({
      status: 'rejected',
      reason_code: 'MISSING_FIELD',
      field: 'psn_no',
    });
    expect(byPayload(`${RUN}-bomb`)).toMatchObject({
      status: 'rejected',
      reason_code: 'ENTITY_NOT_ALLOWED',
    });
    expect(byPayload(`${RUN}-big`)).toMatchObject({ status: 'rejected', reason_code: 'TOO_LARGE' });
    for (const r of reasons) {
      // what the gateway publishes is what contracts/events/discharge-rejected.v1.schema.json says
      expect(rejectedSchema(r) ? [] : rejectedSchema.errors).toEqual([]);
      expect(typeof r.message).toBe('string');
      expect((r.source as { kind: string; offset: string | null }).kind).toBe('kafka');
    }
    // every consumed message ended as a settlement or a reject
    const open = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM inbox WHERE status = 'received'`,
    );
    expect(open.rows[0]?.n).toBe(0);
  });

  it('settles every bill exactly once across a SIGKILL in the middle of a stream', async () => {
    const feed = runFeed(RUN, rules, { persons: 300, duplicates: 0, malformed: 0 });
    const total = 600;
    const xmls = Array.from({ length: total }, () =>
      feed
        .message()
        .xml.replace(/<mdtrt_id>([^<]*)<\/mdtrt_id>/, `<mdtrt_id>${RUN}-G$1</mdtrt_id>`),
    );
    for (let i = 0; i < total; i += 100) await publish(xmls.slice(i, i + 100));
    // kill it once part of the stream is settled, with more in flight
    await eventually(
      async () => expect((await settlementsOf(`${RUN}-G`)).length).toBeGreaterThanOrEqual(50),
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    await harness.gateway.stop('SIGKILL');
    const atKill = (await settlementsOf(`${RUN}-G`)).length;
    await harness.start();

    const rows = await eventually(
      async () => {
        const r = await settlementsOf(`${RUN}-G`);
        expect(r).toHaveLength(total);
        return r;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    expect(atKill).toBeLessThan(total); // the kill really was mid-stream
    expect(new Set(rows.map((r) => r.mdtrt_id)).size).toBe(total);
    expect(rows.every((r) => r.status === 'settled')).toBe(true);
    const perVisit = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM inbox WHERE payload LIKE $1 AND status = 'settled'`,
      [`%<mdtrt_id>${RUN}-G%`],
    );
    expect(perVisit.rows[0]?.n).toBe(total);

    // the county events (deduped by event id) sum to the settlements, to the fen
    const events = await eventually(
      () => {
        const e = countyEvents(`${RUN}-G`);
        expect(e).toHaveLength(total);
        return e;
      },
      { timeoutMs: 60_000 },
    );
    const eventSum = events.reduce((s, e) => s + fen(e.fund_pay_sumamt), 0n);
    const settledSum = rows.reduce((s, r) => s + fen(r.fund_pay_sumamt), 0n);
    expect(eventSum).toBe(settledSum);
    expect(new Set(events.map((e) => e.event_id))).toEqual(new Set(rows.map((r) => r.event_id)));
    await eventually(async () => {
      const r = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL`,
      );
      expect(r.rows[0]?.n).toBe(0);
    });
  });
});
