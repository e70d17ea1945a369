/**
 * Visit kinds in Panzhihua (rule set visitKinds): 004 names no 抢救, 日间手术 or 谈判药品; the
 * rule set places each with its article. 低保: ordinary outpatient 70 % capped 800.00 a year
 * (004 第十条); inpatient and 门诊慢特病 70 % capped 70,000.00 (004 第十二条).
 */
import { bill, insuranceExhausted, line, one } from '../support';

const dibao = (over: Partial<Parameters<typeof bill>[0]> & { inscpScpAmt: string }) =>
  one(bill({ identities: ['dibao'], inProvince: false, ...over }), insuranceExhausted());

describe('Panzhihua visit kinds', () => {
  it('an emergency admission without a referral is assisted (004 第十七条 原则上); a plain one is not', () => {
    const r = dibao({ inscpScpAmt: '1000.00', visitKind: 'emergency-admission', referred: false });
    // 1,000.00 × 0.70 = 700.00 (004 第十二条)
    expect(line(r, 'assistance')).toMatchObject({
      bucket: 'inpatient-chronic',
      fundPayamt: '700.00',
    });
    // without the kind: cost without a referral is outside assistance (004 第十七条)
    expect(line(dibao({ inscpScpAmt: '1000.00', referred: false }), 'assistance')?.fundPayamt).toBe(
      '0.00',
    );
  });

  it('negotiated-drug outpatient use counts with 门诊慢特病, not under the 800.00 outpatient cap', () => {
    const r = dibao({ inscpScpAmt: '2000.00', medType: '11', visitKind: 'negotiated-drug' });
    // 2,000.00 × 0.70 = 1,400.00 in the inpatient + 门诊慢特病 bucket (004 第十一条、第十二条)
    expect(line(r, 'assistance')).toMatchObject({
      bucket: 'inpatient-chronic',
      fundPayamt: '1400.00',
    });
    expect(r.visitClass).toBe('chronic-outpatient');
    // as a plain ordinary outpatient visit: 1,400.00 capped at 800.00 (004 第十条)
    const plain = dibao({ inscpScpAmt: '2000.00', medType: '11' });
    expect(line(plain, 'assistance')).toMatchObject({
      bucket: 'ordinary-outpatient',
      fundPayamt: '800.00',
    });
  });

  it('day surgery counts as an inpatient stay (004 第十一条、第十二条)', () => {
    const r = dibao({ inscpScpAmt: '1000.00', visitKind: 'day-surgery' });
    expect(line(r, 'assistance')).toMatchObject({
      bucket: 'inpatient-chronic',
      fundPayamt: '700.00',
    });
  });

  it('rescue counts as an ordinary outpatient visit, as emergency visits do (004 第九条、第十条)', () => {
    const r = dibao({ inscpScpAmt: '2000.00', medType: '13', visitKind: 'rescue' });
    // 2,000.00 × 0.70 = 1,400.00, capped at 800.00 (004 第十条)
    expect(line(r, 'assistance')).toMatchObject({
      bucket: 'ordinary-outpatient',
      fundPayamt: '800.00',
    });
  });
});
