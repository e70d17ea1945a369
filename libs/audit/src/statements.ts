/**
 * Reconciliation with hospitals (in the manner of the national 3201/3202 interfaces), clearing
 * statements of the county agencies (monthly; annual clearing of the previous year, 000 第十五条)
 * and fund statements (000 第十七、十八条, 002 第二十一条). Read-only over the ledger; the
 * arithmetic of the fund statements is libs/funds. Readings: docs/adr/0008-archive-and-audit.md.
 *
 * Months and years are those of the settlement time (setl_time, Beijing time): the agency pays a
 * bill in the month it was settled. A reversal counts in the month it was made (Beijing time),
 * against the month's statement, when the bill was settled in the same year; a reversal of an
 * earlier year's bill belongs to that year's annual clearing instead.
 *
 * Top-ups (retroactive assistance, 004 第十九条; docs/adr/0009) are part of their bill: they count
 * in the month they were made (the month of their settlement event), a top-up's reversal in the
 * month its bill was reversed, by the same same-year rule; a bill "as it stands" is its latest
 * computation (its last top-up's, else its settlement's).
 */
import { type Dec, ZERO, decimalOf, formatDecimal, sumDecimal } from '@onebill/money';
import type { FundKind, SetlDetail } from '@onebill/engine';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FundInputError,
  type FundYear,
  fundStatement,
  parseFundYear,
  spendingCounties,
} from '@onebill/funds';
import { fileProblems, projectRoot, unknownNames, where } from '@onebill/rules';
import type { Queryable } from '@onebill/ledger';
import type { Declaration } from './declarations';
import { FUNDS, fundTotals } from './compare';

/** Beijing month of a timestamptz column, 'YYYY-MM'. */
const beijingMonth = (col: string): string =>
  `to_char((${col} AT TIME ZONE 'UTC') + interval '8 hours', 'YYYY-MM')`;

/** The month a top-up was made (its event's month; rows from before 0007: its creation). */
const topupMonth = (t: string): string =>
  `COALESCE(substr(${t}.setl_time, 1, 7), ${beijingMonth(`${t}.created_at`)})`;

/** A bill's setldetail as it now stands: its last top-up's computation, else its settlement's. */
const standingDetail = (s: string): string =>
  `COALESCE((SELECT t.result -> 'setldetail' FROM topups t WHERE t.setl_id = ${s}.setl_id
             ORDER BY t.id DESC LIMIT 1), ${s}.result -> 'setldetail')`;

/** A top-up's amounts per fund as a setldetail (the shape the aggregations read). */
const topupDetail = (t: string): string =>
  `jsonb_build_array(
     jsonb_build_object('fund', 'basic', 'fundPayamt', ${t}.basic::text),
     jsonb_build_object('fund', 'critical', 'fundPayamt', ${t}.critical::text),
     jsonb_build_object('fund', 'commercial', 'fundPayamt', ${t}.commercial::text),
     jsonb_build_object('fund', 'assistance', 'fundPayamt', ${t}.assistance::text),
     jsonb_build_object('fund', 'tilted', 'fundPayamt', ${t}.tilted::text))`;

interface BillRow {
  setl_id: string;
  mdtrt_id: string;
  fixmedins_code: string;
  clr_optins: string;
  month: string;
  setldetail: SetlDetail[] | string;
}

function detail(v: SetlDetail[] | string): SetlDetail[] {
  return typeof v === 'string' ? (JSON.parse(v) as SetlDetail[]) : v;
}

// ---------------------------------------------------------------- reconciliation (3201/3202)

export interface ReconciliationLine {
  fixmedinsCode: string;
  clrOptins: string;
  month: string;
  fund: FundKind;
  declared: string;
  ours: string;
  difference: string;
  matched: boolean;
}

export interface BillDiscrepancy {
  setlId: string;
  mdtrtId: string;
  /**
   * missing-declared: ours, not declared; missing-ours: declared, not settled here; reversed:
   * declared, but the settlement was reversed (`reversedAt`); visit-mismatch: the declared
   * setl_id is ours but for another visit (`declaredMdtrtId`); amount: both, amounts differ;
   * listed: no detail was declared, our bill listed
   */
  kind: 'missing-declared' | 'missing-ours' | 'reversed' | 'visit-mismatch' | 'amount' | 'listed';
  funds: { fund: FundKind; declared: string | null; ours: string | null }[];
  /** visit-mismatch: the visit the hospital declared under this setl_id */
  declaredMdtrtId?: string;
  /** reversed: when (ISO 8601) */
  reversedAt?: string;
}

