/**
 * One person, one county per year (issue 15 item 6; docs/adr/0009 decision 8): the rule that
 * says which county's enrollment subsidy (004 第六条, 002 第八条) a person falls to, and why.
 */
import type { IdentityPeriod } from './identities';
import { subsidyCounty } from './subsidy-county';

const p = (
  category: string,
  validFrom: string,
  admdvs: string,
  changeId: string,
  validTo: string | null = null,
): IdentityPeriod => ({ category, validFrom, validTo, admdvs, changeId });

const YEAR = ['2024-01-01', '2024-12-31'] as const;

describe('subsidyCounty: one person, one county per year', () => {
  it('a person identified before the year is subsidised by the county of the identity in force on 1 January', () => {
    const c = subsidyCounty([p('dibao', '2023-10-01', '510421', '7')], ...YEAR);
    expect(c).toMatchObject({
      admdvs: '510421',
      categories: ['dibao'],
      contributionDate: '2024-01-01',
      basis: 'in-force-at-start',
      changeId: '7',
      alsoRegisteredIn: [],
    });
    expect(c!.reason).toContain('in force on 2024-01-01');
  });

  it('a person identified on 06-01 is in the year from then (002 第七条 新增一人参保一人), at the category of that day (002 第八条（三）)', () => {
    const c = subsidyCounty([p('tekun', '2024-06-01', '510402', '3')], ...YEAR);
    expect(c).toMatchObject({
      admdvs: '510402',
      categories: ['tekun'],
      contributionDate: '2024-06-01',
      basis: 'identified-in-period',
    });
    expect(c!.reason).toContain('新增一人参保一人');
    // a one-day snapshot on 1 January (the old report) misses them
    expect(
      subsidyCounty([p('tekun', '2024-06-01', '510402', '3')], '2024-01-01', '2024-01-01'),
    ).toBeNull();
  });

  it('registered in two counties in one year: the county of the identity in force first counts, the other is named', () => {
    // 510402 from 2023, ended 05-31; 510421 from 06-01: one person, counted in 510402 only
    const periods = [
      p('dibao', '2023-03-01', '510402', '1', '2024-05-31'),
      p('dibao', '2024-06-01', '510421', '9'),
    ];
    const c = subsidyCounty(periods, ...YEAR);
    expect(c).toMatchObject({ admdvs: '510402', alsoRegisteredIn: ['510421'] });
    expect(c!.reason).toContain('not counted in 510421');
    // the following year only 510421's identity overlaps
    expect(subsidyCounty(periods, '2025-01-01', '2025-12-31')).toMatchObject({
      admdvs: '510421',
      alsoRegisteredIn: [],
    });
  });

  it('two counties on the same first day: identified first wins, then registered first (lower change id)', () => {
    const sameDay = [
      p('dibao', '2024-02-01', '510421', '20'),
      p('tekun', '2024-02-01', '510402', '11'),
    ];
    const c = subsidyCounty(sameDay, ...YEAR);
    expect(c).toMatchObject({
      admdvs: '510402',
      changeId: '11',
      // the person holds both that day; the most generous applies later (004 第十四条)
      categories: ['dibao', 'tekun'],
      alsoRegisteredIn: ['510421'],
    });
    expect(c!.reason).toContain('registered first');
    const earlier = [
      p('dibao', '2023-12-01', '510421', '20'),
      p('tekun', '2024-01-01', '510402', '11'),
    ];
    expect(subsidyCounty(earlier, ...YEAR)!.admdvs).toBe('510421');
  });

  it('periods outside the reporting period do not count', () => {
    expect(
      subsidyCounty([p('dibao', '2022-01-01', '510402', '1', '2023-12-31')], ...YEAR),
    ).toBeNull();
    expect(subsidyCounty([p('dibao', '2025-01-01', '510402', '1')], ...YEAR)).toBeNull();
    expect(subsidyCounty([], ...YEAR)).toBeNull();
  });

  it('a sub-period (from/to) takes the contribution date inside it', () => {
    const c = subsidyCounty([p('dibao', '2024-03-15', '510402', '1')], '2024-04-01', '2024-06-30');
    expect(c).toMatchObject({ contributionDate: '2024-04-01', basis: 'in-force-at-start' });
  });
});
