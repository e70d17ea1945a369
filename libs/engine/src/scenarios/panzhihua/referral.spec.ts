import { bill, insuranceExhausted, line, one } from '../support';

describe('Panzhihua referral (004 第十七条)', () => {
  it.each(['21', '14'])('cost without a proper referral (med_type %s) gets no assistance', (mt) => {
    const r = one(
      bill({ inscpScpAmt: '10000.00', medType: mt, identities: ['dibao'], referred: false }),
      insuranceExhausted(),
    );
    expect(r.setlinfo.mafPay).toBe('0.00');
    const steps = line(r, 'assistance')?.setlProcInfo ?? [];
    expect(steps.map((s) => [s.step, s.amount])).toEqual([['referral', '0.00']]);
    expect(steps[0]?.article).toContain('第十七条');
    // no tilted assistance either (004 第十三条 needs the referral)
    expect(line(r, 'tilted')).toBeUndefined();
    expect(r.setlinfo.psnCashPay).toBe('10000.00');
    expect(r.accumulators.assistancePaid).toEqual({});
  });

  it('the same bill, referred, is assisted', () => {
    // 低保 70 % × 10,000.00 = 7,000.00 (004 第十一条); burden 3,000.00 ≤ 7,600.00 → tilted 0.00
    const r = one(bill({ inscpScpAmt: '10000.00', identities: ['dibao'] }), insuranceExhausted());
    expect(r.setlinfo.mafPay).toBe('7000.00');
  });

  it('ordinary outpatient assistance does not need a referral', () => {
    const r = one(
      bill({ inscpScpAmt: '100.00', medType: '11', identities: ['dibao'], referred: false }),
      insuranceExhausted(),
    );
    // 100.00 × 0.70 = 70.00 (004 第十条)
    expect(r.setlinfo.mafPay).toBe('70.00');
  });
});