/** A fund whose declared total (3201) is not the sum of the declared lines (3202). */
export interface InconsistentTotal {
  fund: FundKind;
  declaredTotal: string;
  sumOfLines: string;
  difference: string;
}

export interface ReconciliationReport {
  kind: 'reconciliation';
  fixmedinsCode: string;
  clrOptins: string;
  month: string;
  matched: boolean;
  lines: ReconciliationLine[];
  /** the bills behind any difference (empty when everything matched) */
  bills: BillDiscrepancy[];
  /** totals and detail both declared: the funds whose total is not the sum of the lines */
  inconsistentTotals: InconsistentTotal[];
}

const money = (v: string | undefined | null): Dec => decimalOf(v);

/**
 * Reconciles one declaration against the bills settled (and still settled) in that month, each
 * as it now stands (top-ups included: the hospital was told of each, his.settlement-result.v1).
 */
export async function reconcile(q: Queryable, d: Declaration): Promise<ReconciliationReport> {
  const { rows } = await q.query<BillRow>(
    `SELECT s.setl_id, s.mdtrt_id, s.fixmedins_code, s.clr_optins,
            substr(s.setl_time, 1, 7) AS month, ${standingDetail('s')} AS setldetail
     FROM settlements s
     WHERE s.status = 'settled' AND s.fixmedins_code = $1 AND s.clr_optins = $2
       AND s.setl_time >= $3 AND s.setl_time < $4
     ORDER BY s.setl_time, s.setl_id`,
    [d.fixmedinsCode, d.clrOptins, `${d.month}-01`, `${d.month}-99`],
  );
  const ours = new Map(
    rows.map((r) => [r.setl_id, { row: r, funds: fundTotals(detail(r.setldetail)) }]),
  );
  const oursTotal = {} as Record<FundKind, Dec>;
  for (const f of FUNDS) oursTotal[f] = ZERO;
  for (const o of ours.values())
    for (const f of FUNDS) oursTotal[f] = oursTotal[f].plus(o.funds[f]);

  const declaredTotal = {} as Record<FundKind, Dec>;
  for (const f of FUNDS) {
    declaredTotal[f] =
      d.totals !== undefined
        ? money(d.totals[f])
        : (d.bills ?? []).reduce((a, b) => a.plus(money(b.funds[f])), ZERO);
  }
  const lines: ReconciliationLine[] = FUNDS.map((fund) => {
    const diff = declaredTotal[fund].minus(oursTotal[fund]);
    return {
      fixmedinsCode: d.fixmedinsCode,
      clrOptins: d.clrOptins,
      month: d.month,
      fund,
      declared: formatDecimal(declaredTotal[fund]),
      ours: formatDecimal(oursTotal[fund]),
      difference: formatDecimal(diff),
      matched: diff.isZero(),
    };
  });
  const differing = new Set(lines.filter((l) => !l.matched).map((l) => l.fund));
  const bills: BillDiscrepancy[] = [];
  if (d.bills !== undefined) {
    const declared = new Map(d.bills.map((b) => [b.setlId, b]));
    for (const [setlId, o] of ours) {
      const b = declared.get(setlId);
      if (b === undefined) {
        bills.push({
          setlId,
          mdtrtId: o.row.mdtrt_id,
          kind: 'missing-declared',
          funds: FUNDS.filter((f) => !decimalOf(o.funds[f]).isZero()).map((f) => ({
            fund: f,
            declared: null,
            ours: o.funds[f],
          })),
        });
        continue;
      }
      const funds = FUNDS.filter((f) => !money(b.funds[f]).equals(o.funds[f])).map((f) => ({
        fund: f,
        declared: formatDecimal(money(b.funds[f])),
        ours: o.funds[f],
      }));
      // a bill is a setl_id AND its visit: the right id on another visit is not a match
      if (b.mdtrtId !== '' && b.mdtrtId !== o.row.mdtrt_id) {
        bills.push({
          setlId,
          mdtrtId: o.row.mdtrt_id,
          kind: 'visit-mismatch',
          declaredMdtrtId: b.mdtrtId,
          funds,
        });
        continue;
      }
      if (funds.length > 0) bills.push({ setlId, mdtrtId: o.row.mdtrt_id, kind: 'amount', funds });
    }
    const notOurs = d.bills.filter((b) => !ours.has(b.setlId)).map((b) => b.setlId);
    const reversed = new Map<string, { mdtrt_id: string; reversed_at: string }>();
    if (notOurs.length > 0) {
      const { rows: rev } = await q.query<{
        setl_id: string;
        mdtrt_id: string;
        reversed_at: string;
      }>(
        `SELECT setl_id, mdtrt_id, to_char(reversed_at AT TIME ZONE 'UTC',
                                           'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS reversed_at
         FROM settlements
         WHERE setl_id = ANY($1::text[]) AND status = 'reversed' AND fixmedins_code = $2`,
        [notOurs, d.fixmedinsCode],
      );
      for (const r of rev) reversed.set(r.setl_id, r);
    }
    for (const b of d.bills) {
      if (ours.has(b.setlId)) continue;
      const rev = reversed.get(b.setlId);
      bills.push({
        setlId: b.setlId,
        mdtrtId: b.mdtrtId,
        ...(rev !== undefined ? { reversedAt: rev.reversed_at } : {}),
        kind: rev !== undefined ? 'reversed' : 'missing-ours',
        funds: FUNDS.filter((f) => !money(b.funds[f]).isZero()).map((f) => ({
          fund: f,
          declared: formatDecimal(money(b.funds[f])),
          ours: null,
        })),
      });
    }
  } else if (differing.size > 0) {
    for (const [setlId, o] of ours) {
      bills.push({
        setlId,
        mdtrtId: o.row.mdtrt_id,
        kind: 'listed',
        funds: FUNDS.filter((f) => differing.has(f)).map((f) => ({
          fund: f,
          declared: null,
          ours: o.funds[f],
        })),
      });
    }
  }
  const inconsistentTotals: InconsistentTotal[] = [];
  if (d.totals !== undefined && d.bills !== undefined) {
    for (const fund of FUNDS) {
      const sum = d.bills.reduce((a, b) => a.plus(money(b.funds[fund])), ZERO);
      const total = money(d.totals[fund]);
      if (!sum.equals(total)) {
        inconsistentTotals.push({
          fund,
          declaredTotal: formatDecimal(total),
          sumOfLines: formatDecimal(sum),
          difference: formatDecimal(total.minus(sum)),
        });
      }
    }
  }
  return {
    kind: 'reconciliation',
    fixmedinsCode: d.fixmedinsCode,
    clrOptins: d.clrOptins,
    month: d.month,
    matched: differing.size === 0 && bills.length === 0 && inconsistentTotals.length === 0,
    lines,
    bills,
    inconsistentTotals,
  };
}

