import { bill, book, caught, emptyAccumulators, panzhihua2024, settle, yearOf } from '../support';

describe('Panzhihua accumulators over a year', () => {
  it('returns the year-to-date position after a sequence of bills (低保边缘, referred, in province)', () => {
    const id = ['dibao_edge'];
    const { results, accumulators } = yearOf([
      // A: inpatient level 2, in-scope 20,500.00, full self-pay 500.00.
      //   basic (insurance.basic.390.inpatient level 2): (20,500.00 − 500.00) × 0.75 = 15,000.00
      //   critical base 5,500.00 < 12,000.00 → 0.00
      //   assistance: deductible 4,356.70 (004 第十二条), (5,500.00 − 4,356.70) × 0.50 = 571.65
      //   burden 4,928.35 ≤ 7,600.00 → tilted 0.00 (004 第十三条)
      bill({
        inscpScpAmt: '20500.00',
        fulamtOwnpayAmt: '500.00',
        hospitalLevel: '2',
        identities: id,
        mdtrtId: 'A',
      }),
      // B: chronic outpatient, 10,000.00: basic 10,000.00 × 0.65 = 6,500.00; critical base 9,000.00;
      //   assistance 3,500.00 × 0.50 = 1,750.00 (deductible used up); burden 6,678.35
      bill({ inscpScpAmt: '10000.00', medType: '14', identities: id, mdtrtId: 'B' }),
      // C: inpatient level 3, 20,800.00: basic (20,800.00 − 800.00) × 0.60 = 12,000.00;
      //   critical (17,800.00 − 12,000.00) × 0.60 = 3,480.00; assistance 5,320.00 × 0.50 = 2,660.00;
      //   burden 9,338.35: (9,338.35 − 7,600.00) × 0.50 = 869.175 → 869.18; patient 1,790.82
      bill({
        inscpScpAmt: '20800.00',
        hospitalLevel: '3',
        identities: id,
        mdtrtId: 'C',
      }),
    ]);
    expect(results.map((r) => r.setlinfo.hifpPay)).toEqual(['15000.00', '6500.00', '12000.00']);
    expect(results.map((r) => r.setlinfo.hifmiPay)).toEqual(['0.00', '0.00', '3480.00']);
    expect(results.map((r) => r.setlinfo.mafPay)).toEqual(['571.65', '1750.00', '3529.18']);
    expect(results.map((r) => r.setlinfo.psnCashPay)).toEqual(['5428.35', '1750.00', '1790.82']);
    expect(results.map((r) => r.categoryUsed)).toEqual(['dibao_edge', 'dibao_edge', 'dibao_edge']);
    expect(accumulators).toEqual({
      year: 2024,
      basicDeductibleUsed: { chronic: '0.00' },
      basicPaid: { pooled: '33500.00' },
      criticalBase: '17800.00',
      criticalPaid: '3480.00',
      commercialBase: '0.00',
      commercialPaid: '0.00',
      assistanceDeductibleUsed: { 'inpatient-chronic': '4356.70' },
      assistancePaid: { 'inpatient-chronic': '4981.65' },
      tiltedBurden: '9338.35',
      tiltedPaid: '869.18',
      // 4,928.35 + 1,750.00 + 1,790.82
      inscpSelfPay: '8469.17',
      // plus the 500.00 full self-pay of bill A
      cashSelfPay: '8969.17',
    });
  });

  it('refuses accumulators of another year, naming accumulators.year', () => {
    const e = caught(() =>
      settle({
        ruleSet: panzhihua2024,
        accumulators: emptyAccumulators(2023),
        bill: bill({ inscpScpAmt: '100.00' }),
      }),
    );
    expect(e).toMatchObject({ code: 'ACCUMULATOR_YEAR', field: 'accumulators.year' });
    expect((e as Error).message).toContain('accumulators of 2023');
  });

  it('refuses a bill discharged in another year than the rule set figures, naming endtime', () => {
    const e = caught(() =>
      settle({
        ruleSet: panzhihua2024,
        accumulators: emptyAccumulators(2025),
        bill: bill({ inscpScpAmt: '100.00', dischargeDate: '2025-01-02' }),
      }),
    );
    expect(e).toMatchObject({ code: 'RULE_SET_YEAR', field: 'endtime' });
  });

  it('cannot resolve a date with no figures published', () => {
    expect(() => book.resolve('panzhihua', '2027-05-10')).toThrow(/2027/);
  });
});
