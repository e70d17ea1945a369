/**
 * Enrollment subsidies over a period (issue 15 item 6; docs/adr/0009 decision 8): a person's
 * subsidy and a county's report, each person in ONE county for the period (libs/ledger
 * subsidy-county.ts says which and why), people identified mid-period included from their
 * identification. Nest-free, so specs can run it on a real store.
 */
import { type EnrollmentSubsidy, enrollmentSubsidy } from '@onebill/engine';
import {
  type Queryable,
  type SubsidyCounty,
  identityPeriods,
  registryOver,
  subsidyCounty,
} from '@onebill/ledger';
import { type Fen, formatFen, parseWireFen } from '@onebill/money';
import type { RuleBook } from '@onebill/rules';

/** The reporting period: [from, to], both YYYY-MM-DD; a calendar year by default. */
export interface SubsidyPeriod {
  year: number;
  from: string;
  to: string;
}

export interface PersonSubsidy {
  psnNo: string;
  county: SubsidyCounty;
  subsidy: EnrollmentSubsidy;
}

export interface CountyReport {
  county: string;
  region: string;
  period: SubsidyPeriod;
  persons: number;
  total: string;
  byCategory: { category: string; persons: number; subsidyPerPerson: string; total: string }[];
  people: PersonSubsidy[];
}

/** The region whose rule sets govern a county (from the registry of institutions). */
export function regionOfCounty(rules: RuleBook, admdvs: string): string | undefined {
  return rules.allHospitals().find((h) => h.admdvs === admdvs)?.region;
}

/** The year's subsidy rule of a region as a function of the categories held (throws RuleSetError). */
export function subsidyRuleOf(
  rules: RuleBook,
  region: string,
  year: number,
): (held: readonly string[]) => EnrollmentSubsidy {
  const rule = rules.enrollmentSubsidyRule(region, `${year}-07-01`);
  const categories = rules.resolve(region, `${year}-07-01`).categories;
  return (held) => enrollmentSubsidy(rule, categories, held);
}

/** One person's county and subsidy over the period; null when no identity of theirs overlaps it. */
export async function personSubsidy(
  q: Queryable,
  rules: RuleBook,
  psnNo: string,
  period: SubsidyPeriod,
): Promise<(PersonSubsidy & { region: string | undefined }) | null> {
  const county = subsidyCounty(await identityPeriods(q, psnNo), period.from, period.to);
  if (county === null) return null;
  const region = regionOfCounty(rules, county.admdvs);
  if (region === undefined) return { psnNo, county, subsidy: noRegion(county), region };
  return {
    psnNo,
    county,
    subsidy: subsidyRuleOf(rules, region, period.year)(county.categories),
    region,
  };
}

function noRegion(county: SubsidyCounty): EnrollmentSubsidy {
  return {
    category: null,
    contribution: '0.00',
    subsidy: '0.00',
    personPays: '0.00',
    basis: `no rule set governs county ${county.admdvs}`,
    article: '',
  };
}

/**
 * The county's report: every person whose one county for the period is this one, with their
 * subsidy and the reason, and the totals by category. Throws RuleSetError when the region's rule
 * set or figures lack the subsidy.
 */
export async function countyReport(
  q: Queryable,
  rules: RuleBook,
  county: string,
  region: string,
  period: SubsidyPeriod,
): Promise<CountyReport> {
  const subsidyOf = subsidyRuleOf(rules, region, period.year);
  const people: PersonSubsidy[] = [];
  for (const [psnNo, periods] of await registryOver(q, period.from, period.to, county)) {
    const c = subsidyCounty(periods, period.from, period.to);
    if (c === null || c.admdvs !== county) continue;
    people.push({ psnNo, county: c, subsidy: subsidyOf(c.categories) });
  }
  const rows = new Map<
    string,
    { category: string; persons: number; subsidy: string; total: Fen }
  >();
  let total: Fen = 0;
  for (const p of people) {
    const key = p.subsidy.category ?? 'none';
    const fen = parseWireFen(p.subsidy.subsidy, 'subsidy');
    const row = rows.get(key) ?? {
      category: key,
      persons: 0,
      subsidy: p.subsidy.subsidy,
      total: 0,
    };
    row.persons += 1;
    row.total += fen;
    rows.set(key, row);
    total += fen;
  }
  return {
    county,
    region,
    period,
    persons: people.length,
    total: formatFen(total),
    byCategory: [...rows.values()]
      .sort((a, b) => a.category.localeCompare(b.category))
      .map((r) => ({
        category: r.category,
        persons: r.persons,
        subsidyPerPerson: r.subsidy,
        total: formatFen(r.total),
      })),
    people,
  };
}
