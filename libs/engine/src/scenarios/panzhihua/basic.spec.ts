import { bill, emptyAccumulators, insuranceExhausted, line, one, yearOf } from '../support';

describe('Panzhihua basic insurance (example values, insurance.basic.390 / 310)', () => {
  it.each([
    // [level, inscp, deductible borne, basic pays]
    // level 1: deductible 200.00, ratio 0.85
    ['1', '199.99', '199.99', '0.00'],
    ['1', '200.00', '200.00', '0.00'],
    ['1', '200.01', '200.00', '0.01'], // 0.01 × 0.85 = 0.0085 → 0.01 half-up
    // level 2: deductible 500.00, ratio 0.75
    ['2', '499.99', '499.99', '0.00'],
    ['2', '500.00', '500.00', '0.00'],
    ['2', '500.01', '500.00', '0.01'], // 0.0075 → 0.01
    // level 3: deductible 800.00, ratio 0.60
    ['3', '799.99', '799.99', '0.00'],
    ['3', '800.00', '800.00', '0.00'],
    ['3', '800.01', '800.00', '0.01'], // 0.006 → 0.01
  ] as const)(
    'inpatient deductible by hospital level %s: in-scope %s bears %s and basic pays %s',
    (level, inscp, ded, pay) => {
      const r = one(bill({ inscpScpAmt: inscp, hospitalLevel: level }));
      expect(r.setlinfo.actPayDedc).toBe(ded);
      expect(r.setlinfo.hifpPay).toBe(pay);
    },
  );

  it('inpatient deductible applies again on every admission', () => {
    const { results, accumulators } = yearOf([
      bill({ inscpScpAmt: '1200.00', mdtrtId: 'V1' }),
      bill({ inscpScpAmt: '1200.00', mdtrtId: 'V2' }),
    ]);
    // per visit: (1,200.00 − 200.00) × 0.85 = 850.00 both times
    expect(results.map((r) => r.setlinfo.hifpPay)).toEqual(['850.00', '850.00']);
    expect(results.map((r) => r.setlinfo.actPayDedc)).toEqual(['200.00', '200.00']);
    expect(accumulators.basicDeductibleUsed).toEqual({});
    expect(accumulators.basicPaid).toEqual({ pooled: '1700.00' });
  });

  it('outpatient deductible accumulates over the year (310 ordinary outpatient, 200.00 per year)', () => {
    const emp = { insutype: '310', medType: '11' } as const;
    const { results, accumulators } = yearOf([
      bill({ ...emp, inscpScpAmt: '150.00', mdtrtId: 'V1' }),
      bill({ ...emp, inscpScpAmt: '49.99', mdtrtId: 'V2' }),
      bill({ ...emp, inscpScpAmt: '0.02', mdtrtId: 'V3' }),
      bill({ ...emp, inscpScpAmt: '100.00', mdtrtId: 'V4' }),
    ]);
    // 150.00 + 49.99 = 199.99 of 200.00 used; then 0.01 of the 0.02 → 0.01 × 0.60 = 0.006 → 0.01;
    // then nothing left: 100.00 × 0.60 = 60.00
    expect(results.map((r) => r.setlinfo.actPayDedc)).toEqual(['150.00', '49.99', '0.01', '0.00']);
    expect(results.map((r) => r.setlinfo.hifpPay)).toEqual(['0.00', '0.00', '0.01', '60.00']);
    expect(accumulators.basicDeductibleUsed).toEqual({ outpatient: '200.00' });
  });

  // inpatient level 1: (10,200.00 − 200.00) × 0.85 = 8,500.00 raw; pooled cap 200,000.00
  it.each([
    ['191500.00', '8500.00', false], // exactly at the cap
    ['191499.99', '8500.00', false], // 0.01 under: the cap is not reached
    ['191500.01', '8499.99', true], // 0.01 over: 200,000.00 − 191,500.01 = 8,499.99
  ] as const)(
    'pooled annual cap: with %s paid before, basic pays %s (capHit %s)',
    (before, pay, hit) => {
      const r = one(bill({ inscpScpAmt: '10200.00' }), {
        ...emptyAccumulators(2024),
        basicPaid: { pooled: before },
      });
      expect(r.setlinfo.hifpPay).toBe(pay);
      const cap = line(r, 'basic')?.setlProcInfo.find((s) => s.step === 'cap');
      expect(cap).toMatchObject({ cap: '200000.00', capHit: hit, amount: pay, base: '8500.00' });
    },
  );

  it('inpatient and chronic outpatient share the pooled cap', () => {
    const { results, accumulators } = yearOf(
      [
        bill({ inscpScpAmt: '10200.00' }),
        // chronic outpatient: deductible 0.00, ratio 0.65; 1,000.00 × 0.65 = 650.00 raw
        bill({ inscpScpAmt: '1000.00', medType: '14', mdtrtId: 'V2' }),
      ],
      { ...emptyAccumulators(2024), basicPaid: { pooled: '191000.00' } },
    );
    // 191,000.00 + 8,500.00 = 199,500.00; 500.00 left for the chronic visit
    expect(results.map((r) => r.setlinfo.hifpPay)).toEqual(['8500.00', '500.00']);
    expect(accumulators.basicPaid).toEqual({ pooled: '200000.00' });
  });

  it('pays nothing more once the pooled cap is used up', () => {
    const r = one(bill({ inscpScpAmt: '5000.00', medType: '14' }), insuranceExhausted());
    expect(r.setlinfo.hifpPay).toBe('0.00');
    expect(line(r, 'basic')?.setlProcInfo.find((s) => s.step === 'cap')?.capHit).toBe(true);
  });
});
