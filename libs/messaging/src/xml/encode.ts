import { XMLBuilder } from 'fast-xml-parser';
import type { Bill, SettlementResult } from '@onebill/engine/types';

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: false,
  processEntities: true,
});

const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** Admission/discharge time on the wire; the Bill keeps only the date. */
const begn = (d: string): string => `${d} 00:00:00`;
const end = (d: string): string => `${d} 23:59:59`;

/**
 * A discharge's elements by their wire names (the XML's, which the JSON form shares); `@_version`
 * is the root's attribute.
 */
export function dischargeElements(
  bill: Bill,
  person?: { name?: string; certno?: string },
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    '@_version': '1',
    fixmedins_code: bill.fixmedinsCode,
    mdtrt_id: bill.mdtrtId,
    psn_no: bill.psnNo,
  };
  if (person?.name !== undefined) body['psn_name'] = person.name;
  if (person?.certno !== undefined) body['certno'] = person.certno;
  Object.assign(body, {
    insutype: bill.insutype,
    med_type: bill.medType,
    hosp_lv: bill.hospitalLevel,
    begntime: begn(bill.admissionDate),
    endtime: end(bill.dischargeDate),
    refl_flag: bill.referred ? '1' : '0',
    in_prov_flag: bill.inProvince ? '1' : '0',
    fu_flag: bill.followUp ? '1' : '0',
    cmi_flag: bill.commercialEnrolled ? '1' : '0',
    medfee_sumamt: bill.medfeeSumamt,
    fulamt_ownpay_amt: bill.fulamtOwnpayAmt,
    overlmt_selfpay: bill.overlmtSelfpay,
    preselfpay_amt: bill.preselfpayAmt,
    inscp_scp_amt: bill.inscpScpAmt,
  });
  if (bill.identities.length > 0) body['identities'] = { identity: [...bill.identities] };
  return body;
}

export function encodeDischargeXml(
  bill: Bill,
  person?: { name?: string; certno?: string },
): string {
  return DECL + builder.build({ discharge: dischargeElements(bill, person) });
}

export interface SettlementEnvelope {
  setlId: string;
  fixmedinsCode: string;
  mdtrtId: string;
  psnNo: string;
  clrOptins: string;
  setlTime: string;
}

export function encodeSettlementResultXml(
  result: SettlementResult,
  envelope: SettlementEnvelope,
): string {
  const s = result.setlinfo;
  const setlinfo = {
    setl_id: envelope.setlId,
    fixmedins_code: envelope.fixmedinsCode,
    mdtrt_id: envelope.mdtrtId,
    psn_no: envelope.psnNo,
    medfee_sumamt: s.medfeeSumamt,
    fulamt_ownpay_amt: s.fulamtOwnpayAmt,
    overlmt_selfpay: s.overlmtSelfpay,
    preselfpay_amt: s.preselfpayAmt,
    inscp_scp_amt: s.inscpScpAmt,
    act_pay_dedc: s.actPayDedc,
    hifp_pay: s.hifpPay,
    hifmi_pay: s.hifmiPay,
    maf_pay: s.mafPay,
    oth_pay: s.othPay,
    fund_pay_sumamt: s.fundPaySumamt,
    psn_part_amt: s.psnPartAmt,
    acct_pay: s.acctPay,
    psn_cash_pay: s.psnCashPay,
    inscp_psn_part: s.inscpPsnPart,
    clr_optins: envelope.clrOptins,
    setl_time: envelope.setlTime,
    category_used: result.categoryUsed ?? '',
    rule_set_version: result.ruleSetVersion,
    visit_class: result.visitClass,
  };
  const setldetail = {
    item: result.setldetail.map((d) => {
      const item: Record<string, unknown> = {
        fund_pay_type: d.fundPayType,
        fund: d.fund,
        fund_payamt: d.fundPayamt,
      };
      if (d.bucket !== undefined) item['bucket'] = d.bucket;
      item['setl_proc_info'] = {
        step: d.setlProcInfo.map((p) => {
          const st: Record<string, unknown> = { step: p.step, base: p.base, amount: p.amount };
          if (p.ratio !== undefined) st['ratio'] = p.ratio;
          if (p.deductible !== undefined) st['deductible'] = p.deductible;
          if (p.cap !== undefined) st['cap'] = p.cap;
          if (p.capHit !== undefined) st['cap_hit'] = p.capHit ? '1' : '0';
          if (p.note !== undefined) st['note'] = p.note;
          st['article'] = p.article;
          return st;
        }),
      };
      return item;
    }),
  };
  const doc = {
    'settlement-result': {
      '@_version': '1',
      setlinfo,
      setldetail,
      warnings: { warning: [...result.warnings] },
    },
  };
  return DECL + builder.build(doc);
}
