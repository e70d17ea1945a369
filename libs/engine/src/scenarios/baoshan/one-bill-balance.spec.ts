/**
 * One-bill settlement (一单制): funds plus the patient's cash equal the bill's total, to the fen
 * (POLICY "Order of tiers" invariant; 002 第九条: assistance covers only the in-scope personal part).
 * Insurance figures are example values of the rule set (insurance.basic.390.inpatient level 1:
 * deductible 200.00 per visit, ratio 0.85; insurance.critical.390 deductible 12,000.00, tilted 6,000.00).
 */
import { emptyAccumulators, bsBill, one } from './support';

describe('Baoshan one bill balances', () => {
  it('class 1 inpatient: basic, assistance and out-of-scope cash add up to the total', () => {
    // basic 85 % × (28,000.00 − 200.00) = 23,630.00; personal 4,370.00 < tilted critical
    // deductible 6,000.00 → critical 0.00; 002 第十一条 一类 100 % × 4,370.00 = 4,370.00;
    // cash = out-of-scope 2,000.00; 23,630.00 + 4,370.00 + 2,000.00 = 30,000.00
    const r = one(
      bsBill({ identities: ['tekun'], inscpScpAmt: '28000.00', fulamtOwnpayAmt: '2000.00' }),
      emptyAccumulators(2024),
    );
    const s = r.setlinfo;
    expect(s.medfeeSumamt).toBe('30000.00');
    expect(s.hifpPay).toBe('23630.00');
    expect(s.hifmiPay).toBe('0.00');
    expect(s.mafPay).toBe('4370.00');
    expect(s.fundPaySumamt).toBe('28000.00');
    expect(s.psnCashPay).toBe('2000.00');
    expect(s.psnPartAmt).toBe('2000.00');
    expect(s.inscpPsnPart).toBe('0.00');
  });

  it('class 4 inpatient: the patient pays the deductible, the unassisted half and out-of-scope', () => {
    // basic 85 % × (28,000.00 − 200.00) = 23,630.00; personal 4,370.00 < 12,000.00 → critical 0.00
    // 002 第十条: 四类 deductible 7,105.25 > 4,370.00 → assistance 0.00
    // cash 4,370.00 + 2,000.00 = 6,370.00; 23,630.00 + 6,370.00 = 30,000.00
    const r = one(
      bsBill({ identities: ['illness_poor'], inscpScpAmt: '28000.00', fulamtOwnpayAmt: '2000.00' }),
      emptyAccumulators(2024),
    );
    expect(r.setlinfo.hifpPay).toBe('23630.00');
    expect(r.setlinfo.mafPay).toBe('0.00');
    expect(r.setlinfo.psnCashPay).toBe('6370.00');
  });
});
