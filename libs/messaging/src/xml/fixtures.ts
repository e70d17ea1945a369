import type { SettlementResult } from '@onebill/engine/types';
import type { SettlementEnvelope } from './encode';

/** A hand-written Panzhihua inpatient settlement used by tests and to generate the contract example. */
export const SAMPLE_RESULT: SettlementResult = {
  setlinfo: {
    medfeeSumamt: '48620.35',
    fulamtOwnpayAmt: '3200.00',
    overlmtSelfpay: '450.50',
    preselfpayAmt: '2969.85',
    inscpScpAmt: '42000.00',
    actPayDedc: '800.00',
    hifpPay: '28560.00',
    hifmiPay: '3980.00',
    mafPay: '4872.00',
    othPay: '0.00',
    fundPaySumamt: '37412.00',
    psnPartAmt: '11208.35',
    acctPay: '0.00',
    psnCashPay: '11208.35',
    inscpPsnPart: '4588.00',
  },
  setldetail: [
    {
      fundPayType: '390100',
      fund: 'basic',
      fundPayamt: '28560.00',
      setlProcInfo: [
        {
          step: 'basic',
          base: '42000.00',
          amount: '28560.00',
          ratio: '0.70',
          deductible: '800.00',
          cap: '150000.00',
          capHit: false,
          note: 'EXAMPLE parameters',
          article: 'example basic rule',
        },
      ],
    },
    {
      fundPayType: '390200',
      fund: 'critical',
      fundPayamt: '3980.00',
      setlProcInfo: [
        {
          step: 'critical',
          base: '12640.00',
          amount: '3980.00',
          ratio: '0.65',
          deductible: '4500.00',
          article: '004 第八条',
        },
      ],
    },
    {
      fundPayType: '610100',
      fund: 'assistance',
      fundPayamt: '4872.00',
      bucket: 'inpatient-chronic',
      setlProcInfo: [
        {
          step: 'assistance dibao',
          base: '8660.00',
          amount: '4872.00',
          ratio: '0.70',
          cap: '70000.00',
          capHit: false,
          article: '004 第十一条',
        },
      ],
    },
  ],
  categoryUsed: 'dibao',
  ruleSetVersion: 'panzhihua-2023.1',
  visitClass: 'inpatient',
  accumulators: {
    year: 2024,
    basicDeductibleUsed: {},
    basicPaid: {},
    criticalBase: '0.00',
    criticalPaid: '0.00',
    commercialBase: '0.00',
    commercialPaid: '0.00',
    assistanceDeductibleUsed: {},
    assistancePaid: {},
    tiltedBurden: '0.00',
    tiltedPaid: '0.00',
    inscpSelfPay: '0.00',
    cashSelfPay: '0.00',
  },
  warnings: ['example: basic and critical-illness parameters are example values'],
};

export const SAMPLE_ENVELOPE: SettlementEnvelope = {
  setlId: 'SETL2024510400000004',
  fixmedinsCode: 'H51040000002',
  mdtrtId: 'MDT20245104000004',
  psnNo: '5104001000148',
  clrOptins: '510411',
  setlTime: '2024-03-14 10:02:11',
};
