/**
 * 002 第九条: assistance covers inpatient, chronic/special outpatient and emergency rescue — not
 * ordinary outpatient (med_type 11). Cost without a proper referral is excluded, except emergency
 * rescue (med_type 13) and follow-up visits (fu_flag 1).
 */
import { bsBill, maf, one } from './support';

const tekun = (medType: string, extra: Partial<Parameters<typeof bsBill>[0]> = {}) =>
  one(bsBill({ identities: ['tekun'], medType, inscpScpAmt: '1000.00', ...extra }));

describe('Baoshan assistance scope and referral', () => {
  it('ordinary outpatient (med_type 11) gets no assistance, even for class 1', () => {
    // 002 第九条: ordinary outpatient is outside the scope → maf_pay 0.00, no assistance line
    const r = tekun('11');
    expect(maf(r)).toBe('0.00');
    expect(r.setldetail.some((d) => d.fund === 'assistance')).toBe(false);
    // insurance exhausted, no assistance: the person pays the in-scope 1,000.00
    expect(r.setlinfo.psnCashPay).toBe('1000.00');
  });

  it('inpatient without referral gets no assistance', () => {
    // 002 第九条: refl_flag 0 → excluded
    const r = tekun('21', { referred: false });
    expect(maf(r)).toBe('0.00');
    const line = r.setldetail.find((d) => d.fund === 'assistance');
    expect(line?.setlProcInfo[0]?.step).toBe('referral');
  });

  it('chronic outpatient without referral gets no assistance', () => {
    expect(maf(tekun('14', { referred: false }))).toBe('0.00');
  });

  it('emergency rescue without referral is assisted', () => {
    // 002 第九条 exception: 100 % × 1,000.00 = 1,000.00
    expect(maf(tekun('13', { referred: false }))).toBe('1000.00');
  });

  it('a follow-up visit without referral is assisted, inpatient and chronic outpatient', () => {
    // 002 第九条 exception: fu_flag 1 → 100 % × 1,000.00 = 1,000.00
    expect(maf(tekun('21', { referred: false, followUp: true }))).toBe('1000.00');
    expect(maf(tekun('14', { referred: false, followUp: true }))).toBe('1000.00');
  });

  it('a referred inpatient is assisted', () => {
    expect(maf(tekun('21'))).toBe('1000.00');
  });

  it('an unreferred inpatient does not consume the deductible', () => {
    // 002 第十条: excluded cost is outside assistance, so 2,842.10 is still owed afterwards:
    // referred 3,842.10 → 60 % × (3,842.10 − 2,842.10) = 600.00
    const first = one(
      bsBill({ identities: ['dibao_edge'], referred: false, inscpScpAmt: '5000.00' }),
    );
    const second = one(
      bsBill({ identities: ['dibao_edge'], inscpScpAmt: '3842.10' }),
      first.accumulators,
    );
    expect(maf(first)).toBe('0.00');
    expect(maf(second)).toBe('600.00');
  });
});