// ---------------------------------------------------------------- clearing statements

/** Statement lines in the order agencies read them: hospital, then the tiers' order of funds. */
function byHospitalThenFund(
  a: { fixmedinsCode: string; fund: FundKind },
  b: { fixmedinsCode: string; fund: FundKind },
): number {
  return a.fixmedinsCode === b.fixmedinsCode
    ? FUNDS.indexOf(a.fund) - FUNDS.indexOf(b.fund)
    : a.fixmedinsCode.localeCompare(b.fixmedinsCode);
}

export interface ClearingLine {
  clrOptins: string;
  fixmedinsCode: string;
  fund: FundKind;
  settledBills: number;
  settled: string;
  reversedBills: number;
  reversed: string;
  /** top-ups made in the period (retroactive assistance, 004 第十九条) */
  topupCount: number;
  toppedUp: string;
  /** top-ups reversed in the period with their bill */
  topupReversalCount: number;
  topupsReversed: string;
  /** settled − reversed + toppedUp − topupsReversed: what the agency owes the hospital */
  owed: string;
}

export interface MonthlyClearing {
  kind: 'clearing-monthly';
  clrOptins: string;
  month: string;
  lines: ClearingLine[];
  totals: { fund: FundKind; owed: string }[];
}

type ClearingKind = 'settled' | 'reversed' | 'topup' | 'topup-reversed';

interface ClearingRow {
  fixmedins_code: string;
  clr_optins: string;
  setldetail: SetlDetail[] | string;
  kind: ClearingKind;
}

