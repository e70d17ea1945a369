import { bill, insuranceExhausted, line, one, paid, yearOf } from '../support';

/**
 * Insurance is at its caps, so the assistance base is the whole in-scope cost. The person is treated
 * out of province so that tilted assistance (004 第十三条) stays out of these lines.
 */
const inpatient = (inscp: string, identities: string[], id = 'V1') =>
  bill({ inscpScpAmt: inscp, identities, mdtrtId: id, inProvince: false });
const chronic = (inscp: string, identities: string[], id = 'C1') =>
  bill({ inscpScpAmt: inscp, identities, mdtrtId: id, medType: '14', inProvince: false });

describe('Panzhihua inpatient and chronic-outpatient assistance (004 第十一条、第十二条)', () => {
  it.each([
    // 004 第十二条: 防止返贫监测 deductible 5 % × 43,567.00 = 2,178.35, ratio 65 %
    ['monitored', '2178.34', '0.00'],
    ['monitored', '2178.35', '0.00'],
    ['monitored', '2178.36', '0.01'], // 0.01 × 0.65 = 0.0065 → 0.01
    ['monitored', '3178.35', '650.00'], // 1,000.00 × 0.65
    // 004 第十二条: 低保边缘 deductible 10 % × 43,567.00 = 4,356.70, ratio 50 %
    ['dibao_edge', '4356.69', '0.00'],
    ['dibao_edge', '4356.70', '0.00'],
    ['dibao_edge', '4356.71', '0.01'], // 0.005 → 0.01 half-up
    ['dibao_edge', '5356.70', '500.00'],
    // 004 第十二条: 因病致贫 deductible 25 % × 43,567.00 = 10,891.75, ratio 50 %
    ['illness_poor', '10891.74', '0.00'],
    ['illness_poor', '10891.75', '0.00'],
    ['illness_poor', '10891.76', '0.01'],
    ['illness_poor', '11891.75', '500.00'],
    // 004 第十一条: 低保 70 %, no deductible
    ['dibao', '0.01', '0.01'], // 0.007 → 0.01
    ['dibao', '1000.00', '700.00'],
    // 004 第十一条: 特困, 孤儿 100 %
    ['tekun', '1000.00', '1000.00'],
    ['guer', '1000.00', '1000.00'],
  ] as const)('%s with in-scope %s receives %s', (cat, inscp, pay) => {
    const r = one(inpatient(inscp, [cat]), insuranceExhausted());
    const dedDisplayed = {
      monitored: '2178.35',
      dibao_edge: '4356.70',
      illness_poor: '10891.75',
      dibao: '0.00',
      tekun: '0.00',
      guer: '0.00',
    }[cat];
    expect(paid(r, 'assistance')).toBe(pay);
    expect(r.setlinfo.mafPay).toBe(pay);
    expect(line(r, 'assistance')?.setlProcInfo[0]).toMatchObject({
      step: 'deductible',
      deductible: dedDisplayed,
    });
  });

  it('inpatient and chronic outpatient share one deductible over the year', () => {
    const { results, accumulators } = yearOf(
      [inpatient('3000.00', ['dibao_edge']), chronic('2000.00', ['dibao_edge'])],
      insuranceExhausted(),
    );
    // 3,000.00 all under the 4,356.70 deductible; then 1,356.70 more of it,
    // (2,000.00 − 1,356.70) × 0.50 = 321.65 (004 第十二条)
    expect(results.map((r) => r.setlinfo.mafPay)).toEqual(['0.00', '321.65']);
    expect(accumulators.assistanceDeductibleUsed).toEqual({ 'inpatient-chronic': '4356.70' });
    expect(accumulators.assistancePaid).toEqual({ 'inpatient-chronic': '321.65' });
  });

  // 低保 1,000.00 × 0.70 = 700.00 raw against the 70,000.00 cap (004 第十一条)
  it.each([
    ['69300.00', '700.00', false],
    ['69299.99', '700.00', false],
    ['69300.01', '699.99', true],
  ] as const)('70,000.00 cap: with %s paid before, pays %s (capHit %s)', (before, pay, hit) => {
    const r = one(
      inpatient('1000.00', ['dibao']),
      insuranceExhausted({ assistancePaid: { 'inpatient-chronic': before } }),
    );
    expect(r.setlinfo.mafPay).toBe(pay);
    expect(line(r, 'assistance')?.setlProcInfo.find((s) => s.step === 'cap')).toMatchObject({
      cap: '70000.00',
      capHit: hit,
      amount: pay,
    });
  });

  it('the 70,000.00 cap is shared by inpatient and chronic outpatient across the year', () => {
    const { results, accumulators } = yearOf(
      [
        inpatient('99000.00', ['dibao']), // × 0.70 = 69,300.00
        chronic('1000.00', ['dibao']), // × 0.70 = 700.00 → 70,000.00 exactly
        chronic('0.02', ['dibao'], 'C2'), // 0.014 → 0.01 raw, nothing left
      ],
      insuranceExhausted(),
    );
    expect(results.map((r) => r.setlinfo.mafPay)).toEqual(['69300.00', '700.00', '0.00']);
    expect(accumulators.assistancePaid).toEqual({ 'inpatient-chronic': '70000.00' });
  });

  it('the cap is the same for 防止返贫监测 on a large bill (65 %, 70,000.00)', () => {
    // (200,000.00 − 2,178.35) × 0.65 = 128,584.0725 → 128,584.07 raw, capped at 70,000.00
    const r = one(inpatient('200000.00', ['monitored']), insuranceExhausted());
    expect(r.setlinfo.mafPay).toBe('70000.00');
    expect(line(r, 'assistance')?.setlProcInfo.find((s) => s.step === 'ratio')?.amount).toBe(
      '128584.07',
    );
  });

  it.each(['tekun', 'guer'])('%s: no cap on inpatient assistance', (cat) => {
    const r = one(
      inpatient('5000.00', [cat]),
      insuranceExhausted({ assistancePaid: { 'inpatient-chronic': '100000.00' } }),
    );
    expect(r.setlinfo.mafPay).toBe('5000.00');
    expect(r.setlinfo.psnCashPay).toBe('0.00');
  });
});
