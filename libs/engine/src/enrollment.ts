/**
 * The subsidy on a person's individual contribution to resident insurance for a year
 * (Panzhihua 004 第六条: 特困, 孤儿 in full, 低保 and 防止返贫监测 75 %; Baoshan 002 第八条: class 1
 * in full, class 2 a fixed amount set by the province). The shares, the fixed amounts and the
 * contribution are rule-set and yearly data; a person with several categories gets the largest
 * subsidy, never two (004 第十四条, 002 第十四条).
 */
import { type Fen, formatFen, parseFen } from './money';
import type { Category } from './types';

export interface EnrollmentSubsidyRule {
  region: string;
  year: number;
  /** the individual contribution of the year (yearly figure) */
  contribution: string;
  /** per category: what it gets, already as an amount, and how it was found */
  byCategory: Record<string, { amount: string; basis: string }>;
  article: string;
}

export interface EnrollmentSubsidy {
  /** the category that gives the subsidy (the most generous held), or null */
  category: string | null;
  contribution: string;
  subsidy: string;
  /** what the person still pays */
  personPays: string;
  basis: string;
  article: string;
}

export function enrollmentSubsidy(
  rule: EnrollmentSubsidyRule,
  categories: readonly Category[],
  held: readonly string[],
): EnrollmentSubsidy {
  const candidates = categories
    .filter((c) => held.includes(c.code) && rule.byCategory[c.code] !== undefined)
    .map((c) => {
      const terms = rule.byCategory[c.code]!;
      return { c, terms, fen: parseFen(terms.amount, `byCategory.${c.code}`) };
    })
    .sort((a, b) => (b.fen !== a.fen ? b.fen - a.fen : a.c.rank - b.c.rank));
  const best = candidates[0];
  if (best === undefined) {
    return {
      category: null,
      contribution: rule.contribution,
      subsidy: '0.00',
      personPays: rule.contribution,
      basis: `none of ${held.join(', ') || 'no identity'} is subsidised`,
      article: rule.article,
    };
  }
  // a fixed amount never exceeds the contribution itself
  const contribution: Fen = parseFen(rule.contribution, 'contribution');
  const subsidy: Fen = Math.min(best.fen, contribution);
  return {
    category: best.c.code,
    contribution: rule.contribution,
    subsidy: formatFen(subsidy),
    personPays: formatFen(contribution - subsidy),
    basis: best.terms.basis,
    article: rule.article,
  };
}
