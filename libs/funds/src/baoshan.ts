/**
 * Baoshan overspending of a county's fund budget (002 第二十一条).
 *
 * Reading (docs/adr/0007-fund-statements.md):
 * - overspend = spending − budget; rate = overspend / budget, compared exactly (as
 *   100 × overspend against 3 × budget and 5 × budget, no division, no rounding of the rate);
 * - the band is chosen by the rate and applies to the whole overspend, not marginally;
 * - ≤ 3 % (inclusive): the city covers it all from its accumulated surplus (第二十一条（一）);
 *   > 3 % and ≤ 5 % (inclusive): city 50 %, county 50 % (（二）); > 5 %: the county all (（三）);
 * - the city's share is capped by the accumulated surplus available; the rest is the county's (（四）);
 * - the one rounding point is the city's 50 % (half-up to the fen); the county share is always
 *   overspend − city share, so the two add up to the overspend exactly.
 */
import { D, type Dec, formatDecimal, max0, minDecimal, roundToFen, ZERO } from '@onebill/money';
import { FundInputError, parseMoney } from './money';

export const BAOSHAN_COUNTIES: Readonly<Record<string, { name: string }>> = {
  '530502': { name: '隆阳区' },
  '530521': { name: '施甸县' },
  '530523': { name: '龙陵县' },
  '530524': { name: '昌宁县' },
  '530581': { name: '腾冲市' },
};

/** none: no overspend; city-all: ≤ 3 %; half: > 3 % and ≤ 5 %; county-all: > 5 % (002 第二十一条). */
export type BaoshanBand = 'none' | 'city-all' | 'half' | 'county-all';

export interface BaoshanOverspendInput {
  /** County admdvs: 530502, 530521, 530523, 530524 or 530581. */
  county: string;
  /** The county's fund expenditure budget for the year (基金收支预算), "123.45", > 0. */
  budget: string;
  spending: string;
  /** The city's accumulated surplus (历年滚存结余) available for this county's overspend. */
  citySurplus: string;
}

export interface BaoshanOverspendResult {
  county: string;
  name: string;
  budget: string;
  spending: string;
  /** budget − spending; negative when overspent. */
  balance: string;
  /** budget − spending when positive (carried forward, 第二十一条), else "0.00". */
  surplus: string;
  overspend: string;
  /** overspend / budget as a percentage with 4 decimals, for display only; the band uses the exact rate. */
  overspendRatePercent: string;
  band: BaoshanBand;
  /** What the band gives the city before the surplus cap. */
  cityShareNominal: string;
  /** Paid by the city from its accumulated surplus: min(nominal, citySurplus). */
  cityShare: string;
  /** overspend − cityShare. */
  countyShare: string;
  /** cityShareNominal − cityShare: the shortfall of the surplus, borne by the county (（四）). */
  surplusShortfall: string;
}

interface Nominal {
  budget: Dec;
  spending: Dec;
  overspend: Dec;
  band: BaoshanBand;
  cityNominal: Dec;
}

export function baoshanNominal(
  county: string,
  budgetIn: unknown,
  spendingIn: unknown,
  path: string,
): Nominal {
  if (BAOSHAN_COUNTIES[county] === undefined) {
    throw new FundInputError(
      `${path}.county`,
      `"${String(county)}" is not a Baoshan county (${Object.keys(BAOSHAN_COUNTIES).join(', ')})`,
    );
  }
  const budget = parseMoney(budgetIn, `${path}.budget`);
  if (budget.isZero()) {
    throw new FundInputError(
      `${path}.budget`,
      'must be positive (the overspend rate divides by it)',
    );
  }
  const spending = parseMoney(spendingIn, `${path}.spending`);
  const overspend = max0(spending.minus(budget));
  let band: BaoshanBand;
  let cityNominal: Dec;
  const hundredTimes = overspend.times(100);
  if (overspend.isZero()) {
    band = 'none';
    cityNominal = ZERO;
  } else if (hundredTimes.lessThanOrEqualTo(budget.times(3))) {
    band = 'city-all'; // 002 第二十一条（一）: 3%（含）以内
    cityNominal = overspend;
  } else if (hundredTimes.lessThanOrEqualTo(budget.times(5))) {
    band = 'half'; // 002 第二十一条（二）: 3%—5%（含）
    cityNominal = roundToFen(overspend.times('0.5'));
  } else {
    band = 'county-all'; // 002 第二十一条（三）: 5%以上
    cityNominal = ZERO;
  }
  return { budget, spending, overspend, band, cityNominal };
}

export function baoshanResult(
  county: string,
  n: Nominal,
  cityAvailable: Dec,
): BaoshanOverspendResult {
  const city = minDecimal(n.cityNominal, cityAvailable);
  const balance = n.budget.minus(n.spending);
  return {
    county,
    name: BAOSHAN_COUNTIES[county]?.name ?? county,
    budget: formatDecimal(n.budget),
    spending: formatDecimal(n.spending),
    balance: formatDecimal(balance),
    surplus: formatDecimal(max0(balance)),
    overspend: formatDecimal(n.overspend),
    overspendRatePercent: n.overspend.times(100).dividedBy(n.budget).toFixed(4, D.ROUND_HALF_UP),
    band: n.band,
    cityShareNominal: formatDecimal(n.cityNominal),
    cityShare: formatDecimal(city),
    countyShare: formatDecimal(n.overspend.minus(city)),
    surplusShortfall: formatDecimal(n.cityNominal.minus(city)),
  };
}

export function baoshanOverspend(
  input: BaoshanOverspendInput,
  path = 'input',
): BaoshanOverspendResult {
  if (typeof input !== 'object' || input === null) {
    throw new FundInputError(path, 'expected an object');
  }
  const n = baoshanNominal(input.county, input.budget, input.spending, path);
  const available = parseMoney(input.citySurplus, `${path}.citySurplus`);
  return baoshanResult(input.county, n, available);
}