function aggregate(rows: ClearingRow[], clrOptins: string): ClearingLine[] {
  const cells = new Map<string, { line: ClearingLine; s: Dec; r: Dec; t: Dec; tr: Dec }>();
  for (const row of rows) {
    const funds = fundTotals(detail(row.setldetail));
    for (const fund of FUNDS) {
      const k = `${row.fixmedins_code}|${fund}`;
      let c = cells.get(k);
      if (c === undefined) {
        c = {
          line: {
            clrOptins,
            fixmedinsCode: row.fixmedins_code,
            fund,
            settledBills: 0,
            settled: '0.00',
            reversedBills: 0,
            reversed: '0.00',
            topupCount: 0,
            toppedUp: '0.00',
            topupReversalCount: 0,
            topupsReversed: '0.00',
            owed: '0.00',
          },
          s: ZERO,
          r: ZERO,
          t: ZERO,
          tr: ZERO,
        };
        cells.set(k, c);
      }
      switch (row.kind) {
        case 'settled':
          c.line.settledBills += 1;
          c.s = c.s.plus(funds[fund]);
          break;
        case 'reversed':
          c.line.reversedBills += 1;
          c.r = c.r.plus(funds[fund]);
          break;
        case 'topup':
          c.line.topupCount += 1;
          c.t = c.t.plus(funds[fund]);
          break;
        case 'topup-reversed':
          c.line.topupReversalCount += 1;
          c.tr = c.tr.plus(funds[fund]);
          break;
      }
    }
  }
  return [...cells.values()]
    .map((c) => ({
      ...c.line,
      settled: formatDecimal(c.s),
      reversed: formatDecimal(c.r),
      toppedUp: formatDecimal(c.t),
      topupsReversed: formatDecimal(c.tr),
      owed: formatDecimal(c.s.minus(c.r).plus(c.t).minus(c.tr)),
    }))
    .sort(byHospitalThenFund);
}

function fundTotalsOf(lines: ClearingLine[]): { fund: FundKind; owed: string }[] {
  return FUNDS.map((fund) => ({
    fund,
    owed: formatDecimal(sumDecimal(lines.filter((l) => l.fund === fund).map((l) => l.owed))),
  }));
}

/**
 * What a county agency owes each hospital per fund for a month: the bills settled in the month
 * (whatever became of them later) less the reversals made in the month of bills of the same
 * year, plus the top-ups made in the month less the top-ups reversed in it (with their bill), of
 * bills of the same year. Stable: a later reversal changes a later month, never this one.
 */
export async function monthlyClearing(
  q: Queryable,
  clrOptins: string,
  month: string,
): Promise<MonthlyClearing> {
  const { rows } = await q.query<ClearingRow>(
    `SELECT s.fixmedins_code, s.clr_optins, s.result -> 'setldetail' AS setldetail,
            'settled' AS kind
     FROM settlements s
     WHERE s.clr_optins = $1 AND s.setl_time >= $2 AND s.setl_time < $3
     UNION ALL
     SELECT s.fixmedins_code, s.clr_optins, s.result -> 'setldetail', 'reversed'
     FROM settlements s
     WHERE s.clr_optins = $1 AND s.status = 'reversed'
       AND ${beijingMonth('s.reversed_at')} = $4
       AND substr(s.setl_time, 1, 4) = $5
     UNION ALL
     SELECT s.fixmedins_code, s.clr_optins, ${topupDetail('t')}, 'topup'
     FROM topups t JOIN settlements s ON s.setl_id = t.setl_id
     WHERE s.clr_optins = $1 AND ${topupMonth('t')} = $4 AND substr(s.setl_time, 1, 4) = $5
     UNION ALL
     SELECT s.fixmedins_code, s.clr_optins, ${topupDetail('t')}, 'topup-reversed'
     FROM topups t JOIN settlements s ON s.setl_id = t.setl_id
     WHERE s.clr_optins = $1 AND s.status = 'reversed'
       AND ${beijingMonth('s.reversed_at')} = $4
       AND substr(s.setl_time, 1, 4) = $5`,
    [clrOptins, `${month}-01`, `${month}-99`, month, month.slice(0, 4)],
  );
  const lines = aggregate(rows, clrOptins);
  return { kind: 'clearing-monthly', clrOptins, month, lines, totals: fundTotalsOf(lines) };
}

