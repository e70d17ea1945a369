import type { CompiledRuleSet } from '../../compile';
import { compiled } from '../../settle';
import {
  bill,
  book,
  choose,
  insuranceExhausted,
  line,
  one,
  panzhihua2024,
  panzhihua2024With,
  yearOf,
} from '../support';

/**
 * The readings of clauses 004 leaves open (docs/adr/0004, rule set `settings`): both choices of
 * each, on Panzhihua 2024 (example monitoring income standard 7,600.00, PCDI 43,567.00), with
 * basic and critical-illness insurance at their caps so that assistance works on the in-scope cost.
 */
describe('Panzhihua readings of open clauses (rule-set settings)', () => {
  describe('tiltedBurdenWhile (004 第十三条 with 第十九条)', () => {
    // an unidentified referred in-province inpatient bill of 10,000.00, then a 低保 one of 1,000.00
    const bills = [
      bill({ inscpScpAmt: '10000.00', mdtrtId: 'V1' }),
      bill({ inscpScpAmt: '1000.00', mdtrtId: 'V2', identities: ['dibao'] }),
    ];

    it('assistance-target (shipped): burden before identification does not count', () => {
      const { results, accumulators } = yearOf(bills, insuranceExhausted(), panzhihua2024);
      // bill 1: no category, adds nothing (004 第十九条 以认定时间为节点); bill 2: 1,000.00 − 70 %
      // (004 第十二条) = 300.00 of burden, below 7,600.00: no tilted assistance (004 第十三条)
      expect(results.map((r) => line(r, 'tilted')?.fundPayamt)).toEqual([undefined, '0.00']);
      expect(accumulators.tiltedBurden).toBe('300.00');
      expect(results[1]?.setlinfo.mafPay).toBe('700.00');
    });

    it('any-time: the whole year counts (the panzhihua-2023.1 reading)', () => {
      const rs = panzhihua2024With({
        tiltedBurdenWhile: choose('any-time', '004 第十三条、第十九条'),
      });
      const { results, accumulators } = yearOf(bills, insuranceExhausted(), rs);
      // burden 10,000.00 + 300.00 = 10,300.00; (10,300.00 − 7,600.00) − (10,000.00 − 7,600.00)
      // = 300.00 × 0.50 = 150.00 (004 第十三条)
      expect(line(results[1]!, 'tilted')?.fundPayamt).toBe('150.00');
      expect(accumulators.tiltedBurden).toBe('10300.00');
    });
  });

  describe('tiltedBurdenVisits (004 第十三条)', () => {
    // 低保 ordinary outpatient 100.00 with 7,600.00 of burden before: 70 % = 70.00 (004 第十条)
    const visit = bill({ inscpScpAmt: '100.00', medType: '11', identities: ['dibao'] });
    const start = insuranceExhausted({ tiltedBurden: '7600.00' });

    it('every-visit (shipped): the outpatient burden counts', () => {
      const r = one(visit, start);
      // 30.00 above 7,600.00 × 0.50 = 15.00 (004 第十三条)
      expect(line(r, 'tilted')?.fundPayamt).toBe('15.00');
      expect(r.setlinfo.mafPay).toBe('85.00');
    });

    it('listed-classes: only inpatient and chronic outpatient burden counts', () => {
      const rs = panzhihua2024With({
        tiltedBurdenVisits: choose('listed-classes', '004 第十三条'),
      });
      const { results, accumulators } = yearOf([visit], start, rs);
      expect(line(results[0]!, 'tilted')).toBeUndefined();
      expect(results[0]?.setlinfo.mafPay).toBe('70.00');
      expect(accumulators.tiltedBurden).toBe('7600.00');
    });
  });

  describe('identityTie (004 第十四条)', () => {
    // ordinary outpatient 100.00: 特困 and 孤儿 both 100 % (004 第九条), an exact tie
    const visit = bill({ inscpScpAmt: '100.00', medType: '11', identities: ['guer', 'tekun'] });

    it('category-rank (shipped): the category ranked first, 特困', () => {
      const r = one(visit, insuranceExhausted());
      expect(r.categoryUsed).toBe('tekun');
      expect(r.setlinfo.mafPay).toBe('100.00');
    });

    it('identity-order: the identity listed first on the bill, 孤儿', () => {
      const rs = panzhihua2024With({ identityTie: choose('identity-order', '004 第十四条') });
      const { results } = yearOf([visit], insuranceExhausted(), rs);
      expect(results[0]?.categoryUsed).toBe('guer');
      expect(results[0]?.setlinfo.mafPay).toBe('100.00');
    });

    it('identity-order never beats a more generous category listed later', () => {
      const rs = panzhihua2024With({ identityTie: choose('identity-order', '004 第十四条') });
      const b = bill({ inscpScpAmt: '100.00', medType: '11', identities: ['dibao', 'tekun'] });
      // 特困 100 % beats 低保 70 % whatever the order (004 第九条、第十条)
      expect(yearOf([b], insuranceExhausted(), rs).results[0]?.categoryUsed).toBe('tekun');
    });
  });

  describe('emergencyBucket (004 第九条、第十条; 004 names no 急诊)', () => {
    // 低保 emergency visit (med_type 13), in-scope 2,000.00, not in the province (no tilted line)
    const visit = (over: Partial<Parameters<typeof bill>[0]> = {}) =>
      bill({
        inscpScpAmt: '2000.00',
        medType: '13',
        identities: ['dibao'],
        inProvince: false,
        ...over,
      });
    const assistance = (rs: CompiledRuleSet, over = {}) =>
      line(yearOf([visit(over)], insuranceExhausted(), rs).results[0]!, 'assistance');

    it('ordinary-outpatient (shipped): 70 %, capped 800.00 a year (004 第十条)', () => {
      expect(assistance(panzhihua2024)).toMatchObject({
        bucket: 'ordinary-outpatient',
        fundPayamt: '800.00',
      });
    });

    it('inpatient-chronic: 70 % with the 70,000.00 cap and the referral rule (004 第十二、十七条)', () => {
      const rs = panzhihua2024With({
        emergencyBucket: choose('inpatient-chronic', '004 第十一条、第十二条'),
      });
      // 2,000.00 × 0.70 = 1,400.00 (004 第十二条)
      expect(assistance(rs)).toMatchObject({ bucket: 'inpatient-chronic', fundPayamt: '1400.00' });
      // without a referral: outside assistance (004 第十七条)
      expect(assistance(rs, { referred: false })?.fundPayamt).toBe('0.00');
    });

    it('none: emergency visits get no assistance', () => {
      const rs = panzhihua2024With({ emergencyBucket: choose('none', '004 第十五条') });
      expect(assistance(rs)).toBeUndefined();
    });
  });

  describe('rule-set versions', () => {
    it('new bills get panzhihua-2023.2; replay of 2023.1 reproduces its reading', () => {
      expect(book.resolve('panzhihua', '2024-05-10').version).toBe(
        'panzhihua-2023.2+figures-2024.1',
      );
      const old = compiled(book.resolveVersion('panzhihua-2023.1+figures-2024.1', '2024-05-10'));
      const { results } = yearOf(
        [
          bill({ inscpScpAmt: '10000.00', mdtrtId: 'V1' }),
          bill({ inscpScpAmt: '1000.00', mdtrtId: 'V2', identities: ['dibao'] }),
          bill({ inscpScpAmt: '100.00', mdtrtId: 'V3', medType: '11', identities: ['dibao'] }),
        ],
        insuranceExhausted(),
        old,
      );
      // 2023.1: the unidentified bill's burden counted (tilted 150.00, 004 第十三条 as first
      // read); ordinary outpatient burden did not (no tilted line on V3)
      expect(results.map((r) => line(r, 'tilted')?.fundPayamt)).toEqual([
        undefined,
        '150.00',
        undefined,
      ]);
      expect(results[0]?.ruleSetVersion).toBe('panzhihua-2023.1+figures-2024.1');
    });
  });
});
