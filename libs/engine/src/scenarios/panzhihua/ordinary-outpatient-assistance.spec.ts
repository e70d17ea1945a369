import { bill, insuranceExhausted, line, one, paid, yearOf } from '../support';

/** Ordinary outpatient (med_type 11) with basic insurance at its 400.00 outpatient cap. */
const visit = (inscp: string, identities: string[], id = 'V1') =>
  bill({ inscpScpAmt: inscp, medType: '11', identities, mdtrtId: id });

describe('Panzhihua ordinary-outpatient assistance (004 第九条、第十条)', () => {
  it.each(['tekun', 'guer'])('%s: 100 % of the in-scope personal part, no cap', (cat) => {
    const { results, accumulators } = yearOf(
      [visit('5000.00', [cat], 'V1'), visit('5000.00', [cat], 'V2')],
      insuranceExhausted(),
    );
    // 100 % × 5,000.00 twice; no cap (004 第九条)
    expect(results.map((r) => r.setlinfo.mafPay)).toEqual(['5000.00', '5000.00']);
    expect(results.map((r) => r.setlinfo.psnCashPay)).toEqual(['0.00', '0.00']);
    expect(accumulators.assistancePaid).toEqual({ 'ordinary-outpatient': '10000.00' });
  });

  it('assistance takes what basic insurance leaves (特困, fresh year)', () => {
    // insurance.basic.390.ordinary-outpatient level 1: 100.00 × 0.60 = 60.00; 特困 100 % of 40.00
    const r = one(visit('100.00', ['tekun']));
    expect(r.setlinfo.hifpPay).toBe('60.00');
    expect(r.setlinfo.mafPay).toBe('40.00');
  });

  describe('低保: 70 %, capped at 800.00 a year (004 第十条)', () => {
    it('reaches 800.00 exactly across visits', () => {
      const { results, accumulators } = yearOf(
        [visit('1000.00', ['dibao'], 'V1'), visit('142.86', ['dibao'], 'V2')],
        insuranceExhausted(),
      );
      // 1,000.00 × 0.70 = 700.00; 142.86 × 0.70 = 100.002 → 100.00; total 800.00
      expect(results.map((r) => r.setlinfo.mafPay)).toEqual(['700.00', '100.00']);
      expect(
        line(results[1]!, 'assistance')?.setlProcInfo.find((s) => s.step === 'cap'),
      ).toMatchObject({ cap: '800.00', capHit: false, amount: '100.00' });
      expect(accumulators.assistancePaid).toEqual({ 'ordinary-outpatient': '800.00' });
      // a further visit: 0.01 × 0.70 → 0.01 raw, nothing left
      const after = one(visit('0.01', ['dibao'], 'V3'), accumulators);
      expect(after.setlinfo.mafPay).toBe('0.00');
      expect(line(after, 'assistance')?.setlProcInfo.find((s) => s.step === 'cap')?.capHit).toBe(
        true,
      );
    });

    it('stays at 799.99 one fen under the cap, and the next visit may take the last fen', () => {
      const { results, accumulators } = yearOf(
        [
          visit('1000.00', ['dibao'], 'V1'),
          visit('142.84', ['dibao'], 'V2'), // × 0.70 = 99.988 → 99.99
          visit('0.02', ['dibao'], 'V3'), // × 0.70 = 0.014 → 0.01, fits exactly
        ],
        insuranceExhausted(),
      );
      expect(results.map((r) => r.setlinfo.mafPay)).toEqual(['700.00', '99.99', '0.01']);
      expect(accumulators.assistancePaid).toEqual({ 'ordinary-outpatient': '800.00' });
    });

    it('is cut at 800.00 when a visit would take it to 800.01', () => {
      const { results, accumulators } = yearOf(
        [visit('1000.00', ['dibao'], 'V1'), visit('142.87', ['dibao'], 'V2')],
        insuranceExhausted(),
      );
      // 142.87 × 0.70 = 100.009 → 100.01; 800.00 − 700.00 = 100.00 left
      expect(results.map((r) => r.setlinfo.mafPay)).toEqual(['700.00', '100.00']);
      expect(
        line(results[1]!, 'assistance')?.setlProcInfo.find((s) => s.step === 'cap'),
      ).toMatchObject({ base: '100.01', amount: '100.00', capHit: true });
      expect(accumulators.assistancePaid).toEqual({ 'ordinary-outpatient': '800.00' });
    });
  });

  it.each(['monitored', 'dibao_edge', 'illness_poor'])(
    '%s: no ordinary-outpatient assistance (004 第十条)',
    (cat) => {
      const r = one(visit('1000.00', [cat]), insuranceExhausted());
      expect(r.setlinfo.mafPay).toBe('0.00');
      expect(paid(r, 'assistance')).toBe('0.00');
      expect(line(r, 'assistance')?.setlProcInfo[0]?.step).toBe('scope');
      expect(r.setlinfo.psnCashPay).toBe('1000.00');
    },
  );

  it('emergency visits (med_type 13) are assisted as ordinary outpatient', () => {
    const r = one(
      bill({ inscpScpAmt: '100.00', medType: '13', identities: ['dibao'] }),
      insuranceExhausted(),
    );
    // 100.00 × 0.70 = 70.00 (rule-set reading on emergency visits, 004 第九、十条)
    expect(r.setlinfo.mafPay).toBe('70.00');
    expect(line(r, 'assistance')?.bucket).toBe('ordinary-outpatient');
  });
});
