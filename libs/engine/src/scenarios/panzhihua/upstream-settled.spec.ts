/**
 * Upstream-settled mode: the medical-insurance platform settled basic insurance, critical illness
 * and the supplementary tier (hifp_pay, hifmi_pay, hifob_pay); the gateway computes only medical
 * assistance and tilted assistance on what they leave (004 第八条 先保险后救助), and keeps the
 * person's position as if it had computed the same amounts.
 */
import type { Bill, UpstreamTiers } from '../../types';
import { EngineError } from '../../errors';
import { bill, caught, emptyAccumulators, line, one, yearOf } from '../support';

const up = (hifpPay: string, hifmiPay: string, actPayDedc = '0.00'): UpstreamTiers => ({
  hifpPay,
  hifmiPay,
  hifobPay: '0.00',
  actPayDedc,
});

describe('Panzhihua upstream-settled insurance tiers', () => {
  it('computes assistance on what the platform’s tiers leave, and says so', () => {
    const r = one(
      bill({
        inscpScpAmt: '10000.00',
        identities: ['dibao'],
        upstream: up('6000.00', '1000.00', '800.00'),
      }),
    );
    // in-scope 10,000.00 − 6,000.00 − 1,000.00 = 3,000.00; 低保 70 % = 2,100.00 (004 第十二条)
    expect(r.setlinfo).toMatchObject({
      hifpPay: '6000.00',
      hifmiPay: '1000.00',
      actPayDedc: '800.00',
      mafPay: '2100.00',
      psnCashPay: '900.00',
    });
    expect(line(r, 'basic')?.setlProcInfo.map((s) => s.step)).toEqual(['upstream']);
    expect(line(r, 'critical')?.setlProcInfo[0]?.note).toContain('settled upstream');
    expect(line(r, 'assistance')?.setlProcInfo.map((s) => s.step)).toEqual([
      'deductible',
      'ratio',
      'cap',
    ]);
    expect(r.warnings[0]).toContain('settled upstream');
    // the position moves as the gateway's own tiers would have moved it
    expect(r.accumulators).toMatchObject({
      basicPaid: { pooled: '6000.00' },
      criticalBase: '4000.00',
      criticalPaid: '1000.00',
      assistancePaid: { 'inpatient-chronic': '2100.00' },
    });
  });

  it('a mix of modes leaves the same position as computing every tier', () => {
    // a 低保 person's year: outpatient, inpatient, chronic outpatient, inpatient
    const bills: Bill[] = [
      bill({ mdtrtId: 'M1', inscpScpAmt: '300.00', medType: '11', identities: ['dibao'] }),
      bill({ mdtrtId: 'M2', inscpScpAmt: '30000.00', identities: ['dibao'] }),
      bill({ mdtrtId: 'M3', inscpScpAmt: '8000.00', medType: '14', identities: ['dibao'] }),
      bill({ mdtrtId: 'M4', inscpScpAmt: '50000.00', identities: ['dibao'] }),
    ];
    const computed = yearOf(bills, emptyAccumulators(2024));
    // the same bills with the platform sending, for M1 and M3, the tiers the gateway computed
    const mixed = yearOf(
      bills.map((b, i) => {
        if (i % 2 === 1) return b;
        const s = computed.results[i]!.setlinfo;
        return { ...b, upstream: up(s.hifpPay, s.hifmiPay, s.actPayDedc) };
      }),
      emptyAccumulators(2024),
    );
    expect(mixed.accumulators).toEqual(computed.accumulators);
    expect(mixed.results.map((r) => r.setlinfo.mafPay)).toEqual(
      computed.results.map((r) => r.setlinfo.mafPay),
    );
    expect(mixed.results.map((r) => r.setlinfo.psnCashPay)).toEqual(
      computed.results.map((r) => r.setlinfo.psnCashPay),
    );
  });

  it('refuses tiers that exceed the in-scope cost, to the fen', () => {
    const at = (hifp: string) =>
      bill({ inscpScpAmt: '1000.00', identities: ['dibao'], upstream: up(hifp, '200.00') });
    // 800.00 + 200.00 = 1,000.00: the patient's in-scope part is 0.00, assistance 0.00
    expect(one(at('800.00')).setlinfo.mafPay).toBe('0.00');
    const e = caught(() => one(at('800.01')));
    expect(e).toBeInstanceOf(EngineError);
    expect(e).toMatchObject({ code: 'UPSTREAM_DOES_NOT_ADD_UP', field: 'hifp_pay' });
  });

  it('names act_pay_dedc when the deductible, not the tiers, exceeds what the in-scope cost leaves', () => {
    const at = (dedc: string) =>
      bill({ inscpScpAmt: '1000.00', identities: ['dibao'], upstream: up('800.00', '0.00', dedc) });
    // 1,000.00 − 800.00 = 200.00 left for the deductible the person bore
    expect(one(at('200.00')).setlinfo.actPayDedc).toBe('200.00');
    const e = caught(() => one(at('200.01')));
    expect(e).toBeInstanceOf(EngineError);
    expect(e).toMatchObject({ code: 'UPSTREAM_DOES_NOT_ADD_UP', field: 'act_pay_dedc' });
    expect((e as EngineError).message).toBe(
      'the deductible borne upstream 200.01 exceeds what hifp_pay 800.00 leaves of the in-scope cost 1000.00 (200.00)',
    );
  });
});
