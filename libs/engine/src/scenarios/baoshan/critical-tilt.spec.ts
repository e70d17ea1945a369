/**
 * Critical-illness tilt for classes 1–2 per the rule set data (baoshan-2023.v1.json `tilt`:
 * categories tekun, guer, de_facto_orphan, dibao, relapse_poor; deductibleFactor 0.50,
 * ratioAddition 0.05). Critical-illness figures are example values (insurance.critical.390:
 * deductible 12,000.00, first segment up to 50,000.00 above it at 60 %). Basic insurance is at its
 * pooled cap (insurance.basic.390.inpatient.annualCap 200,000.00) so the critical base is inscp.
 */
import { emptyAccumulators, bsBill, maf, one } from './support';

const basicExhausted = () => ({ ...emptyAccumulators(2024), basicPaid: { pooled: '200000.00' } });
const inpatient = (identity: string, inscp: string) =>
  one(bsBill({ identities: [identity], inscpScpAmt: inscp }), basicExhausted());

describe('Baoshan critical-illness tilt for classes 1 and 2', () => {
  it('class 2: deductible halved, ratio raised 5 points, then assistance on the rest', () => {
    // rule set tilt: deductible 12,000.00 × 0.50 = 6,000.00; ratio 0.60 + 0.05 = 0.65
    // critical 65 % × (20,000.00 − 6,000.00) = 9,100.00; personal 10,900.00
    // 002 第十一条: 二类 70 % × 10,900.00 = 7,630.00; cash 20,000.00 − 9,100.00 − 7,630.00 = 3,270.00
    const r = inpatient('dibao', '20000.00');
    expect(r.setlinfo.hifmiPay).toBe('9100.00');
    expect(maf(r)).toBe('7630.00');
    expect(r.setlinfo.psnCashPay).toBe('3270.00');
  });

  it('class 3 gets no tilt', () => {
    // critical 60 % × (20,000.00 − 12,000.00) = 4,800.00; personal 15,200.00
    // 002 第十条、第十一条: 60 % × (15,200.00 − 2,842.10) = 60 % × 12,357.90 = 7,414.74
    const r = inpatient('dibao_edge', '20000.00');
    expect(r.setlinfo.hifmiPay).toBe('4800.00');
    expect(maf(r)).toBe('7414.74');
  });

  it('class 1 tilted deductible edge 6,000.00: one fen under, exactly, one fen over', () => {
    expect(inpatient('tekun', '5999.99').setlinfo.hifmiPay).toBe('0.00');
    expect(inpatient('tekun', '6000.00').setlinfo.hifmiPay).toBe('0.00');
    // 65 % × 0.01 = 0.0065 → 0.01
    expect(inpatient('tekun', '6000.01').setlinfo.hifmiPay).toBe('0.01');
  });

  it('class 4 untilted deductible edge 12,000.00: one fen under, exactly, one fen over', () => {
    expect(inpatient('illness_poor', '11999.99').setlinfo.hifmiPay).toBe('0.00');
    expect(inpatient('illness_poor', '12000.00').setlinfo.hifmiPay).toBe('0.00');
    // 60 % × 0.01 = 0.006 → 0.01
    expect(inpatient('illness_poor', '12000.01').setlinfo.hifmiPay).toBe('0.01');
  });

  it('no category gets no tilt', () => {
    // insurance.critical.390: 60 % × (20,000.00 − 12,000.00) = 4,800.00, against 9,100.00 for 特困
    const none = one(bsBill({ inscpScpAmt: '20000.00' }), basicExhausted());
    expect(none.setlinfo.hifmiPay).toBe('4800.00');
    expect(inpatient('tekun', '20000.00').setlinfo.hifmiPay).toBe('9100.00');
  });
});
