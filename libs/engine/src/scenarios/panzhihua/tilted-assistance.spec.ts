import { bill, insuranceExhausted, line, one, yearOf } from '../support';

/**
 * 004 第十三条: referred, in-province; the year's in-scope burden after every other fund above the
 * monitoring standard 7,600.00 is paid at 50 %, cap 20,000.00. A 低保 inpatient bill of 1,000.00
 * with insurance at its caps leaves 1,000.00 − 700.00 (70 %, 004 第十一条) = 300.00 of burden.
 */
const dibao = (over: Parameters<typeof bill>[0] = { inscpScpAmt: '1000.00' }) =>
  bill({ identities: ['dibao'], ...over });

describe('Panzhihua tilted assistance (004 第十三条)', () => {
  it.each([
    ['7300.00', '0.00'], // burden reaches 7,600.00 exactly: nothing above
    ['7299.99', '0.00'],
    ['7300.01', '0.01'], // 0.01 above × 0.50 = 0.005 → 0.01
    ['7600.00', '150.00'], // 300.00 × 0.50
  ] as const)('with a burden of %s before, pays %s', (before, pay) => {
    const r = one(dibao(), insuranceExhausted({ tiltedBurden: before }));
    expect(line(r, 'tilted')?.fundPayamt).toBe(pay);
  });

  it('accumulates the burden over the bills of the year', () => {
    const { results, accumulators } = yearOf(
      [dibao({ inscpScpAmt: '20000.00' }), dibao({ inscpScpAmt: '10000.00', mdtrtId: 'V2' })],
      insuranceExhausted(),
    );
    // burden 6,000.00, then 9,000.00: (9,000.00 − 7,600.00) × 0.50 = 700.00
    expect(results.map((r) => line(r, 'tilted')?.fundPayamt)).toEqual(['0.00', '700.00']);
    // maf_pay = assistance + tilted = 7,000.00 + 700.00
    expect(results[1]?.setlinfo.mafPay).toBe('7700.00');
    expect(accumulators.tiltedBurden).toBe('9000.00');
    expect(accumulators.tiltedPaid).toBe('700.00');
    const steps = line(results[1]!, 'tilted')?.setlProcInfo;
    expect(steps?.[0]).toMatchObject({
      step: 'threshold',
      deductible: '7600.00',
      amount: '1400.00',
      article: '004 第十三条',
    });
  });

  it.each([
    ['19850.00', '150.00', false],
    ['19849.99', '150.00', false],
    ['19850.01', '149.99', true], // 20,000.00 − 19,850.01
  ] as const)('cap 20,000.00: with %s paid before, pays %s (capHit %s)', (before, pay, hit) => {
    const r = one(dibao(), insuranceExhausted({ tiltedBurden: '7600.00', tiltedPaid: before }));
    expect(line(r, 'tilted')?.setlProcInfo.find((s) => s.step === 'cap')).toMatchObject({
      cap: '20000.00',
      capHit: hit,
      amount: pay,
    });
  });

  it('is not paid for treatment outside the province', () => {
    const r = one(
      dibao({ inscpScpAmt: '1000.00', inProvince: false }),
      insuranceExhausted({ tiltedBurden: '7600.00' }),
    );
    expect(line(r, 'tilted')).toBeUndefined();
    expect(r.setlinfo.mafPay).toBe('700.00');
    expect(r.accumulators.tiltedBurden).toBe('7600.00');
  });

  it('is not paid without a referral', () => {
    const r = one(
      dibao({ inscpScpAmt: '1000.00', referred: false }),
      insuranceExhausted({ tiltedBurden: '7600.00' }),
    );
    expect(line(r, 'tilted')).toBeUndefined();
    expect(r.setlinfo.mafPay).toBe('0.00');
  });

  it('is not paid to a person without a category', () => {
    const r = one(
      bill({ inscpScpAmt: '1000.00' }),
      insuranceExhausted({ tiltedBurden: '7600.00' }),
    );
    expect(line(r, 'tilted')).toBeUndefined();
    expect(r.setlinfo.mafPay).toBe('0.00');
    expect(r.setlinfo.psnCashPay).toBe('1000.00');
  });

  it('counts referred in-province ordinary outpatient visits too (settings.tiltedBurdenVisits)', () => {
    // Was "not paid on ordinary outpatient visits" under panzhihua-2023.1. 004 第十三条 names no
    // visit kind, so 2023.2 counts every referred in-province visit (docs/adr/0004; the other
    // setting is in readings.spec.ts). 低保 outpatient 100.00: 70 % = 70.00 (004 第十条), burden
    // 30.00 above 7,600.00 × 0.50 = 15.00 (004 第十三条)
    const r = one(
      dibao({ inscpScpAmt: '100.00', medType: '11' }),
      insuranceExhausted({ tiltedBurden: '7600.00' }),
    );
    expect(line(r, 'tilted')?.fundPayamt).toBe('15.00');
    expect(r.accumulators.tiltedBurden).toBe('7630.00');
  });
});
