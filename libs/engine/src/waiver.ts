/**
 * Treatment first, pay later (先诊疗后付费): whether a patient is admitted without a deposit, and
 * why. Panzhihua: referred 特困, 孤儿, 低保 admitted in the city (004 第十六条); Baoshan: referred
 * class 1 and 2 inpatients (002 第二十六条). Which categories, visit classes and whether a referral
 * is needed are rule-set data; the hospital's region picks the rule set, so "in the city" holds for
 * every hospital of the region's registry.
 */
import type { ResolvedRuleSet } from './types';

export interface AdmissionFacts {
  medType: string;
  referred: boolean;
  identities: string[];
}

export interface DepositWaiver {
  applies: boolean;
  /** the category that qualifies (the most generous one held), or null */
  category: string | null;
  /** in words, for the cashier */
  reason: string;
  article: string | null;
}

export function depositWaiver(rs: ResolvedRuleSet, a: AdmissionFacts): DepositWaiver {
  const rule = rs.depositWaiver;
  if (rule === null)
    return {
      applies: false,
      category: null,
      reason: `no deposit waiver in ${rs.version}`,
      article: null,
    };
  const no = (reason: string): DepositWaiver => ({
    applies: false,
    category: null,
    reason,
    article: rule.article,
  });
  const visitClass = rs.medTypes[a.medType];
  if (visitClass === undefined || !rule.visitClasses.includes(visitClass))
    return no(`med_type ${a.medType} is not ${rule.visitClasses.join(' or ')}`);
  const held = rs.categories
    .filter((c) => a.identities.includes(c.code) && rule.categories.includes(c.code))
    .sort((x, y) => x.rank - y.rank)[0];
  if (held === undefined)
    return no(
      `none of the identities (${a.identities.join(', ') || 'none'}) is ${rule.categories.join(', ')}`,
    );
  if (rule.requiresReferral && !a.referred)
    return no(`${held.name} but not referred (refl_flag 0)`);
  return {
    applies: true,
    category: held.code,
    reason: `${held.name}${rule.requiresReferral ? ', referred' : ''}: treatment first, pay later, no deposit`,
    article: rule.article,
  };
}
