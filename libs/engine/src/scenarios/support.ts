/**
 * Shared builders for the scenario specs. The rule set is built from the shipped files through
 * RuleBook, so the specs test the data as well as the engine. Amounts stay strings; the only
 * arithmetic here is the integer-fen sum that checks the one-bill invariant.
 */
import { formatFen, parseWireFen } from '@onebill/money';
import { type ReadingChoices, RuleBook, resolveRuleSet } from '@onebill/rules';
import { type CompiledRuleSet } from '../compile';
import { compiled, emptyAccumulators, settle } from '../settle';
import type { Accumulators, Bill, FundKind, SetlDetail, SettlementResult } from '../types';

export { emptyAccumulators, settle };
export type { Accumulators };

export const book = RuleBook.load();

/** Panzhihua, 2024 figures (example PCDI 43,567.00, monitoring standard 7,600.00). */
export const panzhihua2024: CompiledRuleSet = compiled(book.resolve('panzhihua', '2024-05-10'));

/**
 * Panzhihua 2024 with some readings (settings, docs/adr/0004) chosen otherwise than the shipped
 * rule set chooses them; the other data unchanged.
 */
export function panzhihua2024With(settings: ReadingChoices): CompiledRuleSet {
  const file = book.ruleSets.find((r) => r.region === 'panzhihua' && r.supersededBy === undefined);
  const figures = book.figures.find((f) => f.region === 'panzhihua' && f.year === 2024);
  if (file === undefined || figures === undefined) throw new Error('no Panzhihua 2024 rules');
  return compiled(
    resolveRuleSet({ ...file, settings: { ...file.settings, ...settings } }, figures),
  );
}

/** A reading choice for a test: the value, with the article it reads. */
export const choose = <T extends string>(value: T, article: string) => ({
  value,
  article,
  why: 'test',
});

/** "1234.56" → 123456, exact (no binary fractions). */
export const fen = (s: string): number => parseWireFen(s, 'scenario amount');

const money = formatFen;

/**
 * An inpatient bill (med_type 21) at a level-1 hospital, 城乡居民 (390), referred, in province, no
 * identity, discharged 2024-05-10. medfee_sumamt is the sum of the four parts unless given.
 */
export function bill(over: Partial<Bill> & { inscpScpAmt: string }): Bill {
  const fulamt = over.fulamtOwnpayAmt ?? '0.00';
  const overlmt = over.overlmtSelfpay ?? '0.00';
  const preself = over.preselfpayAmt ?? '0.00';
  return {
    fixmedinsCode: 'H51040000001',
    mdtrtId: 'V1',
    psnNo: 'P1',
    insutype: '390',
    medType: '21',
    hospitalLevel: '1',
    admissionDate: '2024-05-01',
    dischargeDate: '2024-05-10',
    referred: true,
    inProvince: true,
    followUp: false,
    commercialEnrolled: false,
    identities: [],
    fulamtOwnpayAmt: fulamt,
    overlmtSelfpay: overlmt,
    preselfpayAmt: preself,
    medfeeSumamt: money(fen(over.inscpScpAmt) + fen(fulamt) + fen(overlmt) + fen(preself)),
    ...over,
  };
}

/**
 * Accumulators of 2024 where basic insurance (insurance.basic.390: pooled cap 200,000.00,
 * ordinary-outpatient cap 400.00) and critical illness (insurance.critical.390.annualCap
 * 400,000.00) have paid their caps: both pay 0.00, so the assistance base is the in-scope cost.
 */
export function insuranceExhausted(over: Partial<Accumulators> = {}): Accumulators {
  return {
    ...emptyAccumulators(2024),
    basicPaid: { pooled: '200000.00', 'ordinary-outpatient': '400.00' },
    criticalPaid: '400000.00',
    ...over,
  };
}

/** Settles the bills in order, threading the accumulators; returns each result and the last position. */
export function yearOf(
  bills: Bill[],
  start: Accumulators = emptyAccumulators(2024),
  ruleSet: CompiledRuleSet = panzhihua2024,
): { results: SettlementResult[]; accumulators: Accumulators } {
  let acc = start;
  const results = bills.map((b) => {
    const r = settle({ ruleSet, accumulators: acc, bill: b });
    acc = r.accumulators;
    return r;
  });
  return { results, accumulators: acc };
}

/** Settles one bill from the given position. */
export function one(b: Bill, start?: Accumulators): SettlementResult {
  const r = yearOf([b], start).results[0];
  if (r === undefined) throw new Error('no result');
  expectBalanced(r);
  return r;
}

/** The fund line of one kind, if the bill has one. */
export const line = (r: SettlementResult, fund: FundKind): SetlDetail | undefined =>
  r.setldetail.find((d) => d.fund === fund);

/** The amount a fund paid on the bill; "absent" when the bill has no such line. */
export const paid = (r: SettlementResult, fund: FundKind): string =>
  line(r, fund)?.fundPayamt ?? 'absent';

/** 一单制: the funds plus the patient's cash equal the bill's total, to the fen (POLICY.md). */
export function expectBalanced(r: SettlementResult): void {
  const s = r.setlinfo;
  const lines = r.setldetail.reduce((t, d) => t + fen(d.fundPayamt), 0);
  expect(money(fen(s.fundPaySumamt) + fen(s.psnCashPay))).toBe(s.medfeeSumamt);
  expect(money(lines)).toBe(s.fundPaySumamt);
}

/** The error a call throws, for asserting its code and field; fails when nothing is thrown. */
export function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}
