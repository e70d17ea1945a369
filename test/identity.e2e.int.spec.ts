/**
 * Issue 6 end to end: the compiled gateway with the real broker and PostgreSQL. Identity changes
 * arrive on identity.changes.v1; top-ups leave on settlement.events.v1; high-burden alerts on
 * alerts.high-burden.v1; the deposit waiver and the enrollment subsidy are answered over HTTP.
 * Every amount cites its article; the Panzhihua basic-insurance figures are the rule set's
 * EXAMPLE values (panzhihua-2023, ordinary outpatient level 1: 60 %).
 */
import { Kafka, logLevel } from 'kafkajs';
import { Topics } from '@onebill/messaging';
import { example, hospitalOf, newRun } from './support/bills';
import { writeCredentials } from './support/credentials';
import { eventually } from './support/eventually';
import { GatewayHarness } from './support/harness';
import { KafkaTap } from './support/kafka-tap';

const CRED = writeCredentials();
const OPERATOR = CRED.header(CRED.operator);
const RUN = newRun('I');
const GROUP = `gateway-identity-${RUN}`;

function tag(xml: string, name: string, value: string): string {
  return xml.replace(new RegExp(`<${name}>[^<]*</${name}>`), `<${name}>${value}</${name}>`);
}

/** A Panzhihua ordinary-outpatient visit at H51040000006 (level 1), no commercial insurance. */
function visit(psn: string, id: string, day: string, inscp: string, own = '0.00'): string {
  const fen = Math.round(Number(inscp) * 100) + Math.round(Number(own) * 100);
  let x = example('discharge-panzhihua-11-none.xml');
  x = tag(x, 'mdtrt_id', `${RUN}-${id}`);
  x = tag(x, 'psn_no', psn);
  x = tag(x, 'cmi_flag', '0');
  x = tag(x, 'begntime', `${day} 08:30:00`);
  x = tag(x, 'endtime', `${day} 11:45:00`);
  x = tag(x, 'medfee_sumamt', (fen / 100).toFixed(2));
  x = tag(x, 'fulamt_ownpay_amt', own);
  x = tag(x, 'overlmt_selfpay', '0.00');
  x = tag(x, 'preselfpay_amt', '0.00');
  x = tag(x, 'inscp_scp_amt', inscp);
  return x;
}

interface CountyEvent {
  event_type: string;
  setl_id: string;
  tops_up_event_id?: string;
  event_id: string;
  fund_pay_sumamt: string;
  psn_cash_pay: string;
  funds: { fund: string; amount: string }[];
}

