/**
 * 002 第十四条: a person with several identities gets the highest class, never two at once, and the
 * class used is recorded on the bill. A person with no category gets no assistance.
 */
import { bsBill, maf, one } from './support';

const inpatient = (identities: string[], inscp = '10000.00') =>
  one(bsBill({ identities, inscpScpAmt: inscp }));

describe('Baoshan several identities and none', () => {
  it('class 1 and class 4 → class 1 applies, recorded, one assistance line', () => {
    // 002 第十四条: 一类 100 % × 10,000.00 = 10,000.00 (not 10,000.00 + 四类 1,447.38)
    const r = inpatient(['illness_poor', 'tekun']);
    expect(maf(r)).toBe('10000.00');
    expect(r.categoryUsed).toBe('tekun');
    expect(r.setldetail.filter((d) => d.fund === 'assistance')).toHaveLength(1);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain('tekun');
  });

  it('class 2 and class 3 → class 2 applies', () => {
    // 002 第十一条: 二类 70 % × 10,000.00 = 7,000.00 > 三类 60 % × 7,157.90 = 4,294.74
    const r = inpatient(['dibao_edge', 'dibao']);
    expect(maf(r)).toBe('7000.00');
    expect(r.categoryUsed).toBe('dibao');
  });

  it('class 3 and class 4 → class 3 applies', () => {
    // 三类 4,294.74 > 四类 1,447.38 (four-classes.spec.ts)
    const r = inpatient(['county_named', 'monitored']);
    expect(maf(r)).toBe('4294.74');
    expect(r.categoryUsed).toBe('monitored');
  });

  it('two identities of the same class → the category ranked first, paid once', () => {
    const r = inpatient(['guer', 'tekun']);
    expect(maf(r)).toBe('10000.00');
    expect(r.categoryUsed).toBe('tekun');
    // the year's cap bucket counts the bill once: 10,000.00
    expect(r.accumulators.assistancePaid).toEqual({ inpatient: '10000.00' });
  });

  it('the same identity twice counts once and raises no warning', () => {
    const r = inpatient(['dibao', 'dibao']);
    expect(maf(r)).toBe('7000.00');
    expect(r.warnings).toEqual([]);
  });

  it('no category → no assistance', () => {
    const r = inpatient([]);
    expect(maf(r)).toBe('0.00');
    expect(r.categoryUsed).toBeNull();
    expect(r.setldetail.some((d) => d.fund === 'assistance' || d.fund === 'tilted')).toBe(false);
    expect(r.setlinfo.psnCashPay).toBe('10000.00');
  });
});
