/**
 * Hospital declarations for reconciliation: the XML message (libs/messaging decodeDeclaration)
 * or a CSV upload of 3202-like detail lines, one per settlement:
 *
 *   fixmedins_code,clr_optins,month,setl_id,mdtrt_id,basic,critical,commercial,assistance,tilted
 *
 * The CSV gives one declaration per (hospital, county agency, month) present in it, its totals
 * being the sums of its lines. Errors name the line and the column.
 */
import { decimalOf, formatDecimal } from '@onebill/money';
import {
  type Declaration,
  type DeclaredBill,
  type DeclaredFund,
  DECLARED_FUNDS,
  DECLARATION_RULES,
} from '@onebill/messaging';
import { parseCsv } from './csv';

export { type Declaration, type DeclaredBill, DECLARED_FUNDS };

export class DeclarationError extends Error {
  constructor(readonly problems: { field: string; rule: string; message: string }[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
  }
}

const HEADER = ['fixmedins_code', 'clr_optins', 'month', 'setl_id', 'mdtrt_id', ...DECLARED_FUNDS];

export function parseCsvDeclarations(text: string): Declaration[] {
  const rows = parseCsv(text.replace(/^\uFEFF/, ''));
  const problems: { field: string; rule: string; message: string }[] = [];
  const header = rows[0]?.map((h) => h.trim().toLowerCase()) ?? [];
  const col = new Map(header.map((h, i) => [h, i]));
  for (const h of HEADER.slice(0, 4)) {
    if (!col.has(h))
      problems.push({ field: `header.${h}`, rule: 'required', message: `column ${h} is missing` });
  }
  if (problems.length > 0) throw new DeclarationError(problems);
  const groups = new Map<string, Declaration & { bills: DeclaredBill[] }>();
  const seen = new Set<string>();
  rows.slice(1).forEach((r, i) => {
    const line = i + 2;
    const get = (h: string): string => (col.has(h) ? (r[col.get(h)!] ?? '').trim() : '');
    const code = get('fixmedins_code');
    const county = get('clr_optins');
    const month = get('month');
    const setlId = get('setl_id');
    /** false (and a problem on `line N.<field>`) when `v` breaks the rule of `k` */
    const check = (
      k: keyof typeof DECLARATION_RULES,
      v: string,
      what: string,
      field: string = k,
    ): boolean => {
      const { re, rule } = DECLARATION_RULES[k];
      if (re.test(v)) return true;
      problems.push({ field: `line ${line}.${field}`, rule, message: `"${v}" is not ${what}` });
      return false;
    };
    check('fixmedins_code', code, 'an institution code');
    check('clr_optins', county, 'a county agency code');
    check('month', month, 'a month');
    if (setlId === '')
      problems.push({
        field: `line ${line}.setl_id`,
        rule: 'required',
        message: 'setl_id is empty',
      });
    if (seen.has(setlId))
      problems.push({
        field: `line ${line}.setl_id`,
        rule: 'unique',
        message: `settlement ${setlId} declared twice`,
      });
    seen.add(setlId);
    const funds: Partial<Record<DeclaredFund, string>> = {};
    for (const f of DECLARED_FUNDS) {
      const v = get(f);
      if (v === '') continue;
      if (!check('amount', v, 'an amount like 1234.50', f)) continue;
      funds[f] = formatDecimal(decimalOf(v, `line ${line}.${f}`));
    }
    const key = `${code}|${county}|${month}`;
    let g = groups.get(key);
    if (g === undefined) {
      g = { fixmedinsCode: code, clrOptins: county, month, bills: [] };
      groups.set(key, g);
    }
    g.bills.push({ setlId, mdtrtId: get('mdtrt_id'), funds });
  });
  if (problems.length > 0) throw new DeclarationError(problems);
  return [...groups.values()];
}
