/**
 * Issue 14 item 1 end to end: upstream-settled mode through the compiled gateway, a real broker
 * and PostgreSQL. One person (a 低保 member of 城乡居民医保, Panzhihua, 攀枝花市第二人民医院, level 3,
 * referred, in the province) has, in 2024:
 *   1. an inpatient bill computed by the gateway, over Kafka;
 *   2. an inpatient bill whose insurance tiers the platform settled, XML over HTTP;
 *   3. a chronic-outpatient bill settled upstream, JSON over HTTP (hifmi_pay and hifob_pay left
 *      out: a missing tier is 0.00);
 *   4. an inpatient bill settled upstream, over Kafka;
 *   then upstream bills whose tiers, or deductible, exceed the in-scope cost (refused), and a
 *   last inpatient bill computed by the gateway (previewed, then settled), which only comes out
 *   right if the upstream bills moved the person's position as ADR 0016 decides: basic paid per
 *   cap group, the per-year deductible borne, the critical-illness base (in-scope cost −
 *   hifp_pay) and paid.
 * The upstream amounts differ from what the gateway would compute (the platform's parameters are
 * not the rule set's example ones), so a gateway that recomputed them, or left them out of the
 * position, gives other amounts.
 *
 * Amounts: rule set panzhihua-2023.2 (libs/rules/rulesets/panzhihua-2023.v1.json; its insurance
 * parameters are EXAMPLE values) and the 2024 figures (config/figures/panzhihua-2024.json:
 * monitoringIncomeStandard 7,600.00). Every assistance amount cites its article.
 */
import { type Bill, compiled, emptyAccumulators, settle } from '@onebill/engine';
import { type Db, openDb, readAccumulators } from '@onebill/ledger';
import { decodeJsonMessage, decodeXmlMessage } from '@onebill/messaging/canonical';
import type { WireSettlement } from '@onebill/messaging/wire';
import { RuleBook } from '@onebill/rules';
import { fen, newRun } from './support/bills';
import { writeCredentials } from './support/credentials';
import { eventually } from './support/eventually';
import { GatewayHarness } from './support/harness';

const CRED = writeCredentials();
const OPERATOR = CRED.header(CRED.operator);
const RUN = newRun('U');
const GROUP = `gateway-upstream-${RUN}`;
const PSN = `${RUN}P`;
/** 攀枝花市第二人民医院 (example registry): level 3, Panzhihua */
const HOSPITAL = 'H51040000002';

interface Upstream {
  act_pay_dedc?: string;
  hifp_pay?: string;
  hifmi_pay?: string;
  hifob_pay?: string;
}

interface Visit {
  id: string;
  /** 21 inpatient, 14 chronic outpatient */
  medType: '21' | '14';
  /** discharge day, 2024 */
  day: string;
  fulamt?: string;
  overlmt?: string;
  preself?: string;
  inscp: string;
  upstream?: Upstream;
}

const UPSTREAM_ORDER = ['act_pay_dedc', 'hifp_pay', 'hifmi_pay', 'hifob_pay'] as const;

/** The discharge's fields in the contract's order, amounts as given; the total is their sum. */
function fieldsOf(v: Visit): Array<[string, string]> {
  const parts = [v.fulamt ?? '0.00', v.overlmt ?? '0.00', v.preself ?? '0.00', v.inscp];
  const total = parts.reduce((s, a) => s + fen(a), 0n);
  const yuan = `${total / 100n}.${String(total % 100n).padStart(2, '0')}`;
  return [
    ['fixmedins_code', HOSPITAL],
    ['mdtrt_id', `${RUN}-${v.id}`],
    ['psn_no', PSN],
    ['insutype', '390'],
    ['med_type', v.medType],
    ['hosp_lv', '3'],
    ['begntime', `${v.day} 08:00:00`],
    ['endtime', `${v.day} 10:00:00`],
    ['refl_flag', '1'],
    ['in_prov_flag', '1'],
    ['fu_flag', '0'],
    ['cmi_flag', '0'],
    ['medfee_sumamt', yuan],
    ['fulamt_ownpay_amt', parts[0]!],
    ['overlmt_selfpay', parts[1]!],
    ['preselfpay_amt', parts[2]!],
    ['inscp_scp_amt', parts[3]!],
    ...UPSTREAM_ORDER.flatMap((k): Array<[string, string]> => {
      const a = v.upstream?.[k];
      return a === undefined ? [] : [[k, a]];
    }),
  ];
}

