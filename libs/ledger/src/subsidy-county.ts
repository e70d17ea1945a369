/**
 * One person, one county per year (issue 15 item 6; docs/adr/0009 decision 8): which county's
 * enrollment subsidy (004 第六条, 002 第八条) a person falls to over a reporting period, and why.
 *
 * The rule, in one pure function (`subsidyCounty`):
 * 1. The periods that count are the registry's periods, withdrawn ones left out, that overlap the
 *    reporting period [from, to] (a calendar year by default).
 * 2. The person's **contribution date** in the reporting period is the later of `from` and the
 *    first day an identity of theirs is in force in it: someone identified mid-year is enrolled
 *    and subsidised from then ("新增一人参保一人", 002 第七条 as issue 15 quotes it), at the
 *    category of that time (002 第八条（三）).
 * 3. The county is that of the identity in force on the contribution date; where identities of two
 *    counties are in force that day, the one identified first (earliest valid_from), then the one
 *    registered first (lowest change id). Every other county the person is registered in during
 *    the period is named in the answer (`alsoRegisteredIn`) and does not count them.
 * 4. The categories are all the person holds on the contribution date (the person's, whatever the
 *    county: the most generous applies, never two — 004 第十四条, 002 第十四条).
 */
import type { Queryable } from './db';
import {
  type IdentityPeriod,
  type PeriodRow,
  categoriesInForce,
  currentPeriodsSql,
  periodsByPerson,
} from './identities';

export interface SubsidyCounty {
  /** the one county (admdvs) that subsidises the person for the period */
  admdvs: string;
  /** the categories held on the contribution date, sorted */
  categories: string[];
  /** the contribution date: the period's start, or the day the person was identified in it */
  contributionDate: string;
  /** in force on the period's start, or identified during the period */
  basis: 'in-force-at-start' | 'identified-in-period';
  /** the change (identity_changes.id) of the period that decided the county */
  changeId: string | null;
  /** other counties the person is registered in during the period (not counted there), sorted */
  alsoRegisteredIn: string[];
  /** why, in words */
  reason: string;
}

const overlaps = (p: IdentityPeriod, from: string, to: string): boolean =>
  p.validFrom <= to && (p.validTo === null || p.validTo >= from);

const inForceOn = (p: IdentityPeriod, date: string): boolean =>
  p.validFrom <= date && (p.validTo === null || date <= p.validTo);

/** Lower change ids first; a period without one (a test's) after those with. */
function byChangeId(a: IdentityPeriod, b: IdentityPeriod): number {
  const x = a.changeId === undefined ? Number.MAX_SAFE_INTEGER : Number(a.changeId);
  const y = b.changeId === undefined ? Number.MAX_SAFE_INTEGER : Number(b.changeId);
  return x - y;
}

/** The county that subsidises the person over [from, to], or null when no identity overlaps it. */
export function subsidyCounty(
  periods: readonly IdentityPeriod[],
  from: string,
  to: string,
): SubsidyCounty | null {
  const counting = periods.filter((p) => overlaps(p, from, to));
  if (counting.length === 0) return null;
  const firstDay = counting.map((p) => p.validFrom).sort()[0]!;
  const contributionDate = firstDay > from ? firstDay : from;
  const candidates = counting
    .filter((p) => inForceOn(p, contributionDate))
    .sort((a, b) =>
      a.validFrom !== b.validFrom ? (a.validFrom < b.validFrom ? -1 : 1) : byChangeId(a, b),
    );
  const decisive = candidates[0]!;
  const admdvs = decisive.admdvs;
  const categories = categoriesInForce(counting, contributionDate);
  const alsoRegisteredIn = [
    ...new Set(counting.map((p) => p.admdvs).filter((a) => a !== admdvs)),
  ].sort();
  const basis = contributionDate === from ? 'in-force-at-start' : 'identified-in-period';
  const held = `${decisive.category} from ${decisive.validFrom}`;
  let reason =
    basis === 'in-force-at-start'
      ? `identity ${held} in force on ${from}, the period's start, registered in ${admdvs}`
      : `identified on ${contributionDate} (${held}), after the period's start: subsidised from then ` +
        `(002 第七条 新增一人参保一人), registered in ${admdvs}`;
  const rivals = new Set(candidates.map((p) => p.admdvs));
  if (rivals.size > 1) {
    reason +=
      `; on ${contributionDate} the person is also registered in ` +
      `${[...rivals].filter((a) => a !== admdvs).join(', ')}: the identity identified first, ` +
      `then registered first, decides`;
  }
  if (alsoRegisteredIn.length > 0) {
    reason += `; one person, one county: not counted in ${alsoRegisteredIn.join(', ')}`;
  }
  return {
    admdvs,
    categories,
    contributionDate,
    basis,
    changeId: decisive.changeId ?? null,
    alsoRegisteredIn,
    reason,
  };
}

/**
 * The registry's periods (withdrawn ones left out) overlapping [from, to] of every person with
 * at least one such period in `admdvs` (all people without it): the input of `subsidyCounty`
 * for a county's report. A person's periods in other counties are included, so the rule can say
 * which county is theirs.
 */
export async function registryOver(
  q: Queryable,
  from: string,
  to: string,
  admdvs?: string,
): Promise<Map<string, IdentityPeriod[]>> {
  const params: unknown[] = [from, to];
  if (admdvs !== undefined) params.push(admdvs);
  const { rows } = await q.query<PeriodRow>(
    `SELECT * FROM (${currentPeriodsSql(
      admdvs === undefined
        ? undefined
        : 'c.psn_no IN (SELECT psn_no FROM identity_changes WHERE admdvs = $3)',
    )}) p
     WHERE p.valid_from <= $2::text AND (p.valid_to IS NULL OR p.valid_to >= $1::text)
     ORDER BY psn_no, valid_from, id`,
    params,
  );
  return periodsByPerson(rows);
}
