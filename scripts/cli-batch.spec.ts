/**
 * `npm run settle -- --batch` and `npm run audit:cli -- funds --spending` run as processes (issue 14
 * item 5), as npm runs them (tsx on the script): the library calls are tested in
 * scripts/settle-lib.spec.ts and libs/audit/src/spending.spec.ts; here the command line, what it
 * prints and its exit status. Pure code: no broker, and no store is opened (PGLITE_DIR points at a
 * folder that must still not exist afterwards).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sumAmounts } from '@onebill/money';

const ROOT = join(__dirname, '..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const TMP = mkdtempSync(join(tmpdir(), 'cli-batch-'));
/** The embedded store the CLIs would open; none of these commands may create it. */
const NO_STORE = join(TMP, 'pglite-never-opened');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(script: string, args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, ONEBILL_TOKEN: '', PGLITE_DIR: NO_STORE };
  // the shipped rule sets, figures, registry and fund data, whatever the caller's shell says
  for (const k of ['ONEBILL_FIGURES_DIR', 'ONEBILL_REGISTRY', 'ONEBILL_FUNDS_DIR', 'DATABASE_URL'])
    delete env[k];
  return new Promise((resolve) => {
    const child = execFile(
      TSX,
      [script, ...args],
      { cwd: ROOT, env, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

const settleCli = (args: string[]): Promise<Run> => run('scripts/settle.ts', args);
const auditCli = (args: string[]): Promise<Run> => run('scripts/audit.ts', args);

const jsonLines = (stdout: string): Record<string, unknown>[] =>
  stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

// ------------------------------------------------------------------------------- the bills

/** One discharge in the HTTP API's JSON form; the keys in the XML's element order. */
function discharge(
  mdtrtId: string,
  psnNo: string,
  medType: '11' | '21',
  begin: string,
  end: string,
  inscp: string,
  identity: string,
): Record<string, unknown> {
  return {
    fixmedins_code: 'H51040000006', // 东区银江镇卫生院, Panzhihua, hospital level 1 (registry)
    mdtrt_id: mdtrtId,
    psn_no: psnNo,
    insutype: '390',
    med_type: medType,
    hosp_lv: '1',
    begntime: begin,
    endtime: end,
    refl_flag: '1',
    in_prov_flag: '1',
    fu_flag: '0',
    cmi_flag: '0',
    medfee_sumamt: inscp,
    fulamt_ownpay_amt: '0.00',
    overlmt_selfpay: '0.00',
    preselfpay_amt: '0.00',
    inscp_scp_amt: inscp,
    identities: { identity: [identity] },
  };
}

const PM = 'CLI-PM'; // 防止返贫监测对象 (monitored): two inpatient stays in 2024, one in 2025
const PD = 'CLI-PD'; // 低保对象 (dibao): one outpatient visit between them
const BILLS = [
  discharge(
    'CLI-M-1',
    PM,
    '21',
    '2024-03-01 09:00:00',
    '2024-03-08 10:00:00',
    '2000.00',
    'monitored',
  ),
  discharge('CLI-D-1', PD, '11', '2024-05-11 08:30:00', '2024-05-11 11:45:00', '1000.00', 'dibao'),
  discharge(
    'CLI-M-2',
    PM,
    '21',
    '2024-06-03 09:00:00',
    '2024-06-20 10:00:00',
    '200000.00',
    'monitored',
  ),
  discharge(
    'CLI-M-3',
    PM,
    '21',
    '2025-02-03 09:00:00',
    '2025-02-20 10:00:00',
    '200000.00',
    'monitored',
  ),
];

const ndjson = (bills: Record<string, unknown>[]): string =>
  bills.map((b) => JSON.stringify({ discharge: b })).join('\n') + '\n';

function xmlOf(b: Record<string, unknown>): string {
  const body = Object.entries(b)
    .map(([k, v]) =>
      k === 'identities'
        ? `  <identities>${(v as { identity: string[] }).identity.map((i) => `<identity>${i}</identity>`).join('')}</identities>`
        : `  <${k}>${String(v)}</${k}>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<discharge version="1">\n${body}\n</discharge>\n`;
}

/**
 * What each bill must come to, derived from the rule set (libs/rules/rulesets/panzhihua-2023.v1.json)
 * and the example figures (config/figures/panzhihua-2024.json: pcdi 43,567.00, monitoring income
 * standard 7,600.00; -2025.json: 45,640.00 and 7,900.00). Basic and critical-illness insurance are
 * the rule set's EXAMPLE values (resident 390, level-1 inpatient: deductible 200.00 per visit,
 * 85 %; critical illness: 12,000.00 a year on the year's personal part after basic, 60 % up to
 * 50,000.00 above it). Every ratio is rounded half-up to the fen once (docs/adr/0002).
 */
const EXPECTED = [
  {
    // CLI-M-1 (PM, 2024), 2,000.00 in scope, nothing before it this year
    act_pay_dedc: '200.00', // basic: level-1 inpatient deductible, per visit (example values)
    hifp_pay: '1530.00', // basic: (2,000.00 − 200.00) × 85 % (example values)
    hifmi_pay: '0.00', // critical: year's base 0.00 → 470.00, below 12,000.00 (example values)
    assistance: '0.00', // 004 第十二条: 470.00 all within the deductible 5 % × 43,567.00 = 2,178.35
    tilted: '0.00', // 004 第十三条: burden 0.00 → 470.00, below 7,600.00
    maf_pay: '0.00',
    fund_pay_sumamt: '1530.00',
    psn_cash_pay: '470.00',
  },
  {
    // CLI-D-1 (PD, 2024), 1,000.00 outpatient: PM's bills do not touch PD's position
    act_pay_dedc: '0.00', // basic: outpatient deductible 0.00 (example values)
    hifp_pay: '400.00', // basic: 1,000.00 × 60 % = 600.00, capped at 400.00 a year (example values)
    hifmi_pay: '0.00', // critical illness covers inpatient and chronic visits only
    assistance: '420.00', // 004 第十条: 低保 70 % of 600.00 (cap 800.00 a year)
    tilted: '0.00', // 004 第十三条: burden 0.00 → 180.00, below 7,600.00
    maf_pay: '420.00',
    fund_pay_sumamt: '820.00',
    psn_cash_pay: '180.00',
  },
  {
    // CLI-M-2 (PM, 2024), 200,000.00 in scope, after CLI-M-1: every year-to-date figure moved
    act_pay_dedc: '200.00', // basic: per visit, CLI-M-1 does not consume it (example values)
    hifp_pay: '169830.00', // basic: (200,000.00 − 200.00) × 85 %; personal 30,170.00 (example values)
    // critical: base 470.00 (CLI-M-1) → 30,640.00; 18,640.00 above 12,000.00 × 60 % (example
    // values). Alone it would be (30,170.00 − 12,000.00) × 60 % = 10,902.00.
    hifmi_pay: '11184.00',
    // 004 第十二条: personal 30,170.00 − 11,184.00 = 18,986.00; deductible left 2,178.35 − 470.00
    // (CLI-M-1) = 1,708.35; (18,986.00 − 1,708.35) × 65 % = 11,230.4725 → 11,230.47 (cap 70,000.00)
    assistance: '11230.47',
    // 004 第十三条: burden 470.00 (CLI-M-1) → 470.00 + 18,986.00 − 11,230.47 = 8,225.53;
    // (8,225.53 − 7,600.00) × 50 % = 312.765 → 312.77 (cap 20,000.00)
    tilted: '312.77',
    maf_pay: '11543.24', // 004 第十二条 + 第十三条: 11,230.47 + 312.77
    fund_pay_sumamt: '192557.24', // 169,830.00 + 11,184.00 + 11,543.24
    psn_cash_pay: '7442.76', // 200,000.00 − 192,557.24
  },
  {
    // CLI-M-3 (PM, 2025): a new calendar year starts from nothing, under the 2025 figures
    act_pay_dedc: '200.00', // basic: per visit (example values)
    hifp_pay: '169830.00', // basic: (200,000.00 − 200.00) × 85 % (example values)
    hifmi_pay: '10902.00', // critical: base 0.00 → 30,170.00; 18,170.00 × 60 % (example values)
    // 004 第十二条: deductible 5 % × 45,640.00 = 2,282.00; (30,170.00 − 10,902.00 − 2,282.00) × 65 %
    assistance: '11040.90',
    // 004 第十三条: burden 0.00 → 19,268.00 − 11,040.90 = 8,227.10; (8,227.10 − 7,900.00) × 50 %
    tilted: '163.55',
    maf_pay: '11204.45', // 004 第十二条 + 第十三条: 11,040.90 + 163.55
    fund_pay_sumamt: '191936.45', // 169,830.00 + 10,902.00 + 11,204.45
    psn_cash_pay: '8063.55', // 200,000.00 − 191,936.45
  },
];

/** What a result line says, in the terms of EXPECTED. */
function amountsOf(line: Record<string, unknown>) {
  const si = line.setlinfo as Record<string, string>;
  const detail = line.setldetail as { fund: string; fund_payamt: string }[];
  const fund = (f: string): string | undefined => detail.find((d) => d.fund === f)?.fund_payamt;
  return {
    act_pay_dedc: si.act_pay_dedc,
    hifp_pay: si.hifp_pay,
    hifmi_pay: si.hifmi_pay,
    assistance: fund('assistance'),
    tilted: fund('tilted'),
    maf_pay: si.maf_pay,
    fund_pay_sumamt: si.fund_pay_sumamt,
    psn_cash_pay: si.psn_cash_pay,
  };
}

describe('npm run settle -- --batch (a process)', () => {
  let fromNdjson: Run;
  let fromXmlDir: Run;
  let ndjsonFile: string;

  beforeAll(async () => {
    ndjsonFile = join(TMP, 'bills.ndjson');
    writeFileSync(ndjsonFile, ndjson(BILLS));
    const dir = join(TMP, 'bills-xml');
    mkdirSync(dir);
    // taken in name order: 01-…, 02-…, the order of the NDJSON lines
    BILLS.forEach((b, i) =>
      writeFileSync(join(dir, `0${i + 1}-${String(b.mdtrt_id)}.xml`), xmlOf(b)),
    );
    writeFileSync(join(dir, 'README.txt'), 'not a bill: only *.xml files are read');
    [fromNdjson, fromXmlDir] = await Promise.all([
      settleCli(['--batch', ndjsonFile]),
      settleCli(['--batch', dir]),
    ]);
  });

  it('prints one JSON result per bill in order, then the summary, and exits 0', () => {
    expect(fromNdjson.code).toBe(0);
    // stderr: one line, the funds and the patients' cash being the sums of the bills' (below)
    const said =
      /^settled 4 of 4 bills \(0 rejected\) for 2 persons in \d+\.\d\d s; funds (\S+), patients (\S+)\n$/.exec(
        fromNdjson.stderr,
      );
    expect(said?.slice(1)).toEqual([
      sumAmounts(EXPECTED.map((e) => e.fund_pay_sumamt)),
      sumAmounts(EXPECTED.map((e) => e.psn_cash_pay)),
    ]);
    const lines = jsonLines(fromNdjson.stdout);
    expect(lines).toHaveLength(BILLS.length + 1);
    const results = lines.slice(0, BILLS.length);
    expect(results.map((l) => [l.source, l.ok])).toEqual([
      ['bills.ndjson:1', true],
      ['bills.ndjson:2', true],
      ['bills.ndjson:3', true],
      ['bills.ndjson:4', true],
    ]);
    expect(results.map((l) => (l.setlinfo as Record<string, string>).mdtrt_id)).toEqual(
      BILLS.map((b) => b.mdtrt_id),
    );
    expect(results.map(amountsOf)).toEqual(EXPECTED);
    // the rule-set version of each bill's year, with that year's figures
    expect(results.map((l) => l.rule_set_version)).toEqual([
      'panzhihua-2023.2+figures-2024.1',
      'panzhihua-2023.2+figures-2024.1',
      'panzhihua-2023.2+figures-2024.1',
      'panzhihua-2023.2+figures-2025.1',
    ]);
  });

  it('the second bill of a person in a year is settled from the first one’s position', () => {
    const m2 = jsonLines(fromNdjson.stdout)[2] as Record<string, unknown>;
    const assistance = (
      m2.setldetail as { fund: string; setl_proc_info: Record<string, string>[] }[]
    ).find((d) => d.fund === 'assistance');
    // 004 第十二条: the deductible 2,178.35, of which CLI-M-1 used 470.00; 1,708.35 used now
    expect(assistance?.setl_proc_info.find((s) => s.step === 'deductible')).toMatchObject({
      base: '18986.00',
      amount: '1708.35',
      deductible: '2178.35',
      note: expect.stringContaining('470.00 used before') as unknown,
    });
  });

  it('the summary: counts, totals that are the sums of the lines, each person’s position per year', () => {
    const lines = jsonLines(fromNdjson.stdout);
    const { summary } = lines[BILLS.length] as { summary: Record<string, unknown> };
    const total = (k: keyof (typeof EXPECTED)[number]) => sumAmounts(EXPECTED.map((e) => e[k]));
    expect(summary).toMatchObject({
      bills: 4,
      settled: 4,
      rejected: 0,
      persons: 2,
      rule_set_versions: ['panzhihua-2023.2+figures-2024.1', 'panzhihua-2023.2+figures-2025.1'],
      totals: {
        medfee_sumamt: sumAmounts(BILLS.map((b) => b.medfee_sumamt as string)),
        hifp_pay: total('hifp_pay'),
        hifmi_pay: total('hifmi_pay'),
        oth_pay: '0.00', // no bill is enrolled in commercial insurance (cmi_flag 0)
        maf_pay: total('maf_pay'),
        fund_pay_sumamt: total('fund_pay_sumamt'),
        psn_cash_pay: total('psn_cash_pay'),
      },
    });
    const t = summary.totals as Record<string, string>;
    // the parts add up to the bills, to the fen
    expect(sumAmounts([t.fund_pay_sumamt as string, t.psn_cash_pay as string])).toBe(
      t.medfee_sumamt,
    );
    expect(sumAmounts([t.hifp_pay, t.hifmi_pay, t.oth_pay, t.maf_pay] as string[])).toBe(
      t.fund_pay_sumamt,
    );
    const positions = summary.positions as Record<string, Record<string, Record<string, unknown>>>;
    expect(Object.keys(positions)).toEqual([PD, PM]);
    expect(Object.keys(positions[PM] ?? {})).toEqual(['2024', '2025']);
    expect(positions[PM]?.['2024']).toMatchObject({
      basicPaid: { pooled: '171360.00' }, // 1,530.00 + 169,830.00 (example values)
      criticalBase: '30640.00', // 470.00 + 30,170.00 (example values)
      criticalPaid: '11184.00',
      assistanceDeductibleUsed: { 'inpatient-chronic': '2178.35' }, // 004 第十二条: all of it
      assistancePaid: { 'inpatient-chronic': '11230.47' }, // 004 第十二条
      tiltedBurden: '8225.53', // 004 第十三条
      tiltedPaid: '312.77', // 004 第十三条
      cashSelfPay: '7912.76', // 470.00 + 7,442.76
    });
    expect(positions[PM]?.['2025']).toMatchObject({
      criticalBase: '30170.00', // a new year (example values)
      assistanceDeductibleUsed: { 'inpatient-chronic': '2282.00' }, // 004 第十二条
      tiltedBurden: '8227.10', // 004 第十三条
    });
    expect(positions[PD]?.['2024']).toMatchObject({
      basicPaid: { 'ordinary-outpatient': '400.00' }, // example values
      assistancePaid: { 'ordinary-outpatient': '420.00' }, // 004 第十条
    });
  });

  it('a directory of the same bills as XML files gives the same results and summary', () => {
    expect(fromXmlDir.code).toBe(0);
    const xml = jsonLines(fromXmlDir.stdout);
    const json = jsonLines(fromNdjson.stdout);
    expect(xml.slice(0, BILLS.length).map((l) => l.source)).toEqual(
      BILLS.map((b, i) => `0${i + 1}-${String(b.mdtrt_id)}.xml`),
    );
    const withoutSource = (l: Record<string, unknown>) => ({ ...l, source: undefined });
    expect(xml.map(withoutSource)).toEqual(json.map(withoutSource));
    expect(xml.slice(0, BILLS.length).map(amountsOf)).toEqual(EXPECTED);
  });

  it('a line with an unknown key is reported on its line naming the key; the rest settle; exit 1', async () => {
    // a bill that cannot be settled is the bill's problem, not bad input: the batch goes on and
    // says so on its line (scripts/settle.ts, README "--batch": exit 1 when some are rejected)
    const file = join(TMP, 'colour.ndjson');
    const bad = { ...BILLS[1], colour: 'red' };
    writeFileSync(file, ndjson([BILLS[0] as Record<string, unknown>, bad]));
    const r = await settleCli(['--batch', file]);
    expect(r.code).toBe(1);
    const lines = jsonLines(r.stdout);
    expect(lines[0]).toMatchObject({ source: 'colour.ndjson:1', ok: true });
    expect(lines[0] && amountsOf(lines[0])).toEqual(EXPECTED[0]);
    expect(lines[1]).toEqual({
      source: 'colour.ndjson:2',
      ok: false,
      errors: [expect.objectContaining({ code: 'UNKNOWN_FIELD', field: 'colour' })],
    });
    expect(JSON.stringify(lines[1])).toContain('colour');
    expect(lines[2]).toMatchObject({ summary: { bills: 2, settled: 1, rejected: 1, persons: 1 } });
    expect(r.stderr).toMatch(/^settled 1 of 2 bills \(1 rejected\) for 1 persons in [^\n]*\n$/);
  });

  it('an operator file with an unknown key stops the batch: one line naming it, exit 2', async () => {
    const params = join(TMP, 'panzhihua-2024.json');
    writeFileSync(
      params,
      JSON.stringify({
        region: 'panzhihua',
        year: 2024,
        revision: 2,
        example: true,
        note: 'test',
        colour: 'red',
        figures: {
          pcdi: { amount: '43567.00', what: 'PCDI' },
          monitoringIncomeStandard: { amount: '7600.00', what: 'monitoring standard' },
        },
      }),
    );
    const r = await settleCli(['--batch', ndjsonFile, '--params', params]);
    expect({ code: r.code, stdout: r.stdout, lines: r.stderr.trimEnd().split('\n') }).toEqual({
      code: 2,
      stdout: '', // nothing settled
      lines: [
        expect.stringContaining(
          `${params}: unknown key 'colour'; known: region, year, revision, example, note, figures`,
        ),
      ],
    });
  });
});

// --------------------------------------------------------------------------- funds --spending

describe('npm run audit:cli -- funds --spending (a process)', () => {
  it('computes the statement of the given spending, parts adding up to the totals, exit 0', async () => {
    const file = join(TMP, 'spending.json');
    writeFileSync(
      file,
      JSON.stringify({
        region: 'baoshan',
        year: 2026,
        note: 'what if',
        spending: {
          '530502': '12360000.00',
          '530521': '4700000.01',
          '530523': '4200000.01',
          '530524': '4800000.00',
        },
      }),
    );
    const r = await auditCli(['funds', '--spending', file]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const out = JSON.parse(r.stdout) as {
      kind: string;
      spendingSource: string;
      statement: {
        region: string;
        year: number;
        cityAccumulatedSurplus: string;
        citySurplusUsed: string;
        citySurplusLeft: string;
        rows: Record<string, string>[];
        totals: Record<string, string>;
      };
    };
    expect(out).toMatchObject({ kind: 'fund-statement', spendingSource: file });
    const s = out.statement;
    expect(s).toMatchObject({
      region: 'baoshan',
      year: 2026,
      cityAccumulatedSurplus: '2000000.00',
    });
    const pick = (r: Record<string, string>) => ({
      county: r.county,
      spending: r.spending,
      overspend: r.overspend,
      band: r.band,
      cityShare: r.cityShare,
      countyShare: r.countyShare,
      surplus: r.surplus,
    });
    // budgets are config/funds/baoshan-2026.json's EXAMPLE figures; the bands are 002 第二十一条
    expect(s.rows.map(pick)).toEqual([
      // 隆阳区 budget 12,000,000.00: overspend 360,000.00 = 3 % exactly, 3 %（含）以内: the city
      // covers it all from its accumulated surplus (002 第二十一条（一）)
      {
        county: '530502',
        spending: '12360000.00',
        overspend: '360000.00',
        band: 'city-all',
        cityShare: '360000.00',
        countyShare: '0.00',
        surplus: '0.00',
      },
      // 施甸县 budget 4,500,000.00: overspend 200,000.01 = 4.44 %, 3 %–5 %（含）: city 50 % =
      // 100,000.005 → 100,000.01 (half-up, the one rounding point), county the rest 100,000.00
      // (002 第二十一条（二）)
      {
        county: '530521',
        spending: '4700000.01',
        overspend: '200000.01',
        band: 'half',
        cityShare: '100000.01',
        countyShare: '100000.00',
        surplus: '0.00',
      },
      // 龙陵县 budget 4,000,000.00: overspend 200,000.01, one fen above 5 % (200,000.00): the
      // county bears it all (002 第二十一条（三）)
      {
        county: '530523',
        spending: '4200000.01',
        overspend: '200000.01',
        band: 'county-all',
        cityShare: '0.00',
        countyShare: '200000.01',
        surplus: '0.00',
      },
      // 昌宁县 budget 5,000,000.00, spent 4,800,000.00: 200,000.00 carried forward (002 第二十一条)
      {
        county: '530524',
        spending: '4800000.00',
        overspend: '0.00',
        band: 'none',
        cityShare: '0.00',
        countyShare: '0.00',
        surplus: '200000.00',
      },
      // 腾冲市 not in the file: spent 0.00, its budget 9,000,000.00 unspent (002 第二十一条)
      {
        county: '530581',
        spending: '0.00',
        overspend: '0.00',
        band: 'none',
        cityShare: '0.00',
        countyShare: '0.00',
        surplus: '9000000.00',
      },
    ]);
    // the parts add up, to the fen: each county's city + county share is its overspend, the
    // totals are the sums of the rows, and the surplus used plus what is left is the surplus
    for (const row of s.rows) {
      expect(sumAmounts([row.cityShare as string, row.countyShare as string])).toBe(row.overspend);
    }
    const column = (k: string) => sumAmounts(s.rows.map((row) => row[k] as string));
    expect(s.totals).toEqual({
      budget: column('budget'),
      spending: column('spending'),
      overspend: column('overspend'),
      cityShare: column('cityShare'),
      countyShare: column('countyShare'),
      surplusShortfall: column('surplusShortfall'),
    });
    expect(s.totals).toMatchObject({
      budget: '34500000.00', // 12,000,000 + 4,500,000 + 4,000,000 + 5,000,000 + 9,000,000 (EXAMPLE)
      spending: '26060000.02',
      overspend: '760000.02', // 360,000.00 + 200,000.01 + 200,000.01
      cityShare: '460000.01', // 002 第二十一条（一）（二）: 360,000.00 + 100,000.01
      countyShare: '300000.01', // 002 第二十一条（二）（三）: 100,000.00 + 200,000.01
      surplusShortfall: '0.00', // 002 第二十一条（四）: 460,000.01 ≤ the 2,000,000.00 surplus
    });
    expect(sumAmounts([s.totals.cityShare as string, s.totals.countyShare as string])).toBe(
      s.totals.overspend,
    );
    expect(s.citySurplusUsed).toBe(s.totals.cityShare);
    // 002 第二十一条（四）: 2,000,000.00 − 460,000.01
    expect(s.citySurplusLeft).toBe('1539999.99');
    expect(sumAmounts([s.citySurplusUsed, s.citySurplusLeft])).toBe(s.cityAccumulatedSurplus);
    // the ledger was never opened
    expect(existsSync(NO_STORE)).toBe(false);
  });

  it('a spending file with an unknown key: one line naming it and the known keys, exit 2', async () => {
    const file = join(TMP, 'spending-notes.json');
    writeFileSync(
      file,
      JSON.stringify({
        region: 'baoshan',
        year: 2026,
        notes: 'a misspelt note',
        spending: { '530502': '1.00' },
      }),
    );
    const r = await auditCli(['funds', '--spending', file]);
    expect({ code: r.code, stdout: r.stdout, lines: r.stderr.trimEnd().split('\n') }).toEqual({
      code: 2,
      stdout: '',
      lines: [`error: ${file}: unknown key 'notes'; known: region, year, note, spending`],
    });
    expect(existsSync(NO_STORE)).toBe(false);
  });
});
