/**
 * npm exec -- tsx bench/batch-settle-input.ts [--bills 1000] [--persons 200] [--seed 7] [--year 2024] > bills.ndjson
 *
 * The input of `npm run settle -- --batch` for timing it (bench/README.md, "settle --batch"): the
 * HIS simulator's bills (apps/his-simulator/src/generate.ts: every hospital of the registry, every
 * visit type and category, both insurance types), deterministic for a seed, one discharge a line in
 * the HTTP API's JSON form. Persons repeat across bills, so positions are carried.
 */
import type { Bill } from '@onebill/engine';
import { RuleBook } from '@onebill/rules';
import { BillGenerator, hospitalRefs } from '../apps/his-simulator/src/generate';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`error: --${name} needs a positive integer\n`);
    process.exit(2);
  }
  return v;
}

/** The JSON form of a discharge: the XML element names (libs/messaging/src/xml/encode.ts). */
function jsonForm(b: Bill): { discharge: Record<string, unknown> } {
  return {
    discharge: {
      fixmedins_code: b.fixmedinsCode,
      mdtrt_id: b.mdtrtId,
      psn_no: b.psnNo,
      insutype: b.insutype,
      med_type: b.medType,
      hosp_lv: b.hospitalLevel,
      begntime: `${b.admissionDate} 00:00:00`,
      endtime: `${b.dischargeDate} 23:59:59`,
      refl_flag: b.referred ? '1' : '0',
      in_prov_flag: b.inProvince ? '1' : '0',
      fu_flag: b.followUp ? '1' : '0',
      cmi_flag: b.commercialEnrolled ? '1' : '0',
      medfee_sumamt: b.medfeeSumamt,
      fulamt_ownpay_amt: b.fulamtOwnpayAmt,
      overlmt_selfpay: b.overlmtSelfpay,
      preselfpay_amt: b.preselfpayAmt,
      inscp_scp_amt: b.inscpScpAmt,
      ...(b.identities.length > 0 ? { identities: { identity: [...b.identities] } } : {}),
    },
  };
}

const gen = new BillGenerator({
  seed: option('seed', 7),
  year: option('year', 2024),
  hospitals: hospitalRefs(RuleBook.load()),
  persons: option('persons', 200),
});
const n = option('bills', 1000);
const lines: string[] = [];
for (let i = 0; i < n; i++) lines.push(JSON.stringify(jsonForm(gen.bill())));
process.stdout.write(`${lines.join('\n')}\n`);
