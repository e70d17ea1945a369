/**
 * 002 第九条 names visit kinds that med_type alone cannot say: 门诊急诊抢救 (rescue), 日间手术 (day
 * surgery), 谈判药品门诊 (negotiated-drug outpatient use); and an admission through the emergency
 * department. The rule set's visitKinds says for each the bucket (its deductible group and cap)
 * and the referral exemption. 低保 (二类): no deductible, 70 % (002 第十条、第十一条); insurance at
 * its caps, so assistance works on the in-scope cost.
 */
import { bsBill, insuranceExhausted, maf, one } from './support';
import { EngineError } from '../../errors';
import { caught } from '../support';

const dibao = (over: Partial<Parameters<typeof bsBill>[0]>) =>
  one(bsBill({ identities: ['dibao'], inscpScpAmt: '1000.00', ...over }), insuranceExhausted());
const bucketOf = (r: ReturnType<typeof one>) =>
  r.setldetail.find((d) => d.fund === 'assistance')?.bucket;

describe('Baoshan visit kinds (002 第九条)', () => {
  it('negotiated-drug outpatient use is assisted in the outpatient bucket; ordinary outpatient is not', () => {
    // 002 第九条: 1,000.00 × 0.70 = 700.00 against the outpatient cap (第十二条)
    const r = dibao({ medType: '11', visitKind: 'negotiated-drug' });
    expect(maf(r)).toBe('700.00');
    expect(bucketOf(r)).toBe('outpatient');
    expect(r.visitKind).toBe('negotiated-drug');
    // the same visit without the kind is ordinary outpatient: outside the scope (002 第九条)
    expect(maf(dibao({ medType: '11' }))).toBe('0.00');
    // not exempt from the referral rule (002 第九条)
    expect(maf(dibao({ medType: '11', visitKind: 'negotiated-drug', referred: false }))).toBe(
      '0.00',
    );
  });

  it('an emergency admission without a referral is assisted; a plain admission is not', () => {
    // 002 第九条 除急诊抢救外: 700.00 in the inpatient bucket
    const r = dibao({ medType: '21', visitKind: 'emergency-admission', referred: false });
    expect(maf(r)).toBe('700.00');
    expect(bucketOf(r)).toBe('inpatient');
    const first = r.setldetail.find((d) => d.fund === 'assistance')?.setlProcInfo[0];
    expect(first?.step).toBe('visit-kind');
    expect(first?.article).toContain('002 第九条');
    expect(maf(dibao({ medType: '21', referred: false }))).toBe('0.00');
  });

  it('day surgery counts in the inpatient bucket and needs a referral', () => {
    const r = dibao({ medType: '21', visitKind: 'day-surgery' });
    // 002 第九条 日间手术: 700.00 against the inpatient cap 28,421.00 (第十二条, example figure)
    expect(maf(r)).toBe('700.00');
    expect(r.accumulators.assistancePaid).toEqual({ inpatient: '700.00' });
    expect(maf(dibao({ medType: '21', visitKind: 'day-surgery', referred: false }))).toBe('0.00');
  });

  it('rescue (med_type 13) is exempt from the referral rule, in the outpatient bucket', () => {
    const r = dibao({ medType: '13', visitKind: 'rescue', referred: false });
    // 002 第九条 门诊急诊抢救: 700.00
    expect(maf(r)).toBe('700.00');
    expect(bucketOf(r)).toBe('outpatient');
  });

  it('refuses a kind with a med_type the rule set does not pair it with, naming visit_kind', () => {
    const e = caught(() => dibao({ medType: '21', visitKind: 'rescue' }));
    expect(e).toBeInstanceOf(EngineError);
    expect(e).toMatchObject({ code: 'UNSUPPORTED_VISIT_KIND', field: 'visit_kind' });
  });
});
