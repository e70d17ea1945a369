/**
 * 002 第六条: four classes; 第十条: annual deductible as a share of the Yunnan PCDI (example figure
 * config/figures/baoshan-2024.json pcdi 28,421.00); 第十一条: ratios 100 / 70 / 60 / 50 %.
 * Insurance tiers are at their caps (support.ts insuranceExhausted), so the base is inscp_scp_amt.
 */
import { bsBill, maf, one } from './support';

const inpatient = (identity: string, inscp: string) =>
  one(bsBill({ identities: [identity], inscpScpAmt: inscp }));

describe('Baoshan four assistance classes', () => {
  it('class 1 (特困, 孤儿, 事实无人抚养儿童) has no deductible and 100 %', () => {
    // 002 第十条、第十一条: 一类 no deductible, 100 % × 10,000.00 = 10,000.00
    expect(maf(inpatient('tekun', '10000.00'))).toBe('10000.00');
    expect(maf(inpatient('guer', '10000.00'))).toBe('10000.00');
    expect(maf(inpatient('de_facto_orphan', '10000.00'))).toBe('10000.00');
    // the first fen is paid: 100 % × 0.01 = 0.01
    expect(maf(inpatient('tekun', '0.01'))).toBe('0.01');
  });

  it('class 2 (低保, 返贫致贫) has no deductible and 70 %', () => {
    // 002 第十条、第十一条: 二类 70 % × 10,000.00 = 7,000.00
    expect(maf(inpatient('dibao', '10000.00'))).toBe('7000.00');
    expect(maf(inpatient('relapse_poor', '10000.00'))).toBe('7000.00');
    // 70 % × 0.01 = 0.007 → 0.01 (half-up to the fen)
    expect(maf(inpatient('dibao', '0.01'))).toBe('0.01');
  });

  it('class 3 pays 60 % above a deductible of 10 % of the Yunnan PCDI', () => {
    // 002 第十条: 三类 deductible 10 % × 28,421.00 = 2,842.10; 第十一条: 60 %
    // 60 % × (10,000.00 − 2,842.10) = 60 % × 7,157.90 = 4,294.74
    for (const id of ['dibao_edge', 'monitored', 'deep_hardship_worker']) {
      expect(maf(inpatient(id, '10000.00'))).toBe('4294.74');
    }
  });

  it('class 3 deductible edge: one fen under, exactly, one fen over', () => {
    // 002 第十条: deductible 2,842.10
    expect(maf(inpatient('dibao_edge', '2842.09'))).toBe('0.00');
    expect(maf(inpatient('dibao_edge', '2842.10'))).toBe('0.00');
    // 60 % × 0.01 = 0.006 → 0.01
    expect(maf(inpatient('dibao_edge', '2842.11'))).toBe('0.01');
    const r = inpatient('dibao_edge', '2842.11');
    const detail = r.setldetail.find((d) => d.fund === 'assistance');
    expect(detail?.setlProcInfo.find((s) => s.step === 'deductible')?.amount).toBe('2842.10');
  });

  it('class 4 pays 50 % above a deductible of 25 % of the Yunnan PCDI', () => {
    // 002 第十条: 四类 deductible 25 % × 28,421.00 = 7,105.25; 第十一条: 50 %
    // 50 % × (10,000.00 − 7,105.25) = 50 % × 2,894.75 = 1,447.375 → 1,447.38
    for (const id of ['illness_poor', 'relative_hardship_worker', 'county_named']) {
      expect(maf(inpatient(id, '10000.00'))).toBe('1447.38');
    }
  });

  it('class 4 deductible edge: one fen under, exactly, one fen over', () => {
    // 002 第十条: deductible 7,105.25
    expect(maf(inpatient('illness_poor', '7105.24'))).toBe('0.00');
    expect(maf(inpatient('illness_poor', '7105.25'))).toBe('0.00');
    // 50 % × 0.01 = 0.005 → 0.01 (half-up)
    expect(maf(inpatient('illness_poor', '7105.26'))).toBe('0.01');
  });
});
