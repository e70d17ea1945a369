/**
 * 002 第十条: the assistance deductible accumulates over the calendar year, across inpatient and
 * outpatient (chronic, emergency) visits alike: one deductible, not one per visit or per bucket.
 */
import { bsBill, maf, run } from './support';

const edge = (inscp: string, medType = '21') =>
  bsBill({ identities: ['dibao_edge'], medType, inscpScpAmt: inscp });

describe('Baoshan deductible accumulates over the year across inpatient and outpatient', () => {
  it('an inpatient bill below the deductible leaves the rest for a later outpatient bill', () => {
    // 002 第十条: 三类 deductible 10 % × 28,421.00 = 2,842.10
    // inpatient 2,000.00 → all deductible, 0.00; 842.10 left
    // chronic outpatient 1,000.00 → 842.10 deductible, 60 % × 157.90 = 94.74
    // emergency 100.00 → deductible spent, 60 % × 100.00 = 60.00
    const r = run([edge('2000.00'), edge('1000.00', '14'), edge('100.00', '13')]);
    expect(r.map(maf)).toEqual(['0.00', '94.74', '60.00']);
    expect(r[2]?.accumulators.assistanceDeductibleUsed).toEqual({ year: '2842.10' });
  });

  it('second visit reaches the remaining deductible: one fen under, exactly, one fen over', () => {
    // 2,000.00 + 842.09 = 2,842.09 < 2,842.10 → 0.00
    expect(run([edge('2000.00'), edge('842.09', '14')]).map(maf)).toEqual(['0.00', '0.00']);
    // 2,000.00 + 842.10 = 2,842.10 → 0.00, deductible exactly spent
    expect(run([edge('2000.00'), edge('842.10', '14')]).map(maf)).toEqual(['0.00', '0.00']);
    // 2,000.00 + 842.11 → 60 % × 0.01 = 0.006 → 0.01
    expect(run([edge('2000.00'), edge('842.11', '14')]).map(maf)).toEqual(['0.00', '0.01']);
  });

  it('an outpatient visit first consumes the deductible for a later inpatient stay', () => {
    // 002 第十条: emergency 2,842.10 spends the deductible; inpatient 1,000.00 → 60 % = 600.00
    expect(run([edge('2842.10', '13'), edge('1000.00')]).map(maf)).toEqual(['0.00', '600.00']);
  });
});
