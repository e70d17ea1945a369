/** CSV of the replay reports. */
import { decimalOf, formatDecimal } from '@onebill/money';
import type { VerifyReport } from '@onebill/ledger';
import { toCsv } from './csv';
import type { AuditReport, WhatIfReport } from './replay';
import type { AnnualClearing, MonthlyClearing, ReconciliationReport } from './statements';

/** One line per differing field or failed bill (audit replay, Kafka-range replay). */
export function auditCsv(r: Pick<AuditReport, 'differences'>): string {
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

export function reconciliationCsv(r: ReconciliationReport): string {
  const rows: (string | number | boolean | null)[][] = r.lines.map((l) => [
    'total',
    l.fixmedinsCode,
    l.clrOptins,
    l.month,
    l.fund,
    '',
    '',
    '',
    l.declared,
    l.ours,
    l.difference,
    l.matched ? 'matched' : 'differs',
  ]);
  for (const t of r.inconsistentTotals) {
    rows.push([
      'totals-vs-lines',
      r.fixmedinsCode,
      r.clrOptins,
      r.month,
      t.fund,
      '',
      '',
      'inconsistent-totals',
      t.declaredTotal,
      t.sumOfLines,
      t.difference,
      'differs',
    ]);
  }
  for (const b of r.bills) {
    // a bill with no fund difference (a visit mismatch) still gets its line
    const funds: { fund: string; declared: string | null; ours: string | null }[] =
      b.funds.length > 0 ? b.funds : [{ fund: '', declared: null, ours: null }];
    for (const f of funds) {
      rows.push([
        'bill',
        r.fixmedinsCode,
        r.clrOptins,
        r.month,
        f.fund,
        b.setlId,
        b.mdtrtId,
        b.kind,
        f.declared,
        f.ours,
        formatDecimal(decimalOf(f.declared).minus(decimalOf(f.ours))),
        'differs',
      ]);
    }
  }
  return toCsv(
    [
      'line',
      'fixmedins_code',
      'clr_optins',
      'month',
      'fund',
      'setl_id',
      'mdtrt_id',
      'kind',
      'declared',
      'ours',
      'difference',
      'status',
    ],
    rows,
  );
}

export function monthlyClearingCsv(s: MonthlyClearing): string {
  return toCsv(
    [
      'clr_optins',
      'month',
      'fixmedins_code',
      'fund',
      'settled_bills',
      'settled',
      'reversed_bills',
      'reversed',
      'topups',
      'topped_up',
      'topup_reversals',
      'topups_reversed',
      'owed',
    ],
    s.lines.map((l) => [
      l.clrOptins,
      s.month,
      l.fixmedinsCode,
      l.fund,
      l.settledBills,
      l.settled,
      l.reversedBills,
      l.reversed,
      l.topupCount,
      l.toppedUp,
      l.topupReversalCount,
      l.topupsReversed,
      l.owed,
    ]),
  );
}

export function annualClearingCsv(s: AnnualClearing): string {
  return toCsv(
    ['clr_optins', 'year', 'fixmedins_code', 'fund', 'due', 'cleared_monthly', 'balance'],
    s.lines.map((l) => [
      l.clrOptins,
      s.year,
      l.fixmedinsCode,
      l.fund,
      l.due,
      l.clearedMonthly,
      l.balance,
    ]),
  );
}

/** Several reconciliations as one CSV: one header, then each report's lines. */
export function reconciliationsCsv(reports: readonly ReconciliationReport[]): string {
  return reports
    .map((r, i) => {
      const csv = reconciliationCsv(r);
      return i === 0 ? csv : csv.slice(csv.indexOf('\r\n') + 2);
    })
    .join('');
}

/** A fund statement's county rows as CSV (the scalar columns of the rows). */
export function fundStatementCsv(rows: readonly object[]): string {
  const records = rows as readonly Record<string, unknown>[];
  const header = Object.keys(records[0] ?? {}).filter((k) => typeof records[0]?.[k] !== 'object');
  return toCsv(
    header,
    records.map((r) => header.map((h) => r[h] as string | number | boolean | null)),
  );
}

/** The broken links of an archive verification, one per line. */
export function verifyCsv(r: VerifyReport): string {
  return toCsv(
    ['seq', 'kind', 'ref', 'reason', 'setl_id', 'fixmedins_code', 'mdtrt_id', 'detail'],
    r.broken.map((b) => [
      b.seq,
      b.kind,
      b.ref,
      b.reason,
      b.setlId ?? '',
      b.fixmedinsCode ?? '',
      b.mdtrtId ?? '',
      b.detail,
    ]),
  );
}
