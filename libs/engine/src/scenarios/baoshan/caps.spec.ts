/**
 * 002 第十二条: separate annual caps for inpatient and outpatient assistance, not added together,
 * each at least the Yunnan PCDI (example figures assistanceCapInpatient = assistanceCapOutpatient
 * = 28,421.00, config/figures/baoshan-2024.json). Class 1 (特困, 100 %, no deductible) so the
 * assistance before the cap equals the base.
 */
import { bsBill, maf, one, run } from './support';

const tekun = (inscp: string, medType = '21') =>
  bsBill({ identities: ['tekun'], medType, inscpScpAmt: inscp });

describe('Baoshan separate inpatient and outpatient caps', () => {
  it('inpatient cap edge: one fen under, exactly, one fen over', () => {
    // 002 第十二条: inpatient cap 28,421.00
    expect(maf(one(tekun('28420.99')))).toBe('28420.99');
    expect(maf(one(tekun('28421.00')))).toBe('28421.00');
    expect(maf(one(tekun('28421.01')))).toBe('28421.00');
    const capStep = one(tekun('28421.01'))
      .setldetail.find((d) => d.fund === 'assistance')
      ?.setlProcInfo.find((s) => s.step === 'cap');
    expect(capStep?.capHit).toBe(true);
  });

  it('outpatient cap edge: one fen under, exactly, one fen over', () => {
    // 002 第十二条: outpatient cap 28,421.00 (chronic outpatient, med_type 14)
    expect(maf(one(tekun('28420.99', '14')))).toBe('28420.99');
    expect(maf(one(tekun('28421.00', '14')))).toBe('28421.00');
    expect(maf(one(tekun('28421.01', '14')))).toBe('28421.00');
  });

  it('the inpatient cap is reached over several stays in the year', () => {
    // 20,000.00 + 8,420.99 = 28,420.99 paid; next 0.02 → only 0.01 left under 28,421.00
    const r = run([tekun('20000.00'), tekun('8420.99'), tekun('0.02'), tekun('500.00')]);
    expect(r.map(maf)).toEqual(['20000.00', '8420.99', '0.01', '0.00']);
  });

  it('the caps are not added together: outpatient still pays after the inpatient cap is spent', () => {
    // inpatient 40,000.00 → 28,421.00 (cap); chronic outpatient 30,000.00 → 28,421.00 (its own
    // cap); emergency 10.00 → 0.00 (outpatient cap spent); inpatient 10.00 → 0.00
    const r = run([
      tekun('40000.00'),
      tekun('30000.00', '14'),
      tekun('10.00', '13'),
      tekun('10.00'),
    ]);
    expect(r.map(maf)).toEqual(['28421.00', '28421.00', '0.00', '0.00']);
    // the year's total 56,842.00 = 2 × 28,421.00, never one pooled cap of 56,842.00 on either side
    expect(r[3]?.accumulators.assistancePaid).toEqual({
      inpatient: '28421.00',
      outpatient: '28421.00',
    });
  });

  it('emergency and chronic outpatient share the one outpatient cap', () => {
    // 002 第十二条: 28,000.00 chronic + 421.00 emergency = 28,421.00; then 0.01 → 0.00
    const r = run([tekun('28000.00', '14'), tekun('421.00', '13'), tekun('0.01', '14')]);
    expect(r.map(maf)).toEqual(['28000.00', '421.00', '0.00']);
  });
});
