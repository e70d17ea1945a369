import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuleBook, projectRoot } from '@onebill/rules';
import {
  type BatchItem,
  type BatchLine,
  InputProblems,
  batchItems,
  loadBook,
  settleBatch,
} from './settle-lib';

const book = RuleBook.load();
const root = projectRoot();

/** A 低保 ordinary-outpatient visit at H51040000006 (Panzhihua, level 1), in the HTTP JSON form. */
function visit(id: string, inscp: string, psn = 'BATCH-P1'): string {
  return JSON.stringify({
    discharge: {
      fixmedins_code: 'H51040000006',
      mdtrt_id: id,
      psn_no: psn,
      insutype: '390',
      med_type: '11',
      hosp_lv: '1',
      begntime: '2024-05-11 08:30:00',
      endtime: '2024-05-11 11:45:00',
      refl_flag: '1',
      in_prov_flag: '1',
      fu_flag: '0',
      cmi_flag: '0',
      medfee_sumamt: inscp,
      fulamt_ownpay_amt: '0.00',
      overlmt_selfpay: '0.00',
      preselfpay_amt: '0.00',
      inscp_scp_amt: inscp,
      identities: { identity: ['dibao'] },
    },
  });
}

const items = (lines: string[]): BatchItem[] =>
  lines.map((raw, i) => ({ source: `bills.ndjson:${i + 1}`, raw, json: true }));

function run(lines: string[], opts: Parameters<typeof settleBatch>[2] = {}) {
  const out: BatchLine[] = [];
  const summary = settleBatch(book, items(lines), opts, (l) => out.push(l));
  return { out, summary };
}

describe('settle --batch', () => {
  it("carries a person's position from bill to bill: the 低保 outpatient cap is shared", () => {
    const { out, summary } = run([visit('B1', '1000.00'), visit('B2', '1000.00')]);
    const maf = out.map((l) => (l.ok ? l.setlinfo.maf_pay : 'rejected'));
    // B1: basic 1,000.00 × 0.60 = 600.00, capped at the 400.00 outpatient cap (example values);
    //     低保 70 % of 600.00 = 420.00 (004 第十条)
    // B2: basic cap used; 70 % of 1,000.00 = 700.00, capped at 800.00 − 420.00 = 380.00 (004 第十条)
    expect(maf).toEqual(['420.00', '380.00']);
    expect(summary).toMatchObject({ bills: 2, settled: 2, rejected: 0, persons: 1 });
    expect(summary.totals).toEqual({
      medfee_sumamt: '2000.00',
      hifp_pay: '400.00',
      hifmi_pay: '0.00',
      oth_pay: '0.00',
      maf_pay: '800.00',
      fund_pay_sumamt: '1200.00',
      psn_cash_pay: '800.00',
    });
    expect(summary.positions['BATCH-P1']?.['2024']?.assistancePaid).toEqual({
      'ordinary-outpatient': '800.00',
    });
    expect(summary.rule_set_versions).toEqual(['panzhihua-2023.2+figures-2024.1']);
  });

  it('keeps persons apart and starts from a given position (--ytd by psn_no)', () => {
    const { out } = run([visit('C1', '1000.00', 'P-A'), visit('C2', '1000.00', 'P-B')], {
      ytd: { 'P-B': { year: 2024, assistancePaid: { 'ordinary-outpatient': '700.00' } } },
    });
    // P-A fresh: 420.00 as above; P-B had 700.00 of the 800.00 cap: 100.00 left (004 第十条)
    expect(out.map((l) => (l.ok ? l.setlinfo.maf_pay : 'rejected'))).toEqual(['420.00', '100.00']);
  });

  it('reports a bad line, a duplicate bill and a misspelt position without stopping', () => {
    const { out, summary } = run(
      [visit('D1', '100.00'), '{not json', visit('D1', '100.00'), visit('D2', '100.00', 'P-X')],
      { ytd: { 'P-X': { assistancePaid: { ordinary_outpatient: '1.00' } } } },
    );
    expect(out.map((l) => l.ok)).toEqual([true, false, false, false]);
    const errors = out.flatMap((l) => (l.ok ? [] : l.errors.map((e) => e.code)));
    expect(errors).toEqual(['INVALID_JSON', 'DUPLICATE_BILL', 'INVALID_ACCUMULATORS']);
    const typo = out[3];
    expect(typo?.ok === false && typo.errors[0]?.message).toBe(
      "ytd.P-X.assistancePaid: unknown bucket 'ordinary_outpatient'; known: inpatient-chronic, ordinary-outpatient",
    );
    expect(summary).toMatchObject({ bills: 4, settled: 1, rejected: 3, persons: 1 });
  });

  it('reads a directory of XML discharges in name order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'batch-'));
    const ex = join(root, 'contracts/discharge/examples');
    copyFileSync(join(ex, 'discharge-panzhihua-21-dibao.xml'), join(dir, 'b.xml'));
    copyFileSync(join(ex, 'discharge-baoshan-21-dibao_edge.xml'), join(dir, 'a.xml'));
    writeFileSync(join(dir, 'notes.txt'), 'not a bill');
    const list = batchItems(dir);
    expect(list.map((i) => i.source)).toEqual(['a.xml', 'b.xml']);
    const summary = settleBatch(book, list);
    expect(summary).toMatchObject({ bills: 2, settled: 2, persons: 2 });
  });

  it('refuses a figures file with an unknown figure, naming the known ones (exit 2)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'params-'));
    const file = join(dir, 'panzhihua-2024.json');
    writeFileSync(
      file,
      JSON.stringify({
        region: 'panzhihua',
        year: 2024,
        revision: 2,
        example: true,
        note: 'test',
        colour: 'red',
        figures: {
          pcdi: { amount: '43567.00', what: 'PCDI' },
          monitoringIncomeStandard: { amount: '7600.00', what: 'monitoring standard' },
          pcdl: { amount: '1.00', what: 'a typo' },
        },
      }),
    );
    let thrown: unknown;
    try {
      loadBook([file]);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(InputProblems);
    expect((thrown as InputProblems).problems.map((p) => p.message)).toEqual([
      `${file}: unknown key 'colour'; known: region, year, revision, example, note, figures`,
    ]);
    // the schema passes once the key is gone; then the figure names are checked
    writeFileSync(
      file,
      JSON.stringify({
        region: 'panzhihua',
        year: 2024,
        revision: 2,
        example: true,
        note: 'test',
        figures: {
          pcdi: { amount: '43567.00', what: 'PCDI' },
          monitoringIncomeStandard: { amount: '7600.00', what: 'monitoring standard' },
          pcdl: { amount: '1.00', what: 'a typo' },
        },
      }),
    );
    expect(() => loadBook([file])).toThrow(
      `${file}: figures: unknown figure 'pcdl'; known: monitoringIncomeStandard, pcdi, residentContribution`,
    );
  });
});