export interface AnnualLine {
  clrOptins: string;
  fixmedinsCode: string;
  fund: FundKind;
  /** the year's bills as they finally stand (still settled) */
  due: string;
  /** the sum of the year's twelve monthly statements */
  clearedMonthly: string;
  /** due − clearedMonthly: settled with the hospital at the annual clearing */
  balance: string;
}

export interface AnnualClearing {
  kind: 'clearing-annual';
  clrOptins: string;
  year: number;
  lines: AnnualLine[];
  totals: { fund: FundKind; due: string; clearedMonthly: string; balance: string }[];
}

/**
 * Annual clearing of a year (000 第十五条: the previous year by 30 March): per hospital and fund,
 * the year's bills as they finally stand against what the monthly statements cleared. The
 * balance is the reversals made after the year's end of that year's bills.
 */
export async function annualClearing(
  q: Queryable,
  clrOptins: string,
  year: number,
): Promise<AnnualClearing> {
  const y = String(year);
  // a top-up counts like a bill: due while its bill stands; cleared monthly when it was made in
  // the year (and not taken back with its bill within the year)
  const { rows } = await q.query<ClearingRow & { status: string; late: boolean; in_year: boolean }>(
    `SELECT s.fixmedins_code, s.clr_optins, s.result -> 'setldetail' AS setldetail,
            'settled' AS kind, s.status,
            (s.status = 'reversed' AND ${beijingMonth('s.reversed_at')} > $3) AS late,
            true AS in_year
     FROM settlements s
     WHERE s.clr_optins = $1 AND substr(s.setl_time, 1, 4) = $2
     UNION ALL
     SELECT s.fixmedins_code, s.clr_optins, ${topupDetail('t')}, 'topup', s.status,
            (s.status = 'reversed' AND ${beijingMonth('s.reversed_at')} > $3),
            substr(${topupMonth('t')}, 1, 4) = $2
     FROM topups t JOIN settlements s ON s.setl_id = t.setl_id
     WHERE s.clr_optins = $1 AND substr(s.setl_time, 1, 4) = $2`,
    [clrOptins, y, `${y}-12`],
  );
  const cells = new Map<string, { line: AnnualLine; due: Dec; cleared: Dec }>();
  for (const r of rows) {
    const funds = fundTotals(detail(r.setldetail));
    for (const fund of FUNDS) {
      const k = `${r.fixmedins_code}|${fund}`;
      let c = cells.get(k);
      if (c === undefined) {
        c = {
          line: {
            clrOptins,
            fixmedinsCode: r.fixmedins_code,
            fund,
            due: '0.00',
            clearedMonthly: '0.00',
            balance: '0.00',
          },
          due: ZERO,
          cleared: ZERO,
        };
        cells.set(k, c);
      }
      if (r.status === 'settled') c.due = c.due.plus(funds[fund]);
      // cleared monthly: settled in its month, and reversed in a month of the same year
      if (r.in_year && (r.status === 'settled' || r.late)) c.cleared = c.cleared.plus(funds[fund]);
    }
  }
  const lines = [...cells.values()]
    .map((c) => ({
      ...c.line,
      due: formatDecimal(c.due),
      clearedMonthly: formatDecimal(c.cleared),
      balance: formatDecimal(c.due.minus(c.cleared)),
    }))
    .sort(byHospitalThenFund);
  const totals = FUNDS.map((fund) => {
    const ls = lines.filter((l) => l.fund === fund);
    const sum = (k: 'due' | 'clearedMonthly' | 'balance'): string =>
      formatDecimal(sumDecimal(ls.map((l) => l[k])));
    return {
      fund,
      due: sum('due'),
      clearedMonthly: sum('clearedMonthly'),
      balance: sum('balance'),
    };
  });
  return { kind: 'clearing-annual', clrOptins, year, lines, totals };
}

// ---------------------------------------------------------------- fund statements

/**
 * The medical-assistance fund's spending per county agency in a year: assistance and tilted
 * assistance of the bills settled in that year and still settled, as they now stand (top-ups
 * included).
 */
