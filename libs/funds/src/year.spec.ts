import baoshan2026 from '../../../config/funds/baoshan-2026.json';
import jilin2026 from '../../../config/funds/jilin-example-2026.json';
import panzhihua2026 from '../../../config/funds/panzhihua-2026.json';
import { allocateByFactors, fundStatement, FundInputError, parseFundYear } from './index';
import type { BaoshanStatement, BaoshanYear, PanzhihuaStatement } from './index';

const fieldOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FundInputError);
    expect((e as Error).message).toContain((e as FundInputError).field);
    return (e as FundInputError).field;
  }
  return 'no error';
};

describe('yearly fund data (config/funds)', () => {
  it('the shipped EXAMPLE files parse and say they are examples', () => {
    for (const json of [panzhihua2026, baoshan2026, jilin2026]) {
      const y = parseFundYear(json);
      expect(y.year).toBe(2026);
      expect(y.example).toBe(true);
      expect(y.note).toContain('EXAMPLE');
    }
    const b = parseFundYear(baoshan2026) as BaoshanYear;
    expect(b.counties.map((c) => c.admdvs).sort()).toEqual([
      '530502',
      '530521',
      '530523',
      '530524',
      '530581',
    ]);
  });

  it('the shipped Jilin example allocates its whole total (003 第七条)', () => {
    const y = parseFundYear(jilin2026);
    if (y.region !== 'jilin') throw new Error('expected jilin');
    const r = allocateByFactors(y.allocation);
    const fen = r.rows.reduce((s, x) => s + BigInt(x.amount.replace('.', '')), 0n);
    expect(fen).toBe(10_000_000_000n); // 100,000,000.00 yuan
  });

  it('bad data errors name the field', () => {
    const p = structuredClone(panzhihua2026) as Record<string, unknown> & {
      counties: Record<string, unknown>[];
    };
    expect(fieldOf(() => parseFundYear(null))).toBe('(root)');
    expect(fieldOf(() => parseFundYear({ ...p, region: 'kunming' }))).toBe('region');
    expect(fieldOf(() => parseFundYear({ ...p, year: '2026' }))).toBe('year');
    expect(fieldOf(() => parseFundYear({ ...p, example: 'yes' }))).toBe('example');
    expect(fieldOf(() => parseFundYear({ ...p, note: undefined }))).toBe('note');
    const county = (i: number, over: Record<string, unknown>): unknown => ({
      ...p,
      counties: p.counties.map((c, j) => (j === i ? { ...c, ...over } : c)),
    });
    expect(fieldOf(() => parseFundYear(county(0, { admdvs: '510499' })))).toBe(
      'counties[0].admdvs',
    );
    expect(fieldOf(() => parseFundYear(county(1, { admdvs: '510402' })))).toBe(
      'counties[1].admdvs',
    );
    expect(fieldOf(() => parseFundYear(county(1, { name: '东区' })))).toBe('counties[1].name');
    expect(fieldOf(() => parseFundYear(county(2, { raised: 1200000 })))).toBe('counties[2].raised');
    expect(
      fieldOf(() =>
        parseFundYear(county(3, { managementDeficits: [{ amount: '1.00', reason: '?' }] })),
      ),
    ).toBe('counties[3].managementDeficits[0].reason');
    expect(
      fieldOf(() => parseFundYear({ ...baoshan2026, cityAccumulatedSurplus: '2,000,000.00' })),
    ).toBe('cityAccumulatedSurplus');
    expect(
      fieldOf(() =>
        parseFundYear({
          ...baoshan2026,
          counties: baoshan2026.counties.map((c, i) => (i === 4 ? { ...c, budget: '0' } : c)),
        }),
      ),
    ).toBe('counties[4].budget');
    expect(
      fieldOf(() =>
        parseFundYear({
          ...jilin2026,
          allocation: { ...jilin2026.allocation, total: 100 },
        }),
      ),
    ).toBe('allocation.total');
  });
});