describe('identity feed, retroactive assistance, alerts, deposit waiver, enrollment subsidy (real Kafka and PostgreSQL)', () => {
  let harness: GatewayHarness;
  let tap: KafkaTap;
  let producer: ReturnType<Kafka['producer']>;
  let waivers = 0;

  const api = <T>(path: string, init: RequestInit = {}) => harness.api<T>(OPERATOR, path, init);

  const settlementOf = (psn: string, id: string) =>
    eventually(async () => {
      const r = await api<{ setlinfo: { setl_id: string; hifp_pay: string; maf_pay: string } }>(
        `/api/v1/settlements?fixmedins_code=H51040000006&mdtrt_id=${RUN}-${id}`,
      );
      if (r.status !== 200) throw new Error(`not settled yet: ${r.status}`);
      return r.body.setlinfo;
    });

  const publishIdentity = async (change: object): Promise<void> => {
    await producer.send({
      topic: Topics.identityChanges,
      messages: [{ key: (change as { psn_no: string }).psn_no, value: JSON.stringify(change) }],
    });
  };

  const countyEvents = (setlId: string): CountyEvent[] =>
    tap
      .on(Topics.settlementEvents)
      .map((m) => JSON.parse(m.value) as CountyEvent)
      .filter((e) => e.setl_id === setlId);

  beforeAll(async () => {
    tap = await KafkaTap.open([Topics.settlementEvents, Topics.alertsHighBurden]);
    harness = await GatewayHarness.open(GROUP, CRED.file);
    producer = new Kafka({
      clientId: `${GROUP}-civil-affairs`,
      brokers: (process.env.KAFKA_BROKERS ?? '').split(','),
      logLevel: logLevel.NOTHING,
    }).producer();
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await tap?.close();
    await harness?.close();
  });

  it('a person settled without a category and identified later as 低保 gets exactly one top-up of the difference, however often the change comes', async () => {
    const psn = `${RUN}P1`;
    await harness.publish([visit(psn, 'T1', '2024-05-11', '150.00')]);
    const s = await settlementOf(psn, 'T1');
    // basic 150.00 × 0.60 = 90.00; no identity, no assistance: the patient pays 60.00
    expect(s.hifp_pay).toBe('90.00');
    expect(s.maf_pay).toBe('0.00');

    const change = {
      issuer: 'civil-affairs',
      reference: `${RUN}-民政-0001`,
      psn_no: psn,
      admdvs: '510402',
      category: 'dibao',
      valid_from: '2024-03-01',
      valid_to: null,
    };
    await publishIdentity(change);
    await publishIdentity(change); // delivered twice: one change
    // 低保, ordinary outpatient: 70 % of the in-scope personal part 60.00 = 42.00 (004 第十条, 第十九条)
    const topups = await eventually(
      () => {
        const t = countyEvents(s.setl_id).filter((e) => e.event_type === 'top-up');
        expect(t).toHaveLength(1);
        return t;
      },
      { timeoutMs: 60_000 },
    );
    const settled = countyEvents(s.setl_id).find((e) => e.event_type === 'settled')!;
    expect(topups[0]).toMatchObject({
      tops_up_event_id: settled.event_id,
      fund_pay_sumamt: '42.00',
      psn_cash_pay: '-42.00',
      funds: [{ fund: 'assistance', amount: '42.00' }],
    });
    // the second delivery was recorded as a duplicate; wait for it, then no second top-up
    await eventually(async () => {
      const r = await fetch(`${harness.base}/metrics`, { headers: OPERATOR });
      expect(await r.text()).toMatch(/onebill_identity_changes_total\{outcome="duplicate"\} [1-9]/);
    });
    expect(countyEvents(s.setl_id).filter((e) => e.event_type === 'top-up')).toHaveLength(1);
    const registry = await api<{ in_force: string[] }>(`/api/v1/identities/${psn}?date=2024-05-11`);
    expect(registry.body.in_force).toEqual(['dibao']);
    // the cashier reads the bill as it now stands: the settlement as paid, its top-up, and the
    // current totals to refund from (assistance 0.00 → 42.00, cash 60.00 → 18.00)
    const view = await api<{
      setlinfo: { maf_pay: string; psn_cash_pay: string };
      settlement_status: string;
      totals: Record<string, string>;
      topups: Array<Record<string, unknown>>;
    }>(`/api/v1/settlements/${s.setl_id}`);
    expect(view.status).toBe(200);
    expect(view.body.setlinfo).toMatchObject({ maf_pay: '0.00', psn_cash_pay: '60.00' });
    expect(view.body.settlement_status).toBe('settled');
    expect(view.body.totals).toMatchObject({ maf_pay: '42.00', psn_cash_pay: '18.00' });
    expect(view.body.topups).toHaveLength(1);
    expect(view.body.topups[0]).toMatchObject({
      event_id: topups[0]!.event_id,
      maf_pay: '42.00',
      psn_cash_pay: '-42.00',
    });
  });

  it('crossing 50 % of the PCDI raises exactly one alert across several bills and redeliveries (004 第十八条)', async () => {
    const psn = `${RUN}P2`;
    // panzhihua 2024 pcdi 43,567.00 (EXAMPLE figure) × 0.50 = 21,783.50; the patient pays all the
    // out-of-scope cost and 60.00 of each visit: 15,060.00, then 22,120.00 (crosses), then 25,180.00
    const bills = [
      visit(psn, 'B1', '2024-03-01', '150.00', '15000.00'),
      visit(psn, 'B2', '2024-04-01', '150.00', '7000.00'),
      visit(psn, 'B3', '2024-05-01', '150.00', '3000.00'),
    ];
    for (const b of bills) await harness.publish([b]);
    await harness.publish([bills[1]!, bills[2]!]); // redelivered
    await settlementOf(psn, 'B3');
    const alerts = await eventually(
      () => {
        const a = tap.on(Topics.alertsHighBurden).filter((m) => m.key === psn);
        expect(a).toHaveLength(1);
        return a;
      },
      { timeoutMs: 60_000 },
    );
    const b2 = await settlementOf(psn, 'B2');
    expect(JSON.parse(alerts[0]!.value)).toMatchObject({
      event_type: 'high-burden',
      psn_no: psn,
      year: 2024,
      threshold: '21783.50',
      cash_self_pay: '22120.00',
      setl_id: b2.setl_id,
      article: '004 第十八条',
    });
    // the redeliveries have been answered (duplicates) and still one alert
    await eventually(async () => {
      const r = await fetch(`${harness.base}/metrics`, { headers: OPERATOR });
      expect(await r.text()).toMatch(/onebill_duplicates_total\{hospital="H51040000006"\} [2-9]/);
    });
    expect(tap.on(Topics.alertsHighBurden).filter((m) => m.key === psn)).toHaveLength(1);

    // an operator acknowledges it over HTTP, once; the change is in the operators' audit log
    const ack = await api<{ status: string; alert: { acknowledged_by: string } }>(
      `/api/v1/alerts/${psn}/2024/acknowledge`,
      { method: 'POST' },
    );
    expect(ack).toMatchObject({ status: 200, body: { status: 'acknowledged' } });
    expect(ack.body.alert.acknowledged_by).toBe('test-operator');
    expect((await api(`/api/v1/alerts/${psn}/2024/acknowledge`, { method: 'POST' })).status).toBe(
      404,
    );
    const log = await api<{ actions: Array<Record<string, unknown>> }>(
      '/api/v1/audit/actions?limit=1000',
    );
    const acks = log.body.actions.filter(
      (a) => a.action === 'alert-acknowledge' && a.target === `${psn}/2024`,
    );
    expect(acks).toHaveLength(1);
    expect(acks[0]).toMatchObject({
      actor: 'test-operator',
      role: 'operator',
      outcome: 'acknowledged',
      detail: { setl_id: b2.setl_id },
    });
  });

  it.each([
    // [admission example, identity, referred, applies] — 004 第十六条 (Panzhihua), 002 第二十六条 (Baoshan)
    ['admission-panzhihua.xml', 'tekun', '1', true],
    ['admission-panzhihua.xml', 'guer', '1', true],
    ['admission-panzhihua.xml', 'dibao', '1', true],
    ['admission-panzhihua.xml', 'dibao', '0', false],
    ['admission-panzhihua.xml', 'monitored', '1', false],
    ['admission-panzhihua.xml', 'dibao_edge', '1', false],
    ['admission-panzhihua.xml', 'illness_poor', '1', false],
    ['admission-baoshan.xml', 'tekun', '1', true],
    ['admission-baoshan.xml', 'de_facto_orphan', '1', true],
    ['admission-baoshan.xml', 'dibao', '1', true],
    ['admission-baoshan.xml', 'relapse_poor', '1', true],
    ['admission-baoshan.xml', 'relapse_poor', '0', false],
    ['admission-baoshan.xml', 'dibao_edge', '1', false],
    ['admission-baoshan.xml', 'relative_hardship_worker', '1', false],
  ] as const)(
    'deposit waiver: %s, %s, referred %s → %s',
    async (file, identity, referred, applies) => {
      waivers += 1;
      const id = `${RUN}-DW${waivers}`;
      let xml = example(file);
      xml = tag(xml, 'mdtrt_id', id);
      xml = tag(xml, 'psn_no', `${RUN}DW${waivers}`);
      xml = tag(xml, 'refl_flag', referred);
      xml = xml.replace(
        /<identities>[\s\S]*?<\/identities>|<identities\/>/,
        `<identities><identity>${identity}</identity></identities>`,
      );
      const r = await api<{
        status: string;
        deposit_waiver: {
          applies: boolean;
          category: string | null;
          article: string;
          reason: string;
        };
      }>('/api/v1/admissions', {
        method: 'POST',
        headers: { 'content-type': 'application/xml' },
        body: xml,
      });
      expect(r.status).toBe(201);
      expect(r.body.deposit_waiver.applies).toBe(applies);
      expect(r.body.deposit_waiver.category).toBe(applies ? identity : null);
      expect(r.body.deposit_waiver.article).toBe(
        hospitalOf(xml).startsWith('H5104') ? '004 第十六条' : '002 第二十六条',
      );
      expect(r.body.deposit_waiver.reason).not.toBe('');
    },
  );

  it.each([
    // 004 第六条: 特困, 孤儿 in full, 低保 and 防止返贫监测 75 % of the individual contribution
    // (2024 contribution 400.00, EXAMPLE figure residentContribution of config/figures)
    ['panzhihua', 'tekun', '400.00', '0.00'],
    ['panzhihua', 'guer', '400.00', '0.00'],
    ['panzhihua', 'dibao', '300.00', '100.00'],
    ['panzhihua', 'monitored', '300.00', '100.00'],
    ['panzhihua', 'dibao_edge', '0.00', '400.00'],
    // 002 第八条: class 1 in full; class 2 the fixed amount set by the province (200.00, EXAMPLE)
    ['baoshan', 'tekun', '400.00', '0.00'],
    ['baoshan', 'de_facto_orphan', '400.00', '0.00'],
    ['baoshan', 'dibao', '200.00', '200.00'],
    ['baoshan', 'relapse_poor', '200.00', '200.00'],
    ['baoshan', 'dibao_edge', '0.00', '400.00'],
  ] as const)('enrollment subsidy 2024: %s %s → %s', async (region, category, subsidy, pays) => {
    const r = await api<{ subsidy: string; person_pays: string; contribution: string }>(
      `/api/v1/enrollment-subsidies?year=2024&region=${region}&category=${category}`,
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ contribution: '400.00', subsidy, person_pays: pays });
  });

  it('enrollment subsidy of a person and the per-county report, from the registry', async () => {
    const people = [
      [`${RUN}S1`, 'tekun'],
      [`${RUN}S2`, 'dibao'],
      [`${RUN}S3`, 'dibao'],
    ] as const;
    for (const [psn, category] of people) {
      const r = await api<{ status: string }>('/api/v1/identity-changes', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          issuer: 'civil-affairs',
          reference: `${RUN}-${psn}`,
          psn_no: psn,
          admdvs: '510421',
          category,
          valid_from: '2023-10-01',
        }),
      });
      expect(r.status).toBe(201);
    }
    const one = await api<{ category: string; subsidy: string }>(
      `/api/v1/enrollment-subsidies?year=2024&psn_no=${RUN}S2`,
    );
    expect(one.body).toMatchObject({ category: 'dibao', subsidy: '300.00' });
    const report = await api<{
      by_category: { category: string; persons: number; total: string }[];
    }>(`/api/v1/enrollment-subsidies/report?county=510421&year=2024`);
    // 米易县 (510421): the registry holds this run's three (other runs' people may be there too)
    const tekun = report.body.by_category.find((c) => c.category === 'tekun')!;
    const dibao = report.body.by_category.find((c) => c.category === 'dibao')!;
    expect(tekun.persons).toBeGreaterThanOrEqual(1);
    expect(dibao.persons).toBeGreaterThanOrEqual(2);
    // per-person amounts times persons: 400.00 each (tekun), 300.00 each (dibao)
    expect(Number(tekun.total)).toBe(400 * tekun.persons);
    expect(Number(dibao.total)).toBe(300 * dibao.persons);
  });
  it('a mistaken identity period is withdrawn over HTTP by an operator, with a reason, and the report stops counting it', async () => {
    const psn = `${RUN}W1`;
    const posted = await api<{ change_id: string }>('/api/v1/identity-changes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        issuer: 'civil-affairs',
        reference: `${RUN}-wrong-${psn}`,
        psn_no: psn,
        admdvs: '510421',
        category: 'tekun',
        valid_from: '2024-02-01',
      }),
    });
    expect(posted.status).toBe(201);
    const before = await api<{ periods: { id: string; category: string }[] }>(
      `/api/v1/identities/${psn}?date=2024-03-01`,
    );
    expect(before.body.periods).toEqual([expect.objectContaining({ category: 'tekun' })]);
    const id = before.body.periods[0]!.id;
    const url = `/api/v1/identities/${psn}/periods/${id}/withdraw`;
    const json = { 'content-type': 'application/json' };
    // an auditor may not; no reason is refused
    const auditor = await fetch(`${harness.base}${url}`, {
      method: 'POST',
      headers: { ...CRED.header(CRED.auditor), ...json },
      body: JSON.stringify({ reason: 'x' }),
    });
    expect(auditor.status).toBe(403);
    expect((await api(url, { method: 'POST', headers: json, body: '{}' })).status).toBe(400);
    const w = await api<{ status: string; period: { category: string }; bills_to_review: [] }>(
      url,
      { method: 'POST', headers: json, body: JSON.stringify({ reason: 'wrong person' }) },
    );
    expect(w).toMatchObject({
      status: 200,
      body: { status: 'withdrawn', period: { category: 'tekun' }, bills_to_review: [] },
    });
    expect(
      (await api(url, { method: 'POST', headers: json, body: JSON.stringify({ reason: 'again' }) }))
        .status,
    ).toBe(409);
    const after = await api<{ periods: unknown[]; withdrawn: { reason: string }[] }>(
      `/api/v1/identities/${psn}?date=2024-03-01`,
    );
    expect(after.body.periods).toEqual([]);
    expect(after.body.withdrawn).toEqual([expect.objectContaining({ reason: 'wrong person' })]);
    const report = await api<{ people: { psn_no: string }[] }>(
      `/api/v1/enrollment-subsidies/report?county=510421&year=2024`,
    );
    expect(report.status).toBe(200);
    expect(report.body.people.map((p) => p.psn_no)).not.toContain(psn);
    expect((await api(`/api/v1/enrollment-subsidies?year=2024&psn_no=${psn}`)).status).toBe(404);
  });
});
