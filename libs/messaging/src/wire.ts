/**
 * The one bill in the national platform's wire names (2304 `setlinfo`, `setldetail`), for JSON
 * answers and events. The XML codec (./xml) writes the same names as elements.
 */
import type { Accumulators, ProcStep, SettlementResult } from '@onebill/engine';
import type { SettlementEnvelope } from './xml/encode';

export type { SettlementEnvelope };

export interface WireProcStep {
  step: string;
  base: string;
  amount: string;
  ratio?: string;
  deductible?: string;
  cap?: string;
  cap_hit?: boolean;
  note?: string;
  article: string;
}

export interface WireSetlInfo {
  setl_id?: string;
  fixmedins_code?: string;
  mdtrt_id?: string;
  psn_no?: string;
  clr_optins?: string;
  setl_time?: string;
  medfee_sumamt: string;
  fulamt_ownpay_amt: string;
  overlmt_selfpay: string;
  preselfpay_amt: string;
  inscp_scp_amt: string;
  act_pay_dedc: string;
  hifp_pay: string;
  hifmi_pay: string;
  maf_pay: string;
  oth_pay: string;
  fund_pay_sumamt: string;
  psn_part_amt: string;
  acct_pay: string;
  psn_cash_pay: string;
  inscp_psn_part: string;
}

export interface WireSettlement {
  setlinfo: WireSetlInfo;
  setldetail: {
    fund_pay_type: string;
    fund: string;
    fund_payamt: string;
    bucket?: string;
    setl_proc_info: WireProcStep[];
  }[];
  category_used: string | null;
  rule_set_version: string;
  visit_class: string;
  warnings: string[];
}

function wireStep(s: ProcStep): WireProcStep {
  const w: Partial<WireProcStep> = { step: s.step, base: s.base, amount: s.amount };
  if (s.ratio !== undefined) w.ratio = s.ratio;
  if (s.deductible !== undefined) w.deductible = s.deductible;
  if (s.cap !== undefined) w.cap = s.cap;
  if (s.capHit !== undefined) w.cap_hit = s.capHit;
  if (s.note !== undefined) w.note = s.note;
  w.article = s.article;
  return w as WireProcStep;
}

/** The settlement in wire names; the envelope (ids, county agency, time) when the bill is settled. */
export function toWire(r: SettlementResult, envelope?: SettlementEnvelope): WireSettlement {
  const s = r.setlinfo;
  const head: Partial<WireSetlInfo> =
    envelope === undefined
      ? {}
      : {
          setl_id: envelope.setlId,
          fixmedins_code: envelope.fixmedinsCode,
          mdtrt_id: envelope.mdtrtId,
          psn_no: envelope.psnNo,
          clr_optins: envelope.clrOptins,
          setl_time: envelope.setlTime,
        };
  return {
    setlinfo: {
      ...head,
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
    },
    setldetail: r.setldetail.map((d) => {
      const line: WireSettlement['setldetail'][number] = {
        fund_pay_type: d.fundPayType,
        fund: d.fund,
        fund_payamt: d.fundPayamt,
        setl_proc_info: d.setlProcInfo.map(wireStep),
      };
      if (d.bucket !== undefined) line.bucket = d.bucket;
      return line;
    }),
    category_used: r.categoryUsed,
    rule_set_version: r.ruleSetVersion,
    visit_class: r.visitClass,
    warnings: r.warnings,
  };
}

/** Accumulators as JSON: the engine's own names (they are ours, not the national platform's). */
export type WireAccumulators = Accumulators;