describe('fundStatement', () => {
  it('Panzhihua rows and totals (000 第十七条) from the EXAMPLE 2026 data', () => {
    // raised: 东区 1,600,000; 西区 800,000; 仁和区 1,200,000; 米易县 1,100,000; 盐边县 1,000,000
    const s = fundStatement(parseFundYear(panzhihua2026), {
      '510402': '1700000.00', // gap 100,000.00 → city 35 % 35,000.00, county 65,000.00
      '510403': '800000.00', // balance 0
      '510411': '1100000.00', // surplus 100,000.00
      '510421': '1150000.00', // gap 50,000.00 → 米易县 bears it all
      // 盐边县 absent: spent 0.00, surplus 1,000,000.00
    }) as PanzhihuaStatement;
    expect(s.region).toBe('panzhihua');
    expect(s.rows.map((r) => [r.county, r.generalDeficit, r.cityShare, r.countyShare])).toEqual([
      ['510402', '100000.00', '35000.00', '65000.00'],
      ['510403', '0.00', '0.00', '0.00'],
      ['510411', '0.00', '0.00', '0.00'],
      ['510421', '50000.00', '0.00', '50000.00'],
      ['510422', '0.00', '0.00', '0.00'],
    ]);
    expect(s.rows[4]?.spending).toBe('0.00');
    expect(s.totals).toEqual({
      raised: '5700000.00',
      spending: '4750000.00',
      balance: '950000.00',
      surplus: '1100000.00',
      generalDeficit: '150000.00',
      cityShare: '35000.00',
      countyShare: '115000.00',
      managementDeficit: '0.00',
    });
  });

  it('Baoshan rows and totals (002 第二十一条) from the EXAMPLE 2026 data', () => {
    // budgets: 530502 12,000,000; 530521 4,500,000; 530523 4,000,000; 530524 5,000,000; 530581 9,000,000
    const s = fundStatement(parseFundYear(baoshan2026), {
      '530502': '12360000.00', // 360,000.00 = exactly 3 % → city all
      '530521': '4700000.00', // 200,000.00 = 4.44 % → 100,000.00 each
      '530523': '4300000.00', // 300,000.00 = 7.5 % → county all
      '530524': '4800000.00', // surplus 200,000.00
      '530581': '9000000.00', // on budget
    }) as BaoshanStatement;
    expect(s.rows.map((r) => [r.county, r.band, r.cityShare, r.countyShare])).toEqual([
      ['530502', 'city-all', '360000.00', '0.00'],
      ['530521', 'half', '100000.00', '100000.00'],
      ['530523', 'county-all', '0.00', '300000.00'],
      ['530524', 'none', '0.00', '0.00'],
      ['530581', 'none', '0.00', '0.00'],
    ]);
    // city surplus 2,000,000.00 − 460,000.00 = 1,540,000.00
    expect([s.citySurplusUsed, s.citySurplusLeft]).toEqual(['460000.00', '1540000.00']);
    expect(s.totals).toEqual({
      budget: '34500000.00',
      spending: '35160000.00',
      overspend: '860000.00',
      cityShare: '460000.00',
      countyShare: '400000.00',
      surplusShortfall: '0.00',
    });
  });

  const small = (surplus: string): BaoshanYear => ({
    region: 'baoshan',
    year: 2026,
    revision: 1,
    example: true,
    note: 'EXAMPLE test data',
    cityAccumulatedSurplus: surplus,
    counties: [
      { admdvs: '530502', name: '隆阳区', budget: '1000.00' },
      { admdvs: '530521', name: '施甸县', budget: '1000.00' },
      { admdvs: '530523', name: '龙陵县', budget: '1000.00' },
    ],
  });

  it('002 第二十一条（四）: a short surplus is shared pro rata to the city shares, to the fen', () => {
    // 530502 overspend 20.00 (2 %, city nominal 20.00); 530521 10.00 (1 %, nominal 10.00)
    // surplus 10.00: 1000 fen × 20/30 = 666.67, × 10/30 = 333.33 → floors 666 + 333, 1 fen to 530502
    // → city 6.67 / 3.33; county 20.00 − 6.67 = 13.33, 10.00 − 3.33 = 6.67
    const s = fundStatement(small('10.00'), {
      '530502': '1020.00',
      '530521': '1010.00',
      '530523': '900.00',
    }) as BaoshanStatement;
    expect(s.rows.map((r) => [r.county, r.cityShare, r.countyShare, r.surplusShortfall])).toEqual([
      ['530502', '6.67', '13.33', '13.33'],
      ['530521', '3.33', '6.67', '6.67'],
      ['530523', '0.00', '0.00', '0.00'],
    ]);
    expect([s.citySurplusUsed, s.citySurplusLeft]).toEqual(['10.00', '0.00']);
    expect(s.totals.overspend).toBe('30.00');
    expect(s.totals.cityShare).toBe('10.00');
    expect(s.totals.countyShare).toBe('20.00');
  });

  it('002 第二十一条: enough surplus — every city share is paid in full', () => {
    // 20.00 + 10.00 = 30.00 ≤ 30.00
    const s = fundStatement(small('30.00'), {
      '530502': '1020.00',
      '530521': '1010.00',
    }) as BaoshanStatement;
    expect(s.rows.map((r) => r.cityShare)).toEqual(['20.00', '10.00', '0.00']);
    expect(s.citySurplusLeft).toBe('0.00');
  });

  it('errors name the field: unknown county in spending, bad amount', () => {
    expect(fieldOf(() => fundStatement(small('1.00'), { '530599': '1.00' }))).toBe(
      'spending.530599',
    );
    expect(fieldOf(() => fundStatement(small('1.00'), { '530502': '1.001' }))).toBe(
      'spending.530502',
    );
  });

  it("Jilin's statement is the factor allocation of the year's total (003 第七条)", () => {
    const y = parseFundYear(jilin2026);
    if (y.region !== 'jilin') throw new Error('expected jilin');
    const s = fundStatement(y, {});
    expect(s).toMatchObject({ region: 'jilin', method: 'factor', year: 2026, example: true });
    if (s.region !== 'jilin') throw new Error('expected jilin');
    expect(s.rows).toEqual(allocateByFactors(y.allocation).rows);
    expect(s.totals.amount).toBe('100000000.00'); // the example's total
  });
});
