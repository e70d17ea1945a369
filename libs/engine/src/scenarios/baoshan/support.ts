/**
 * Small builders for the Baoshan (002) scenario specs. The insurance tiers of the rule set are
 * example values (`insurance.example: true`); to keep hand computations about assistance only, most
 * scenarios start from accumulators where basic and critical-illness insurance are already at their
 * annual caps, so the assistance base is exactly the bill's in-scope cost.
 */
import { formatFen, parseFen } from '@onebill/money';
import { RuleBook } from '@onebill/rules';
import { compiled, emptyAccumulators, settle } from '../../settle';
import type { Accumulators, Bill, SettlementResult } from '../../types';

export { emptyAccumulators };

const book = RuleBook.load();
export const baoshan = compiled(book.resolve('baoshan', '2024-05-10'));

export function bsBill(over: Partial<Bill> & { inscpScpAmt: string }): Bill {
  const extra = over.fulamtOwnpayAmt ?? '0.00';
  const fen = parseFen(over.inscpScpAmt, 'inscpScpAmt') + parseFen(extra, 'fulamtOwnpayAmt');
  return {
    fixmedinsCode: 'H53050000001',
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
    fulamtOwnpayAmt: extra,
    overlmtSelfpay: '0.00',
    preselfpayAmt: '0.00',
    medfeeSumamt: formatFen(fen),
    ...over,
  };
}

/**
 * Accumulators where basic insurance (rule-set insurance.basic.390: pooled cap 200,000.00,
 * ordinary-outpatient cap 400.00) and critical-illness insurance (insurance.critical.390.annualCap
 * 400,000.00) have paid their annual caps: both tiers pay 0.00 on any further bill.
 */
export function insuranceExhausted(): Accumulators {
  return {
    ...emptyAccumulators(2024),
    basicPaid: { pooled: '200000.00', 'ordinary-outpatient': '400.00' },
    criticalPaid: '400000.00',
  };
}

/** Settles the bills in order, threading the accumulators, and returns every result. */
export function run(bills: Bill[], start: Accumulators = insuranceExhausted()): SettlementResult[] {
  let acc = start;
  return bills.map((bill) => {
    const r = settle({ ruleSet: baoshan, accumulators: acc, bill });
    acc = r.accumulators;
    return r;
  });
}

export const one = (bill: Bill, start?: Accumulators): SettlementResult => {
  const r = run([bill], start)[0];
  if (r === undefined) throw new Error('no result');
  return r;
};

export const maf = (r: SettlementResult): string => r.setlinfo.mafPay;
