import { bill, expectBalanced, insuranceExhausted, line, one, paid } from '../support';

describe('Panzhihua tier order (004 第八条、第三十条)', () => {
  it('pays basic, then the patient, and leaves all out-of-scope cost on the patient', () => {
    const r = one(
      bill({
        inscpScpAmt: '10000.00',
        fulamtOwnpayAmt: '300.00',
        overlmtSelfpay: '200.00',
        preselfpayAmt: '100.00',
      }),
    );
    // insurance.basic.390.inpatient level 1: deductible 200.00, ratio 0.85:
    // (10,000.00 − 200.00) × 0.85 = 8,330.00
    expect(r.setlinfo.hifpPay).toBe('8330.00');
    expect(r.setlinfo.actPayDedc).toBe('200.00');
    // critical base 1,670.00 < insurance.critical.390.deductible 12,000.00 → 0.00
    expect(r.setlinfo.hifmiPay).toBe('0.00');
    // no identity: no assistance, no tilted line (004 第十一条、第十三条)
    expect(r.setlinfo.mafPay).toBe('0.00');
    expect(line(r, 'assistance')).toBeUndefined();
    expect(line(r, 'tilted')).toBeUndefined();
    // patient: in-scope 1,670.00 + out-of-scope 300.00 + 200.00 + 100.00 = 2,270.00
    expect(r.setlinfo.inscpPsnPart).toBe('1670.00');
    expect(r.setlinfo.psnCashPay).toBe('2270.00');
    expect(r.setlinfo.medfeeSumamt).toBe('10600.00');
  });

  it('特困 gets 100 % of the in-scope part after insurance but still pays the out-of-scope cost', () => {
    const r = one(
      bill({ inscpScpAmt: '1000.00', fulamtOwnpayAmt: '250.00', identities: ['tekun'] }),
    );
    // basic: (1,000.00 − 200.00) × 0.85 = 680.00 (insurance.basic.390.inpatient level 1)
    expect(r.setlinfo.hifpPay).toBe('680.00');
    // critical: tilted deductible 12,000.00 × 0.5 = 6,000.00 (004 第八条) > 320.00 → 0.00
    expect(r.setlinfo.hifmiPay).toBe('0.00');
    // assistance: 特困 100 % of 320.00 = 320.00 (004 第十一条)
    expect(paid(r, 'assistance')).toBe('320.00');
    // tilted: burden 0.00 ≤ 7,600.00 → 0.00 (004 第十三条)
    expect(paid(r, 'tilted')).toBe('0.00');
    expect(r.setlinfo.psnCashPay).toBe('250.00');
    expect(r.setldetail.map((d) => d.fund)).toEqual(['basic', 'critical', 'assistance', 'tilted']);
  });

  it('inclusive commercial insurance pays between critical illness and assistance, only when enrolled', () => {
    const start = insuranceExhausted({ commercialBase: '20000.00' });
    const enrolled = one(
      bill({ inscpScpAmt: '1000.00', identities: ['dibao'], commercialEnrolled: true }),
      start,
    );
    // insurance.commercial: base above deductible 20,000.00 already → 1,000.00 × 0.60 = 600.00
    expect(enrolled.setlinfo.othPay).toBe('600.00');
    // assistance on what is left: 低保 70 % × 400.00 = 280.00 (004 第十一条)
    expect(paid(enrolled, 'assistance')).toBe('280.00');
    expect(enrolled.setldetail.map((d) => d.fund)).toEqual([
      'basic',
      'critical',
      'commercial',
      'assistance',
      'tilted',
    ]);

    const notEnrolled = one(bill({ inscpScpAmt: '1000.00', identities: ['dibao'] }), start);
    expect(notEnrolled.setlinfo.othPay).toBe('0.00');
    expect(line(notEnrolled, 'commercial')).toBeUndefined();
    // 低保 70 % × 1,000.00 = 700.00
    expect(paid(notEnrolled, 'assistance')).toBe('700.00');
    expectBalanced(notEnrolled);
  });

  it('each fund line carries its steps in setl_proc_info', () => {
    const r = one(bill({ inscpScpAmt: '10000.00', identities: ['dibao_edge'] }));
    // basic: deductible 200.00, (10,000.00 − 200.00) × 0.85 = 8,330.00, under the 200,000.00 cap
    expect(line(r, 'basic')?.setlProcInfo.map((s) => [s.step, s.base, s.amount])).toEqual([
      ['deductible', '10000.00', '200.00'],
      ['ratio', '9800.00', '8330.00'],
      ['cap', '8330.00', '8330.00'],
    ]);
    expect(line(r, 'basic')?.setlProcInfo[2]).toMatchObject({ cap: '200000.00', capHit: false });
    // assistance: 1,670.00 all under the 低保边缘 deductible 4,356.70 (004 第十二条)
    const a = line(r, 'assistance');
    expect(a?.bucket).toBe('inpatient-chronic');
    expect(a?.fundPayType).toBe('610100');
    expect(a?.setlProcInfo.map((s) => [s.step, s.amount])).toEqual([
      ['deductible', '1670.00'],
      ['ratio', '0.00'],
      ['cap', '0.00'],
    ]);
    expect(a?.setlProcInfo[0]).toMatchObject({
      deductible: '4356.70',
      article: '004 第十一条、第十二条、第十七条',
    });
    expect(r.categoryUsed).toBe('dibao_edge');
  });
});
