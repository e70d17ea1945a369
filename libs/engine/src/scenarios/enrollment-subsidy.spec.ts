/**
 * Enrollment subsidy (004 第六条; 002 第八条) with the shipped rule sets and yearly figures:
 * 2024 individual contribution 400.00 and Baoshan's class-2 fixed amount 200.00 are EXAMPLE
 * figures of config/figures.
 */
import { enrollmentSubsidy } from '../enrollment';
import { RuleBook } from '@onebill/rules';

const rules = RuleBook.load();
const of = (region: string, held: string[]) =>
  enrollmentSubsidy(
    rules.enrollmentSubsidyRule(region, '2024-07-01'),
    rules.resolve(region, '2024-07-01').categories,
    held,
  );

describe('enrollment subsidy', () => {
  it('Panzhihua: 特困 in full, 低保 75 % (004 第六条)', () => {
    expect(of('panzhihua', ['tekun'])).toMatchObject({
      subsidy: '400.00',
      personPays: '0.00',
      article: '004 第六条',
    });
    // 400.00 × 0.75 = 300.00
    expect(of('panzhihua', ['dibao'])).toMatchObject({ subsidy: '300.00', personPays: '100.00' });
  });

  it('several categories: the most generous one, never two (004 第十四条)', () => {
    expect(of('panzhihua', ['dibao', 'guer'])).toMatchObject({
      category: 'guer',
      subsidy: '400.00',
    });
    expect(of('panzhihua', ['monitored', 'dibao'])).toMatchObject({ subsidy: '300.00' });
  });

  it('a category without a subsidy, or none at all: nothing', () => {
    expect(of('panzhihua', ['illness_poor'])).toMatchObject({
      category: null,
      subsidy: '0.00',
      personPays: '400.00',
    });
    expect(of('panzhihua', [])).toMatchObject({ category: null, subsidy: '0.00' });
  });

  it('Baoshan: class 1 in full, class 2 the fixed amount (002 第八条)', () => {
    expect(of('baoshan', ['de_facto_orphan'])).toMatchObject({
      subsidy: '400.00',
      article: '002 第八条',
    });
    expect(of('baoshan', ['relapse_poor'])).toMatchObject({
      subsidy: '200.00',
      personPays: '200.00',
      basis: 'fixed enrollmentSubsidyClass2',
    });
  });

  it('a fixed amount above the contribution is cut to the contribution', () => {
    const rule = {
      ...rules.enrollmentSubsidyRule('baoshan', '2024-07-01'),
      contribution: '150.00',
    };
    expect(
      enrollmentSubsidy(rule, rules.resolve('baoshan', '2024-07-01').categories, ['dibao']),
    ).toMatchObject({
      subsidy: '150.00',
      personPays: '0.00',
    });
  });
});
