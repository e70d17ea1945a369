/**
 * Panzhihua general and management deficits (000 第十七条、第十八条).
 *
 * Reading (docs/adr/0007-fund-statements.md):
 * - the year's gap of a county is spending − raised when positive (第十七条: 资金核算到县（区）);
 * - the management deficit (第十八条) is the part of that gap the county caused by not following the
 *   rules; it is carved out first and borne by the county in full, but never more than the gap;
 * - the general deficit is the rest, i.e. 当年筹集总额 − 严格按政策规定的支出 (spending less the
 *   management deficit), as a positive amount;
 * - the city subsidises 35 % of the general deficit only, for 东区, 西区, 仁和区; 米易县 and 盐边县
 *   bear their own (第十七条). The city share is rounded half-up to the fen (the one rounding point)
 *   and the county share is the general deficit minus it, so the parts add up exactly.
 */
import { D, type Dec, formatDecimal, max0, minDecimal, roundToFen, ZERO } from '@onebill/money';
import { FundInputError, parseMoney } from './money';

/** 000 第十七条: the city subsidises 35 % of the general deficit of these districts. */
export const PANZHIHUA_CITY_SUBSIDY_RATE = '0.35';

export const PANZHIHUA_COUNTIES: Readonly<
  Record<string, { name: string; citySubsidised: boolean }>
> = {
  '510402': { name: '东区', citySubsidised: true },
  '510403': { name: '西区', citySubsidised: true },
  '510411': { name: '仁和区', citySubsidised: true },
  '510421': { name: '米易县', citySubsidised: false },
  '510422': { name: '盐边县', citySubsidised: false },
};

/** 000 第十八条 (一)–(五). */
export const MANAGEMENT_DEFICIT_REASONS = [
  'rule-breaking', // (一) 违规使用医疗救助资金导致超出支出限额
  'low-enrollment', // (二) 应资助参保对象参保率未达到上级要求
  'funds-not-raised', // (三) 未按要求筹集、分担医疗救助资金
  'misuse', // (四) 挤占、挪用、擅自扩大使用范围
  'other', // (五) 其他违规行为
] as const;
export type ManagementDeficitReason = (typeof MANAGEMENT_DEFICIT_REASONS)[number];

export interface ManagementDeficit {
  /** Amount determined by the agency, "123.45". */
  amount: string;
  reason: ManagementDeficitReason;
  note?: string;
}

export interface PanzhihuaDeficitInput {
  /** County admdvs: 510402, 510403, 510411, 510421 or 510422. */
  county: string;
  /** 当年筹集医疗救助资金总额, "123.45". */
  raised: string;
  /** Spending of the year for the county, "123.45". */
  spending: string;
  managementDeficits?: ManagementDeficit[];
}

export interface PanzhihuaDeficitResult {
  county: string;
  name: string;
  citySubsidised: boolean;
  raised: string;
  spending: string;
  /** raised − spending; negative when there is a gap. */
  balance: string;
  /** raised − spending when positive, else "0.00". */
  surplus: string;
  /** Sum of the management deficits declared for the county. */
  managementDeficitDeclared: string;
  /** Part of the gap that is a management deficit: min(declared, gap); borne by the county in full. */
  managementDeficit: string;
  /** Gap − management deficit (000 第十七条). */
  generalDeficit: string;
  /** 35 % of the general deficit for 东区/西区/仁和区, rounded half-up to the fen; else "0.00". */
  cityShare: string;
  /** generalDeficit − cityShare. */
  countyShare: string;
  /** countyShare + managementDeficit: all the county bears. */
  countyTotal: string;
}

export function panzhihuaDeficit(
  input: PanzhihuaDeficitInput,
  path = 'input',
): PanzhihuaDeficitResult {
  if (typeof input !== 'object' || input === null) {
    throw new FundInputError(path, 'expected an object');
  }
  const county = PANZHIHUA_COUNTIES[input.county];
  if (county === undefined) {
    throw new FundInputError(
      `${path}.county`,
      `"${String(input.county)}" is not a Panzhihua county (${Object.keys(PANZHIHUA_COUNTIES).join(', ')})`,
    );
  }
  const raised = parseMoney(input.raised, `${path}.raised`);
  const spending = parseMoney(input.spending, `${path}.spending`);
  const declared = parseManagementDeficits(input.managementDeficits, `${path}.managementDeficits`);

  const balance = raised.minus(spending);
  const gap = max0(balance.negated());
  const management = minDecimal(declared, gap);
  const general = gap.minus(management);
  const city = county.citySubsidised
    ? roundToFen(general.times(PANZHIHUA_CITY_SUBSIDY_RATE))
    : ZERO;
  const countyShare = general.minus(city);
  return {
    county: input.county,
    name: county.name,
    citySubsidised: county.citySubsidised,
    raised: formatDecimal(raised),
    spending: formatDecimal(spending),
    balance: formatDecimal(balance),
    surplus: formatDecimal(max0(balance)),
    managementDeficitDeclared: formatDecimal(declared),
    managementDeficit: formatDecimal(management),
    generalDeficit: formatDecimal(general),
    cityShare: formatDecimal(city),
    countyShare: formatDecimal(countyShare),
    countyTotal: formatDecimal(countyShare.plus(management)),
  };
}

export function parseManagementDeficits(value: unknown, path: string): Dec {
  if (value === undefined) return ZERO;
  if (!Array.isArray(value)) {
    throw new FundInputError(path, 'expected an array of { amount, reason }');
  }
  let sum: Dec = new D(0);
  value.forEach((m: unknown, i) => {
    const p = `${path}[${i}]`;
    if (typeof m !== 'object' || m === null) throw new FundInputError(p, 'expected an object');
    const r = m as Record<string, unknown>;
    if (!(MANAGEMENT_DEFICIT_REASONS as readonly unknown[]).includes(r.reason)) {
      throw new FundInputError(
        `${p}.reason`,
        `"${String(r.reason)}" is not one of ${MANAGEMENT_DEFICIT_REASONS.join(', ')} (000 第十八条)`,
      );
    }
    if (r.note !== undefined && typeof r.note !== 'string') {
      throw new FundInputError(`${p}.note`, 'expected a string');
    }
    sum = sum.plus(parseMoney(r.amount, `${p}.amount`));
  });
  return sum;
}
