/** CSV of the replay reports. */
import { toCsv } from './csv';
import type { AuditReport, WhatIfReport } from './replay';

export function auditCsv(r: AuditReport): string {
  const rows: (string | number | null)[][] = [];
  for (const d of r.differences) {
    const head = [
      d.setlId,
      d.mdtrtId,
      d.fixmedinsCode,
      d.clrOptins,
      d.psnNo,
      d.ruleSetVersion,
      d.status,
    ];
    if (d.error !== undefined) rows.push([...head, 'error', '', '', d.error]);
    for (const f of d.diffs) rows.push([...head, f.field, f.stored, f.replayed, '']);
  }
  return toCsv(
    [
      'setl_id',
      'mdtrt_id',
      'fixmedins_code',
      'clr_optins',
      'psn_no',
      'rule_set_version',
      'status',
      'field',
      'stored',
      'replayed',
      'error',
    ],
    rows,
  );
}

export function whatIfCsv(r: WhatIfReport): string {
  return toCsv(
    ['clr_optins', 'category', 'fund', 'bills', 'stored', 'what_if', 'delta'],
    [
      ...r.impact.map((i) => [i.county, i.category, i.fund, i.bills, i.stored, i.whatIf, i.delta]),
      ...r.totals.map((t) => ['*', '*', t.fund, r.total, t.stored, t.whatIf, t.delta]),
    ],
  );
}
