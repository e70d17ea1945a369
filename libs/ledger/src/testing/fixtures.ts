/**
 * A bill and an engine result shaped like the engine's output, for ledger tests. The amounts are
 * illustrative (the ledger stores what the engine computed; it does not recompute them) but
 * consistent: funds + personal part = total.
 */
import { randomUUID } from 'node:crypto';
import type { Accumulators, Bill, SettlementResult } from '@onebill/engine';
import { zeroAccumulators } from '../repositories';
import { billBodyHash } from '../bill-identity';

export function sampleBill(overrides: Partial<Bill> = {}): Bill {
  return {
    fixmedinsCode: 'H51040200001',
    mdtrtId: `MDTRT-${randomUUID()}`,
    psnNo: `PSN-${randomUUID()}`,
    insutype: '390',
    medType: '21',
    hospitalLevel: '2',
    admissionDate: '2024-03-01',
    dischargeDate: '2024-03-10',
    referred: true,
    inProvince: true,
    followUp: false,
    commercialEnrolled: false,
    identities: [],
    medfeeSumamt: '10000.00',
    fulamtOwnpayAmt: '500.00',
    overlmtSelfpay: '0.00',
    preselfpayAmt: '300.00',
    inscpScpAmt: '9200.00',
    ...overrides,
  };
}

export function sampleResult(bill: Bill): SettlementResult {
  return {
    setlinfo: {
      medfeeSumamt: bill.medfeeSumamt,
      fulamtOwnpayAmt: bill.fulamtOwnpayAmt,
      overlmtSelfpay: bill.overlmtSelfpay,
      preselfpayAmt: bill.preselfpayAmt,
      inscpScpAmt: bill.inscpScpAmt,
      actPayDedc: '600.00',
      hifpPay: '6020.00',
      hifmiPay: '0.00',
      mafPay: '0.00',
      othPay: '0.00',
      fundPaySumamt: '6020.00',
      psnPartAmt: '3980.00',
      acctPay: '0.00',
      psnCashPay: '3980.00',
      inscpPsnPart: '3180.00',
    },
    setldetail: [
      {
        fundPayType: '390100',
        fund: 'basic',
        fundPayamt: '6020.00',
        bucket: 'inpatient',
        setlProcInfo: [
          {
            step: 'deductible',
            base: '9200.00',
            amount: '8600.00',
            deductible: '600.00',
            article: 'example',
          },
          { step: 'ratio', base: '8600.00', amount: '6020.00', ratio: '0.70', article: 'example' },
        ],
      },
    ],
    categoryUsed: null,
    ruleSetVersion: 'example-2024.1',
    visitClass: 'inpatient',
    accumulators: {
      year: 2024,
      basicDeductibleUsed: { inpatient: '600.00' },
      basicPaid: { inpatient: '6020.00' },
      criticalBase: '0.00',
      criticalPaid: '0.00',
      commercialBase: '0.00',
      commercialPaid: '0.00',
      assistanceDeductibleUsed: {},
      assistancePaid: {},
      tiltedBurden: '0.00',
      tiltedPaid: '0.00',
      inscpSelfPay: '3180.00',
      cashSelfPay: '3980.00',
    },
    warnings: [],
  };
}

/** The bill's identity as the intake stores it (form c1, docs/adr/0017). */
export function bodyHashOf(bill: Bill): string {
  return billBodyHash(bill);
}

/** The gateway-side fields of a new settlement: when, its event id, the position before it. */
export function settlementExtras(): {
  setlTime: string;
  eventId: string;
  accumulatorsBefore: Accumulators;
} {
  return {
    setlTime: '2024-03-10 16:20:00',
    eventId: randomUUID(),
    accumulatorsBefore: zeroAccumulators(2024),
  };
}
