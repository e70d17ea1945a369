import { FundInputError, panzhihuaDeficit } from './index';

describe('Panzhihua general deficit (000 第十七条)', () => {
  // raised 1,000,000.00, spending 1,100,000.00 → general deficit 100,000.00
  it.each([
    ['510402', '东区', '35000.00', '65000.00'], // 000 第十七条: city 35 % of 100,000.00
    ['510403', '西区', '35000.00', '65000.00'], // 000 第十七条: city 35 %
    ['510411', '仁和区', '35000.00', '65000.00'], // 000 第十七条: city 35 %
    ['510421', '米易县', '0.00', '100000.00'], // 000 第十七条: 米易县自行承担
    ['510422', '盐边县', '0.00', '100000.00'], // 000 第十七条: 盐边县自行承担
  ])(
    '000 第十七条: %s %s deficit of 100,000.00 → city %s, county %s',
    (county, name, city, own) => {
      const r = panzhihuaDeficit({ county, raised: '1000000.00', spending: '1100000.00' });
      expect(r.name).toBe(name);
      expect(r.balance).toBe('-100000.00');
      expect(r.generalDeficit).toBe('100000.00');
      expect(r.cityShare).toBe(city);
      expect(r.countyShare).toBe(own);
      expect(r.countyTotal).toBe(own);
      expect(r.surplus).toBe('0.00');
      expect(r.managementDeficit).toBe('0.00');
    },
  );

  it.each(['510402', '510403', '510411', '510421', '510422'])(
    '000 第十七条: %s surplus of 100,000.00 — no deficit, nobody pays',
    (county) => {
      const r = panzhihuaDeficit({ county, raised: '1000000.00', spending: '900000.00' });
      expect(r.balance).toBe('100000.00');
      expect(r.surplus).toBe('100000.00');
      expect(r.generalDeficit).toBe('0.00');
      expect(r.cityShare).toBe('0.00');
      expect(r.countyShare).toBe('0.00');
    },
  );

  it('000 第十七条: the 35 % city share is rounded half-up to the fen; county = deficit − city', () => {
    // 0.10 × 35 % = 0.035 → 0.04; county 0.06
    const a = panzhihuaDeficit({ county: '510402', raised: '0.00', spending: '0.10' });
    expect([a.cityShare, a.countyShare]).toEqual(['0.04', '0.06']);
    // 100.01 × 35 % = 35.0035 → 35.00; county 65.01
    const b = panzhihuaDeficit({ county: '510403', raised: '100.00', spending: '200.01' });
    expect([b.generalDeficit, b.cityShare, b.countyShare]).toEqual(['100.01', '35.00', '65.01']);
    // 0.01 × 35 % = 0.0035 → 0.00; county 0.01
    const c = panzhihuaDeficit({ county: '510411', raised: '5.00', spending: '5.01' });
    expect([c.cityShare, c.countyShare]).toEqual(['0.00', '0.01']);
  });
});

describe('Panzhihua management deficit (000 第十八条)', () => {
  it('000 第十八条: borne by the county in full; the 35 % applies to the general deficit only', () => {
    // gap 100,000.00, of which 30,000.00 management (misuse, 第十八条（四）) → general 70,000.00
    // city 35 % × 70,000.00 = 24,500.00; county 45,500.00 + 30,000.00 = 75,500.00
    const r = panzhihuaDeficit({
      county: '510403',
      raised: '1000000.00',
      spending: '1100000.00',
      managementDeficits: [{ amount: '30000.00', reason: 'misuse', note: 'audit 2026-07' }],
    });
    expect(r.managementDeficitDeclared).toBe('30000.00');
    expect(r.managementDeficit).toBe('30000.00');
    expect(r.generalDeficit).toBe('70000.00');
    expect(r.cityShare).toBe('24500.00');
    expect(r.countyShare).toBe('45500.00');
    expect(r.countyTotal).toBe('75500.00');
  });

  it('000 第十八条: several reasons add up; 米易县 bears both deficits itself (第十七条)', () => {
    // 10,000.00 (（一）rule-breaking) + 2,500.50 (（三）funds not raised) = 12,500.50
    // gap 50,000.00 → general 37,499.50, all the county's; county total 50,000.00
    const r = panzhihuaDeficit({
      county: '510421',
      raised: '500000.00',
      spending: '550000.00',
      managementDeficits: [
        { amount: '10000.00', reason: 'rule-breaking' },
        { amount: '2500.50', reason: 'funds-not-raised' },
      ],
    });
    expect(r.managementDeficit).toBe('12500.50');
    expect(r.generalDeficit).toBe('37499.50');
    expect(r.cityShare).toBe('0.00');
    expect(r.countyShare).toBe('37499.50');
    expect(r.countyTotal).toBe('50000.00');
  });

  it('000 第十八条: a management deficit larger than the gap is capped at the gap', () => {
    // gap 10,000.00 < declared 30,000.00 → management 10,000.00, general 0.00
    const r = panzhihuaDeficit({
      county: '510402',
      raised: '1000000.00',
      spending: '1010000.00',
      managementDeficits: [{ amount: '30000.00', reason: 'low-enrollment' }],
    });
    expect(r.managementDeficitDeclared).toBe('30000.00');
    expect(r.managementDeficit).toBe('10000.00');
    expect(r.generalDeficit).toBe('0.00');
    expect(r.cityShare).toBe('0.00');
    expect(r.countyTotal).toBe('10000.00');
  });

  it('000 第十八条: with a surplus there is no gap, so nothing is borne', () => {
    const r = panzhihuaDeficit({
      county: '510422',
      raised: '1000000.00',
      spending: '900000.00',
      managementDeficits: [{ amount: '5000.00', reason: 'other' }],
    });
    expect(r.surplus).toBe('100000.00');
    expect(r.managementDeficit).toBe('0.00');
    expect(r.countyTotal).toBe('0.00');
  });

  it('bad input errors name the field', () => {
    const field = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(FundInputError);
        return (e as FundInputError).field;
      }
      return 'no error';
    };
    const ok = { county: '510402', raised: '1.00', spending: '1.00' };
    expect(field(() => panzhihuaDeficit({ ...ok, county: '530502' }))).toBe('input.county');
    expect(field(() => panzhihuaDeficit({ ...ok, raised: '-1.00' }))).toBe('input.raised');
    expect(field(() => panzhihuaDeficit({ ...ok, spending: '1,000.00' }))).toBe('input.spending');
    expect(
      field(() =>
        panzhihuaDeficit({
          ...ok,
          managementDeficits: [{ amount: '1.00', reason: 'late' as never }],
        }),
      ),
    ).toBe('input.managementDeficits[0].reason');
    expect(
      field(() =>
        panzhihuaDeficit({
          ...ok,
          managementDeficits: [{ amount: 1 as never, reason: 'misuse' }],
        }),
      ),
    ).toBe('input.managementDeficits[0].amount');
  });
});