function xmlOf(v: Visit): string {
  const body = fieldsOf(v)
    .map(([k, a]) => `  <${k}>${a}</${k}>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<discharge version="1">
${body}
  <identities><identity>dibao</identity></identities>
</discharge>`;
}

/** The same discharge in the HTTP JSON form (`{"discharge": {…}}`, the XML's element names). */
function jsonOf(v: Visit): { discharge: Record<string, unknown> } {
  return { discharge: { ...Object.fromEntries(fieldsOf(v)), identities: ['dibao'] } };
}

// ---- the person's year -------------------------------------------------------------------------

const B1: Visit = {
  id: 'B1',
  medType: '21',
  day: '2024-02-10',
  fulamt: '1000.00',
  inscp: '20000.00',
};
const B2: Visit = {
  id: 'B2',
  medType: '21',
  day: '2024-04-12',
  overlmt: '500.00',
  inscp: '30000.00',
  // the gateway would compute (30,000.00 − 800.00) × 0.60 = 17,520.00: the platform says otherwise
  upstream: {
    act_pay_dedc: '800.00',
    hifp_pay: '17000.00',
    hifmi_pay: '4000.00',
    hifob_pay: '0.00',
  },
};
const B3: Visit = {
  id: 'B3',
  medType: '14',
  day: '2024-05-20',
  preself: '200.00',
  inscp: '8000.00',
  // hifmi_pay and hifob_pay left out (0.00); a per-year deductible of 100.00 borne upstream
  upstream: { act_pay_dedc: '100.00', hifp_pay: '5000.00' },
};
const B4: Visit = {
  id: 'B4',
  medType: '21',
  day: '2024-07-01',
  fulamt: '2000.00',
  inscp: '40000.00',
  upstream: {
    act_pay_dedc: '800.00',
    hifp_pay: '23000.00',
    hifmi_pay: '9000.00',
    hifob_pay: '0.00',
  },
};
const B5: Visit = {
  id: 'B5',
  medType: '21',
  day: '2024-09-03',
  preself: '1500.00',
  inscp: '50000.00',
};
/** 800.01 + 200.00 = 1,000.01 against an in-scope cost of 1,000.00: one fen too much */
const BAD: Visit = {
  id: 'X1',
  medType: '21',
  day: '2024-08-01',
  inscp: '1000.00',
  upstream: { act_pay_dedc: '0.00', hifp_pay: '800.01', hifmi_pay: '200.00', hifob_pay: '0.00' },
};

/** 1,000.00 − 800.00 leaves 200.00 for the deductible borne; 200.01 is one fen too much */
const BAD_DEDUCTIBLE: Visit = {
  id: 'X2',
  medType: '21',
  day: '2024-08-02',
  inscp: '1000.00',
  upstream: { act_pay_dedc: '200.01', hifp_pay: '800.00', hifmi_pay: '0.00', hifob_pay: '0.00' },
};

type Answer = WireSettlement & { status?: string; settlement_status?: string };

const stepsOf = (a: WireSettlement, fund: string): string[] | undefined =>
  a.setldetail.find((d) => d.fund === fund)?.setl_proc_info.map((s) => s.step);

/** The parts of a settled bill add up to its total, to the fen, in every way they can be added. */
function addsUp(a: WireSettlement): void {
  const s = a.setlinfo;
  expect(
    fen(s.fulamt_ownpay_amt) +
      fen(s.overlmt_selfpay) +
      fen(s.preselfpay_amt) +
      fen(s.inscp_scp_amt),
  ).toBe(fen(s.medfee_sumamt));
  expect(fen(s.hifp_pay) + fen(s.hifmi_pay) + fen(s.oth_pay) + fen(s.maf_pay)).toBe(
    fen(s.fund_pay_sumamt),
  );
  expect(a.setldetail.reduce((t, d) => t + fen(d.fund_payamt), 0n)).toBe(fen(s.fund_pay_sumamt));
  expect(fen(s.fund_pay_sumamt) + fen(s.psn_cash_pay)).toBe(fen(s.medfee_sumamt));
  expect(
    fen(s.inscp_scp_amt) -
      fen(s.hifp_pay) -
      fen(s.hifmi_pay) -
      fen(s.oth_pay) -
      fen(s.maf_pay) -
      fen(s.inscp_psn_part),
  ).toBe(0n);
}

const UPSTREAM_WARNING =
  /settled upstream .*computed medical assistance and tilted assistance only/;

/** Insurance tiers taken from the platform, assistance and tilted assistance computed here. */
function upstreamSettled(a: WireSettlement, v: Visit): void {
  const u = v.upstream!;
  expect(a.setlinfo).toMatchObject({
    act_pay_dedc: u.act_pay_dedc ?? '0.00',
    hifp_pay: u.hifp_pay ?? '0.00',
    hifmi_pay: u.hifmi_pay ?? '0.00',
    oth_pay: u.hifob_pay ?? '0.00',
  });
  for (const fund of ['basic', 'critical']) {
    const line = a.setldetail.find((d) => d.fund === fund)!;
    expect(line.setl_proc_info.map((s) => s.step)).toEqual(['upstream']);
    expect(line.setl_proc_info[0]?.note).toMatch(
      /settled upstream by the medical-insurance platform/,
    );
  }
  expect(a.setldetail.find((d) => d.fund === 'basic')?.fund_payamt).toBe(u.hifp_pay ?? '0.00');
  expect(a.setldetail.find((d) => d.fund === 'critical')?.fund_payamt).toBe(u.hifmi_pay ?? '0.00');
  // computed by the gateway: its own steps, with their articles
  expect(stepsOf(a, 'assistance')).toEqual(['deductible', 'ratio', 'cap']);
  expect(stepsOf(a, 'tilted')).toEqual(['threshold', 'ratio', 'cap']);
  expect(a.warnings.some((w) => UPSTREAM_WARNING.test(w))).toBe(true);
  addsUp(a);
}

/** Every tier computed by the gateway: no step or warning says upstream. */
function computedHere(a: WireSettlement): void {
  expect(stepsOf(a, 'basic')).toEqual(['deductible', 'ratio', 'cap']);
  expect(stepsOf(a, 'critical')?.[0]).toBe('deductible');
  expect(stepsOf(a, 'critical')).toContain('segment');
  expect(a.setldetail.flatMap((d) => d.setl_proc_info).some((s) => s.step === 'upstream')).toBe(
    false,
  );
  expect(a.warnings.some((w) => /upstream/.test(w))).toBe(false);
  addsUp(a);
}

describe('upstream-settled mode end to end: one person, both modes, Kafka and HTTP, XML and JSON (real Kafka and PostgreSQL)', () => {
  const rules = RuleBook.load();
  let harness: GatewayHarness;
  let db: Db;
  /** the bills as the gateway settled them, in order: the engine oracle re-settles these */
  const settledBills: Bill[] = [];

  const api = <T>(path: string, init: RequestInit = {}) => harness.api<T>(OPERATOR, path, init);

  const postXml = (path: string, xml: string) =>
    api<Answer & { errors?: Array<Record<string, string>>; reject_id?: string }>(path, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: xml,
    });

  const postJson = (path: string, body: object) =>
    api<Answer>(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  /** The settlement in force for a visit, as stored (GET by bill), once it is there. */
  const storedOf = (v: Visit) =>
    eventually(async () => {
      const r = await api<Answer>(
        `/api/v1/settlements?fixmedins_code=${HOSPITAL}&mdtrt_id=${RUN}-${v.id}`,
      );
      if (r.status !== 200) throw new Error(`${v.id} not settled yet: ${r.status}`);
      return r.body;
    });

  /** The stored settlement by its id (the result as kept in the ledger). */
  const byId = async (setlId: string): Promise<Answer> => {
    const r = await api<Answer>(`/api/v1/settlements/${setlId}`);
    expect(r.status).toBe(200);
    return r.body;
  };

  const billOfXml = (xml: string): Bill => {
    const d = decodeXmlMessage(xml);
    if (!d.ok || d.message.kind !== 'discharge') throw new Error('test bill does not decode');
    return d.message.bill;
  };
  const billOfJson = (json: object): Bill => {
    const d = decodeJsonMessage(json);
    if (!d.ok || d.message.kind !== 'discharge') throw new Error('test bill does not decode');
    return d.message.bill;
  };

  /** What the engine gives for the same bills settled in order from an empty year. */
  const oracle = (bills: Bill[]) => {
    let accumulators = emptyAccumulators(2024);
    const results = bills.map((bill) => {
      const r = settle({
        bill,
        accumulators,
        ruleSet: compiled(rules.resolve('panzhihua', bill.dischargeDate)),
      });
      accumulators = r.accumulators;
      return r;
    });
    return { results, accumulators };
  };

  const position = async () => {
    const a = await readAccumulators(db, PSN, 2024);
    expect(a).not.toBeNull();
    return a!;
  };

  beforeAll(async () => {
    db = await openDb({ databaseUrl: process.env.DATABASE_URL ?? '' });
    harness = await GatewayHarness.open(GROUP, CRED.file);
  });

  afterAll(async () => {
    await harness?.close();
    await db?.close();
  });

  it('1. a bill the gateway computes, over Kafka', async () => {
    const xml = xmlOf(B1);
    await harness.publish([xml]);
    const a = await storedOf(B1);
    settledBills.push(billOfXml(xml));
    expect(a.setlinfo).toMatchObject({
      act_pay_dedc: '800.00', // basic, per visit at level 3 (example values)
      hifp_pay: '11520.00', // basic (20,000.00 − 800.00) × 0.60 (example values)
      // critical illness: 20,000.00 − 11,520.00 = 8,480.00 over the 低保 deductible
      // 12,000.00 × 0.50 = 6,000.00: 2,480.00 × (0.60 + 0.05) = 1,612.00 (004 第八条 tilt; example values)
      hifmi_pay: '1612.00',
      // 8,480.00 − 1,612.00 = 6,868.00 × 0.70 = 4,807.60 (004 第十二条); burden 2,060.40 is
      // under the monitoring standard 7,600.00: no tilted assistance (004 第十三条)
      maf_pay: '4807.60',
      inscp_psn_part: '2060.40',
      psn_cash_pay: '3060.40', // 2,060.40 + 1,000.00 out of scope
    });
    computedHere(a);
    expect(a.setldetail.find((d) => d.fund === 'tilted')?.fund_payamt).toBe('0.00'); // 004 第十三条
  });

  it('2. an upstream-settled bill in XML over HTTP', async () => {
    const xml = xmlOf(B2);
    const r = await postXml('/api/v1/settlements', xml);
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('settled');
    settledBills.push(billOfXml(xml));
    // 30,000.00 − 17,000.00 − 4,000.00 = 9,000.00 × 0.70 = 6,300.00 (004 第十二条); the year's
    // burden 2,060.40 + 2,700.00 = 4,760.40 stays under 7,600.00: tilted 0.00 (004 第十三条)
    const expected = { maf_pay: '6300.00', inscp_psn_part: '2700.00', psn_cash_pay: '3200.00' };
    expect(r.body.setlinfo).toMatchObject(expected);
    upstreamSettled(r.body, B2);
    const stored = await byId(r.body.setlinfo.setl_id!);
    expect(stored.setlinfo).toMatchObject(expected);
    upstreamSettled(stored, B2);
    expect(stored.setldetail).toEqual(r.body.setldetail);
  });

  it('3. an upstream-settled bill in JSON over HTTP, missing tiers taken as 0.00', async () => {
    const json = jsonOf(B3);
    expect(json.discharge).not.toHaveProperty('hifmi_pay');
    const r = await postJson('/api/v1/settlements', json);
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('settled');
    settledBills.push(billOfJson(json));
    // chronic outpatient: 8,000.00 − 5,000.00 = 3,000.00 × 0.70 = 2,100.00 (004 第十二条); burden
    // 4,760.40 + 900.00 = 5,660.40 under 7,600.00: tilted 0.00 (004 第十三条)
    const expected = { maf_pay: '2100.00', inscp_psn_part: '900.00', psn_cash_pay: '1100.00' };
    expect(r.body.setlinfo).toMatchObject(expected);
    upstreamSettled(r.body, B3);
    expect(r.body.visit_class).toBe('chronic-outpatient');
    const stored = await byId(r.body.setlinfo.setl_id!);
    expect(stored.setlinfo).toMatchObject(expected);
    upstreamSettled(stored, B3);
  });

  it('4. an upstream-settled bill over Kafka', async () => {
    const xml = xmlOf(B4);
    await harness.publish([xml]);
    const a = await storedOf(B4);
    settledBills.push(billOfXml(xml));
    // 40,000.00 − 23,000.00 − 9,000.00 = 8,000.00 × 0.70 = 5,600.00 (004 第十二条); burden
    // 5,660.40 + 2,400.00 = 8,060.40, 460.40 over 7,600.00 × 0.50 = 230.20 (004 第十三条)
    expect(a.setlinfo).toMatchObject({
      maf_pay: '5830.20', // 5,600.00 + 230.20 (004 第十二条, 第十三条)
      inscp_psn_part: '2169.80',
      psn_cash_pay: '4169.80', // 2,169.80 + 2,000.00 out of scope
    });
    expect(a.setldetail.find((d) => d.fund === 'assistance')?.fund_payamt).toBe('5600.00'); // 004 第十二条
    expect(a.setldetail.find((d) => d.fund === 'tilted')?.fund_payamt).toBe('230.20'); // 004 第十三条
    upstreamSettled(a, B4);
  });

  it('the position after the mix is what settling the same bills in order gives', async () => {
    expect(settledBills).toHaveLength(4);
    const stored = await position();
    // the engine, fed the very bills in the same order, ends where the gateway's ledger is
    const o = oracle(settledBills);
    expect(stored).toEqual(o.accumulators);
    // and each stored answer is the engine's for the position before it
    for (const [i, v] of [B1, B2, B3, B4].entries()) {
      expect((await storedOf(v)).setlinfo).toMatchObject({
        hifp_pay: o.results[i]!.setlinfo.hifpPay,
        hifmi_pay: o.results[i]!.setlinfo.hifmiPay,
        maf_pay: o.results[i]!.setlinfo.mafPay,
        psn_cash_pay: o.results[i]!.setlinfo.psnCashPay,
      });
    }
    // ADR 0016: the upstream tiers move the position as the gateway's own would have
    expect(stored).toMatchObject({
      // per-visit inpatient deductibles are not kept; the chronic per-year one borne upstream is
      basicDeductibleUsed: { chronic: '100.00' },
      basicPaid: { pooled: '56520.00' }, // 11,520.00 + 17,000.00 + 5,000.00 + 23,000.00
      // in-scope cost − hifp_pay: 8,480.00 + 13,000.00 + 3,000.00 + 17,000.00
      criticalBase: '41480.00',
      criticalPaid: '14612.00', // 1,612.00 + 4,000.00 + 0.00 + 9,000.00
      commercialBase: '0.00',
      commercialPaid: '0.00',
      // 4,807.60 + 6,300.00 + 2,100.00 + 5,600.00 (004 第十二条, cap 70,000.00 not reached)
      assistancePaid: { 'inpatient-chronic': '18807.60' },
      tiltedBurden: '8060.40', // 2,060.40 + 2,700.00 + 900.00 + 2,400.00 (004 第十三条)
      tiltedPaid: '230.20', // 004 第十三条
      inscpSelfPay: '7830.20', // 2,060.40 + 2,700.00 + 900.00 + 2,169.80
      cashSelfPay: '11530.20', // 3,060.40 + 3,200.00 + 1,100.00 + 4,169.80
    });
  });

  it('refuses upstream tiers or a deductible that exceed the in-scope cost by one fen, naming the field and the rule, and keeps the position', async () => {
    const before = await position();
    const r = await postXml('/api/v1/settlements', xmlOf(BAD));
    expect(r.status).toBe(422);
    expect(r.body.status).toBe('rejected');
    expect(r.body.errors).toEqual([
      expect.objectContaining({
        code: 'UPSTREAM_DOES_NOT_ADD_UP',
        field: 'hifp_pay',
        rule: expect.stringContaining('hifp_pay + hifmi_pay + hifob_pay ≤ inscp_scp_amt') as string,
        message: expect.stringContaining('exceed the in-scope cost 1000.00') as string,
      }),
    ]);
    // kept with its reason for the operator, nothing settled, the person's position unchanged
    const rejected = await api<Record<string, unknown>>(`/api/v1/rejects/${r.body.reject_id}`);
    expect(rejected.status).toBe(200);
    expect(JSON.stringify(rejected.body)).toContain('UPSTREAM_DOES_NOT_ADD_UP');
    const none = await api(`/api/v1/settlements?fixmedins_code=${HOSPITAL}&mdtrt_id=${RUN}-X1`);
    expect(none.status).toBe(404);
    // the deductible borne upstream, not the tiers, is at fault: that field is named
    const d = await postXml('/api/v1/settlements', xmlOf(BAD_DEDUCTIBLE));
    expect(d.status).toBe(422);
    expect(d.body.errors).toEqual([
      expect.objectContaining({
        code: 'UPSTREAM_DOES_NOT_ADD_UP',
        field: 'act_pay_dedc',
        rule: expect.stringContaining('act_pay_dedc ≤ inscp_scp_amt − hifp_pay') as string,
        message:
          'the deductible borne upstream 200.01 exceeds what hifp_pay 800.00 leaves of the in-scope cost 1000.00 (200.00)',
      }),
    ]);
    expect(await position()).toEqual(before);
  });

  it('a bill computed after the upstream ones sees the position they left (preview, then settle)', async () => {
    const xml = xmlOf(B5);
    // inpatient 50,000.00: basic (50,000.00 − 800.00) × 0.60 = 29,520.00 (example values), leaving
    // 20,480.00. Critical illness on the year's base 41,480.00 → 61,960.00, i.e. 35,480.00 →
    // 55,960.00 above the 低保 deductible 6,000.00: 14,520.00 × 0.65 = 9,438.00 up to 50,000.00,
    // 5,960.00 × 0.70 = 4,172.00 above (004 第八条 tilt; example values): 13,610.00. Had the upstream
    // bills not counted in the base (8,480.00 → 28,960.00) it would be 20,480.00 × 0.65 = 13,312.00.
    // 20,480.00 − 13,610.00 = 6,870.00 × 0.70 = 4,809.00 (004 第十二条); burden 8,060.40 →
    // 10,121.40 against 7,600.00: 2,061.00 × 0.50 = 1,030.50 (004 第十三条)
    const expected = {
      act_pay_dedc: '800.00',
      hifp_pay: '29520.00',
      hifmi_pay: '13610.00',
      maf_pay: '5839.50', // 4,809.00 + 1,030.50 (004 第十二条, 第十三条)
      inscp_psn_part: '1030.50',
      psn_cash_pay: '2530.50', // 1,030.50 + 1,500.00 out of scope
    };
    const preview = await postXml('/api/v1/settlements/preview', xml);
    expect(preview.status).toBe(200);
    expect(preview.body.setlinfo).toMatchObject(expected);
    computedHere(preview.body);
    const r = await postXml('/api/v1/settlements', xml);
    expect(r.status).toBe(201);
    settledBills.push(billOfXml(xml));
    expect(r.body.setlinfo).toMatchObject(expected);
    expect(r.body.setldetail).toEqual(preview.body.setldetail);
    computedHere(r.body);
    expect(r.body.setldetail.find((d) => d.fund === 'tilted')?.fund_payamt).toBe('1030.50'); // 004 第十三条

    const stored = await position();
    expect(stored).toEqual(oracle(settledBills).accumulators);
    expect(stored).toMatchObject({
      basicPaid: { pooled: '86040.00' }, // 56,520.00 + 29,520.00
      criticalBase: '61960.00',
      criticalPaid: '28222.00', // 14,612.00 + 13,610.00
      assistancePaid: { 'inpatient-chronic': '23616.60' }, // + 4,809.00 (004 第十二条)
      tiltedBurden: '10121.40', // 004 第十三条
      tiltedPaid: '1260.70', // 230.20 + 1,030.50 (004 第十三条)
      cashSelfPay: '14060.70',
    });
  });
});