export async function assistanceSpending(
  q: Queryable,
  year: number,
  counties: readonly string[],
): Promise<Record<string, string>> {
  const { rows } = await q.query<{ clr_optins: string; setldetail: SetlDetail[] | string }>(
    `SELECT s.clr_optins, ${standingDetail('s')} AS setldetail FROM settlements s
     WHERE s.status = 'settled' AND substr(s.setl_time, 1, 4) = $1
       AND s.clr_optins = ANY($2::text[])`,
    [String(year), counties],
  );
  const out = new Map<string, Dec>(counties.map((c) => [c, ZERO]));
  for (const r of rows) {
    const f = fundTotals(detail(r.setldetail));
    out.set(r.clr_optins, (out.get(r.clr_optins) ?? ZERO).plus(f.assistance).plus(f.tilted));
  }
  return Object.fromEntries([...out].map(([k, v]) => [k, formatDecimal(v)]));
}

/** The fund statement of a region's year: the data file's funds against the ledger's spending. */
export async function fundStatementOf(q: Queryable, data: FundYear) {
  const counties = spendingCounties(data);
  if (!Array.isArray(counties)) {
    // e.g. the factor method (003 第七条) allocates the year's subsidies by need factors: no
    // ledger spending enters it
    return { kind: 'fund-statement' as const, spending: {}, statement: fundStatement(data, {}) };
  }
  const spending = await assistanceSpending(q, data.year, counties);
  return { kind: 'fund-statement' as const, spending, statement: fundStatement(data, spending) };
}

/**
 * Where a region's fund data of a year lives: `dir` (the caller's configuration, e.g.
 * ONEBILL_FUNDS_DIR), or config/funds. The library reads no environment itself.
 */
export function fundYearFile(
  region: string,
  year: string | number,
  dir: string | null = null,
): string {
  return join(dir ?? join(projectRoot(), 'config/funds'), `${region}-${year}.json`);
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FundInputError(file, (e as Error).message);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new FundInputError(file, `not JSON: ${(e as Error).message}`);
  }
}

function refuse(problems: string[]): void {
  if (problems.length > 0) {
    throw new FundInputError('(file)', problems.join('; '), problems);
  }
}

/**
 * Reads and validates a fund data file: its JSON Schema (contracts/funds/fund-year.v1.schema.json,
 * every problem on its own line), then the arithmetic rules of libs/funds (FundInputError names
 * the field).
 */
export function readFundYear(file: string): FundYear {
  const data = readJson(file);
  refuse(fileProblems('funds/fund-year.v1.schema.json', data, file));
  try {
    return parseFundYear(data);
  } catch (e) {
    if (!(e instanceof FundInputError)) throw e;
    throw new FundInputError(e.field, e.message, [`${file}: ${e.message}`]);
  }
}

/**
 * Reads assumed spending per county (contracts/funds/spending.v1.schema.json) for `data`'s region
 * and year: a "what if spending were X" for the fund officer. An admdvs that is not a county of
 * the year's fund data is an error naming the known ones.
 */
export function readSpending(file: string, data: FundYear): Record<string, string> {
  const doc = readJson(file);
  refuse(fileProblems('funds/spending.v1.schema.json', doc, file));
  const s = doc as { region: string; year: number; spending: Record<string, string> };
  const problems: string[] = [];
  if (s.region !== data.region)
    problems.push(where(file, `region: '${s.region}' but the fund data is of ${data.region}`));
  if (s.year !== data.year)
    problems.push(where(file, `year: ${s.year} but the fund data is of ${data.year}`));
  const counties = spendingCounties(data);
  if (Array.isArray(counties)) {
    problems.push(
      ...unknownNames(Object.keys(s.spending), counties, where(file, 'spending'), 'county'),
    );
  }
  refuse(problems);
  return s.spending;
}

/** The region and year a spending file is for (so that `funds --spending F` needs no more). */
export function spendingHeader(file: string): { region: string; year: number } {
  const doc = readJson(file);
  refuse(fileProblems('funds/spending.v1.schema.json', doc, file));
  const s = doc as { region: string; year: number };
  return { region: s.region, year: s.year };
}

/** The fund statement of a region's year for given spending, not the ledger's. */
export function fundStatementGiven(
  data: FundYear,
  spending: Record<string, string>,
  source: string,
) {
  const counties = spendingCounties(data);
  if (!Array.isArray(counties)) throw new FundInputError('region', counties.noSpending);
  return {
    kind: 'fund-statement' as const,
    spendingSource: source,
    spending,
    statement: fundStatement(data, spending),
  };
}
