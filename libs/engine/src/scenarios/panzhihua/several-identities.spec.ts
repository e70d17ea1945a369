import { bill, caught, insuranceExhausted, line, one } from '../support';

describe('Panzhihua several identities (004 第十四条)', () => {
  it('applies the most generous category, once, and records it on the bill', () => {
    const r = one(
      bill({ inscpScpAmt: '10000.00', identities: ['dibao_edge', 'dibao'], inProvince: false }),
      insuranceExhausted(),
    );
    // 低保 70 % × 10,000.00 = 7,000.00 beats 低保边缘 (10,000.00 − 4,356.70) × 0.50 = 2,821.65;
    // never 7,000.00 + 2,821.65
    expect(r.categoryUsed).toBe('dibao');
    expect(r.setlinfo.mafPay).toBe('7000.00');
    expect(r.setldetail.filter((d) => d.fund === 'assistance')).toHaveLength(1);
    expect(r.warnings.join(' ')).toContain('004 第十四条');
  });

  it('特困 over 低保', () => {
    const r = one(
      bill({ inscpScpAmt: '1000.00', identities: ['dibao', 'tekun'] }),
      insuranceExhausted(),
    );
    expect(r.categoryUsed).toBe('tekun');
    expect(r.setlinfo.mafPay).toBe('1000.00');
  });

  it('防止返贫监测 over 低保边缘 over 因病致贫', () => {
    const r = one(
      bill({
        inscpScpAmt: '10000.00',
        identities: ['illness_poor', 'dibao_edge', 'monitored'],
        inProvince: false,
      }),
      insuranceExhausted(),
    );
    // (10,000.00 − 2,178.35) × 0.65 = 5,084.0725 → 5,084.07 (004 第十二条)
    expect(r.categoryUsed).toBe('monitored');
    expect(r.setlinfo.mafPay).toBe('5084.07');
  });

  it('a tie goes to the category ranked first', () => {
    // ordinary outpatient: 特困 and 孤儿 both 100 %
    const r = one(
      bill({ inscpScpAmt: '100.00', medType: '11', identities: ['guer', 'tekun'] }),
      insuranceExhausted(),
    );
    expect(r.categoryUsed).toBe('tekun');
  });

  it('a person with no category gets no assistance and no tilt', () => {
    const r = one(
      bill({ inscpScpAmt: '20000.00' }),
      insuranceExhausted({ tiltedBurden: '8000.00' }),
    );
    expect(r.categoryUsed).toBeNull();
    expect(line(r, 'assistance')).toBeUndefined();
    expect(line(r, 'tilted')).toBeUndefined();
    expect(r.setlinfo.psnCashPay).toBe('20000.00');
  });

  it('rejects an identity code the rule set does not know, naming the field', () => {
    expect(caught(() => one(bill({ inscpScpAmt: '1.00', identities: ['wubao'] })))).toMatchObject({
      field: 'identities',
      code: 'UNKNOWN_IDENTITY',
    });
  });
});
