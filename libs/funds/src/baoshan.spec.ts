import { baoshanOverspend, FundInputError } from './index';

// Budget 1,000,000.00 yuan: 3 % of it is 30,000.00, 5 % is 50,000.00 (002 第二十一条).
const base = { county: '530502', budget: '1000000.00', citySurplus: '5000000.00' };

describe('Baoshan overspend sharing (002 第二十一条)', () => {
  it('002 第二十一条（一）: exactly 3 % overspend (30,000.00 of 1,000,000.00) — the city covers it all', () => {
    const r = baoshanOverspend({ ...base, spending: '1030000.00' });
    expect(r.band).toBe('city-all');
    expect(r.overspend).toBe('30000.00');
    expect(r.overspendRatePercent).toBe('3.0000');
    expect(r.cityShare).toBe('30000.00');
    expect(r.countyShare).toBe('0.00');
    expect(r.balance).toBe('-30000.00');
    expect(r.surplus).toBe('0.00');
  });

  it('002 第二十一条（二）: 3 % + 0.01 yuan (30,000.01) — 50/50, city half rounded half-up', () => {
    // 30,000.01 × 50 % = 15,000.005 → 15,000.01 (half-up); county 30,000.01 − 15,000.01 = 15,000.00
    const r = baoshanOverspend({ ...base, spending: '1030000.01' });
    expect(r.band).toBe('half');
    expect(r.overspend).toBe('30000.01');
    expect(r.overspendRatePercent).toBe('3.0000'); // display only: 3.000001 %
    expect(r.cityShare).toBe('15000.01');
    expect(r.countyShare).toBe('15000.00');
  });

  it('002 第二十一条（二）: exactly 5 % (50,000.00) is still 50/50 — 25,000.00 each', () => {
    const r = baoshanOverspend({ ...base, spending: '1050000.00' });
    expect(r.band).toBe('half');
    expect(r.cityShare).toBe('25000.00');
    expect(r.countyShare).toBe('25000.00');
  });

  it('002 第二十一条（三）: just over 5 % (50,000.01) — the county bears it all', () => {
    const r = baoshanOverspend({ ...base, spending: '1050000.01' });
    expect(r.band).toBe('county-all');
    expect(r.cityShareNominal).toBe('0.00');
    expect(r.cityShare).toBe('0.00');
    expect(r.countyShare).toBe('50000.01');
  });

  it('002 第二十一条: the band applies to the whole overspend, not marginally (4 % → 50/50 of all)', () => {
    // overspend 40,000.00: 20,000.00 each (a marginal reading would give the city 30,000 + 5,000)
    const r = baoshanOverspend({ ...base, spending: '1040000.00' });
    expect(r.cityShare).toBe('20000.00');
    expect(r.countyShare).toBe('20000.00');
  });

  it('002 第二十一条: the rate is compared exactly, not rounded (budget 333.33, 3 % = 9.9999)', () => {
    // overspend 9.99: 999 ≤ 999.99 (100 × over vs 3 × budget) → city all
    const a = baoshanOverspend({ ...base, budget: '333.33', spending: '343.32' });
    expect(a.band).toBe('city-all');
    expect(a.cityShare).toBe('9.99');
    // overspend 10.00: rate 3.00003 % (rounds to "3.00 %") but is over 3 % → 50/50, 5.00 each
    const b = baoshanOverspend({ ...base, budget: '333.33', spending: '343.33' });
    expect(b.band).toBe('half');
    expect(b.cityShare).toBe('5.00');
    expect(b.countyShare).toBe('5.00');
  });

  it('002 第二十一条（四）: surplus too small for a ≤ 3 % overspend — the county bears the rest to the fen', () => {
    // overspend 20,000.00 (2 %), city nominal 20,000.00, surplus 12,345.67
    // city 12,345.67; county 20,000.00 − 12,345.67 = 7,654.33
    const r = baoshanOverspend({ ...base, spending: '1020000.00', citySurplus: '12345.67' });
    expect(r.cityShareNominal).toBe('20000.00');
    expect(r.cityShare).toBe('12345.67');
    expect(r.countyShare).toBe('7654.33');
    expect(r.surplusShortfall).toBe('7654.33');
  });

  it('002 第二十一条（二）（四）: surplus too small in the 50/50 band', () => {
    // overspend 40,000.01 (4.000001 %), city half 20,000.005 → 20,000.01; surplus 5,000.00
    // city 5,000.00; county 40,000.01 − 5,000.00 = 35,000.01; shortfall 20,000.01 − 5,000.00 = 15,000.01
    const r = baoshanOverspend({ ...base, spending: '1040000.01', citySurplus: '5000.00' });
    expect(r.cityShare).toBe('5000.00');
    expect(r.countyShare).toBe('35000.01');
    expect(r.surplusShortfall).toBe('15000.01');
  });

  it('002 第二十一条: no overspend — the surplus carries forward, nobody pays', () => {
    const r = baoshanOverspend({ ...base, spending: '999999.99' });
    expect(r.band).toBe('none');
    expect(r.overspend).toBe('0.00');
    expect(r.surplus).toBe('0.01');
    expect(r.cityShare).toBe('0.00');
    expect(r.countyShare).toBe('0.00');
    const even = baoshanOverspend({ ...base, spending: '1000000.00' });
    expect(even.band).toBe('none');
    expect(even.balance).toBe('0.00');
  });

  it('bad input errors name the field', () => {
    const bad = (over: Record<string, unknown>, field: string): void => {
      let err: unknown;
      try {
        baoshanOverspend({ ...base, spending: '1.00', ...over });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FundInputError);
      expect((err as FundInputError).field).toBe(field);
      expect((err as Error).message).toContain(field);
    };
    bad({ county: '510402' }, 'input.county');
    bad({ budget: '0.00' }, 'input.budget');
    bad({ spending: '12.345' }, 'input.spending');
    bad({ spending: 12.34 }, 'input.spending');
    bad({ citySurplus: '-1.00' }, 'input.citySurplus');
  });
});
