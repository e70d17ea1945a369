import { type Accumulators, bill, emptyAccumulators, line, one, yearOf } from '../support';

/**
 * Basic insurance is at its pooled cap, so the critical-illness base grows by the whole in-scope
 * cost of a chronic-outpatient visit (med_type 14). Figures: insurance.critical.390 — deductible
 * 12,000.00, segments 0.60 up to 50,000.00 above it, 0.65 up to 100,000.00, 0.70 beyond, cap
 * 400,000.00. The person is not referred, so no assistance muddies the lines.
 */
const basicCapped = (over: Partial<Accumulators> = {}): Accumulators => ({
  ...emptyAccumulators(2024),
  basicPaid: { pooled: '200000.00' },
  ...over,
});
const chronic = (inscp: string, identities: string[] = []) =>
  bill({ inscpScpAmt: inscp, medType: '14', identities, referred: false });

describe('Panzhihua critical-illness insurance (example values, insurance.critical.390)', () => {
  it.each([
    ['11999.99', '0.00'],
    ['12000.00', '0.00'],
    ['12000.01', '0.01'], // 0.01 × 0.60 = 0.006 → 0.01
    // first segment edge: 62,000.00 − 12,000.00 = 50,000.00 × 0.60 = 30,000.00
    ['61999.99', '29999.99'], // 49,999.99 × 0.60 = 29,999.994 → 29,999.99
    ['62000.00', '30000.00'],
    ['62000.01', '30000.01'], // 30,000.00 + 0.01 × 0.65 = 30,000.0065 → 30,000.01
    // second segment edge: 30,000.00 + 50,000.00 × 0.65 = 62,500.00
    ['111999.99', '62499.99'], // 62,500.00 − 0.01 × 0.65 = 62,499.9935 → 62,499.99
    ['112000.00', '62500.00'],
    ['112000.01', '62500.01'], // 62,500.00 + 0.007 → 62,500.01
  ] as const)('a year base of %s pays %s', (inscp, pay) => {
    const r = one(chronic(inscp), basicCapped());
    expect(r.setlinfo.hifmiPay).toBe(pay);
  });

  it('accumulates the base over the bills of the year', () => {
    const { results, accumulators } = yearOf(
      [chronic('8000.00'), chronic('8000.00'), chronic('50000.00')],
      basicCapped(),
    );
    // 8,000.00 → 0.00; 16,000.00: (16,000.00 − 12,000.00) × 0.60 = 2,400.00;
    // 66,000.00: 46,000.00 × 0.60 = 27,600.00 to the 50,000.00 edge, then 4,000.00 × 0.65 = 2,600.00
    expect(results.map((r) => r.setlinfo.hifmiPay)).toEqual(['0.00', '2400.00', '30200.00']);
    expect(accumulators.criticalBase).toBe('66000.00');
    expect(accumulators.criticalPaid).toBe('32600.00');
    const segs = line(results[2]!, 'critical')?.setlProcInfo.filter((s) => s.step === 'segment');
    expect(segs?.map((s) => [s.base, s.ratio, s.amount])).toEqual([
      ['46000.00', '0.60', '27600.00'],
      ['4000.00', '0.65', '2600.00'],
    ]);
  });

  // base already above 100,000.00 over the deductible: 1,500.00 × 0.70 = 1,050.00 raw
  it.each([
    ['398950.00', '1050.00', false],
    ['398949.99', '1050.00', false],
    ['398950.01', '1049.99', true], // 400,000.00 − 398,950.01
  ] as const)('annual cap: with %s paid before, pays %s (capHit %s)', (before, pay, hit) => {
    const r = one(
      chronic('1500.00'),
      basicCapped({ criticalBase: '112000.00', criticalPaid: before }),
    );
    expect(r.setlinfo.hifmiPay).toBe(pay);
    expect(line(r, 'critical')?.setlProcInfo.find((s) => s.step === 'cap')).toMatchObject({
      cap: '400000.00',
      capHit: hit,
      base: '1050.00',
    });
  });

  describe('tilt for 特困, 孤儿, 低保 (004 第八条): deductible halved, ratios + 5 points', () => {
    it.each(['tekun', 'guer', 'dibao'])('%s: deductible 6,000.00 and ratio 0.65', (cat) => {
      // 12,000.00 × 0.5 = 6,000.00 (004 第八条)
      expect(one(chronic('5999.99', [cat]), basicCapped()).setlinfo.hifmiPay).toBe('0.00');
      expect(one(chronic('6000.00', [cat]), basicCapped()).setlinfo.hifmiPay).toBe('0.00');
      // 0.01 × (0.60 + 0.05) = 0.0065 → 0.01
      expect(one(chronic('6000.01', [cat]), basicCapped()).setlinfo.hifmiPay).toBe('0.01');
      // 50,000.00 × 0.65 + 50,000.00 × 0.70 + 1,000.00 × 0.75 = 32,500 + 35,000 + 750 = 68,250.00
      const big = one(chronic('107000.00', [cat]), basicCapped());
      expect(big.setlinfo.hifmiPay).toBe('68250.00');
      const ded = line(big, 'critical')?.setlProcInfo[0];
      expect(ded).toMatchObject({ step: 'deductible', deductible: '6000.00' });
      expect(ded?.article).toContain('004 第八条');
    });

    it.each(['monitored', 'dibao_edge', 'illness_poor'])('%s: no tilt', (cat) => {
      expect(one(chronic('12000.00', [cat]), basicCapped()).setlinfo.hifmiPay).toBe('0.00');
      expect(one(chronic('12000.01', [cat]), basicCapped()).setlinfo.hifmiPay).toBe('0.01');
      // 6,000.01 is below the untilted deductible 12,000.00
      expect(one(chronic('6000.01', [cat]), basicCapped()).setlinfo.hifmiPay).toBe('0.00');
      expect(one(chronic('62000.00', [cat]), basicCapped()).setlinfo.hifmiPay).toBe('30000.00');
    });
  });
});
