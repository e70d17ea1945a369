/**
 * Field-level comparison of a stored settlement with the engine's result for the same inputs.
 * Pure: no I/O.
 */
import { D, type Dec, ZERO, formatDecimal } from '@onebill/money';
import type { Accumulators, Bill, FundKind, SetlDetail, SettlementResult } from '@onebill/engine';
import { bodyHashOf, sameBill } from '@onebill/ledger';
import { SETTLEMENT_FUNDS } from '@onebill/messaging';
import { SETLINFO_COLUMNS, type SetlInfoKey, type StoredSettlement } from './stored';

export interface FieldDiff {
  /** e.g. hifp_pay, fund:assistance, category_used, accumulators.criticalPaid, bill */
  field: string;
  stored: string | null;
  replayed: string | null;
}

/** The funds of a bill, in the order of the tiers (004 第八条). */
export const FUNDS: readonly FundKind[] = SETTLEMENT_FUNDS;

/** Equal as decimals ("0.7" = "0.70"); the trees hold ratios with 4 places too, not only money. */
function sameMoney(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return new D(a).equals(new D(b));
  } catch {
    return false;
  }
}

/** Fund amounts of one bill by fund kind (absent funds are 0.00). */
export function fundTotals(detail: readonly SetlDetail[]): Record<FundKind, string> {
  const out = {} as Record<FundKind, Dec>;
  for (const f of FUNDS) out[f] = ZERO;
  for (const d of detail) out[d.fund] = out[d.fund].plus(d.fundPayamt);
  const text = {} as Record<FundKind, string>;
  for (const f of FUNDS) text[f] = formatDecimal(out[f]);
  return text;
}

function flatten(prefix: string, v: unknown, out: Map<string, string>): void {
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      flatten(`${prefix}.${k}`, x, out);
    }
  } else {
    out.set(prefix, String(v));
  }
}

/** Deep equality of two accumulator trees, key order aside (jsonb reorders keys). */
function sameTree(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    return typeof a === 'string' && typeof b === 'string' ? sameMoney(a, b) : false;
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!sameTree((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) {
      return false;
    }
  }
  return true;
}

/** The same fund lines in the same order (the usual case): no arithmetic needed. */
function sameLines(a: readonly SetlDetail[], b: readonly SetlDetail[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) {
    if (a[i]!.fund !== b[i]!.fund || a[i]!.fundPayamt !== b[i]!.fundPayamt) return false;
  }
  return true;
}

function accumulatorDiffs(
  stored: Accumulators,
  replayed: Accumulators,
  prefix = 'accumulators',
): FieldDiff[] {
  if (sameTree(stored, replayed)) return [];
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(prefix, stored, a);
  flatten(prefix, replayed, b);
  const diffs: FieldDiff[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(key) ?? null;
    const y = b.get(key) ?? null;
    // a map entry at zero and no entry are the same position
    const zero = (v: string | null): boolean => v === null || sameMoney(v, '0');
    if (x === null || y === null ? !(zero(x) && zero(y)) : !sameMoney(x, y)) {
      diffs.push({ field: key, stored: x, replayed: y });
    }
  }
  return diffs.sort((p, q) => p.field.localeCompare(q.field));
}

/**
 * What differs between the stored settlement and the replayed result: every setlinfo amount,
 * the category used, each fund's total, the accumulators after the bill, and the bill itself
 * (the replayed input must have the identity stored when the bill was settled, docs/adr/0017).
 */
export function compareSettlement(
  stored: StoredSettlement,
  replayed: SettlementResult,
  bill: Bill,
): FieldDiff[] {
  const diffs: FieldDiff[] = [];
  // the bill's identity under the form it was stored in (docs/adr/0017)
  if (!sameBill(bill, stored)) {
    const replayedBodyHash =
      bodyHashOf(bill, stored.bodyHashForm) ?? `outside form ${stored.bodyHashForm}`;
    diffs.push({ field: 'bill', stored: stored.bodyHash, replayed: replayedBodyHash });
  }
  for (const [key, column] of Object.entries(SETLINFO_COLUMNS)) {
    const s = stored.amounts[key as SetlInfoKey];
    const r = replayed.setlinfo[key as SetlInfoKey];
    if (!sameMoney(s, r)) diffs.push({ field: column, stored: s, replayed: r });
  }
  if (stored.categoryUsed !== replayed.categoryUsed) {
    diffs.push({
      field: 'category_used',
      stored: stored.categoryUsed,
      replayed: replayed.categoryUsed,
    });
  }
  if (stored.ruleSetVersion !== replayed.ruleSetVersion) {
    diffs.push({
      field: 'rule_set_version',
      stored: stored.ruleSetVersion,
      replayed: replayed.ruleSetVersion,
    });
  }
  if (!sameLines(stored.setldetail, replayed.setldetail)) {
    const sf = fundTotals(stored.setldetail);
    const rf = fundTotals(replayed.setldetail);
    for (const f of FUNDS) {
      if (!sameMoney(sf[f], rf[f])) {
        diffs.push({ field: `fund:${f}`, stored: sf[f], replayed: rf[f] });
      }
    }
  }
  diffs.push(...accumulatorDiffs(stored.accumulatorsAfter, replayed.accumulators));
  return diffs;
}

/**
 * Whether the bill started where the ledger says it must have (StoredSettlement.startsFrom):
 * `accumulators_before.<leaf>` with the stored starting value and the expected one. An edited
 * year-to-date position shows here, in the first bill settled on it.
 */
export function continuityDiffs(stored: StoredSettlement): FieldDiff[] {
  if (stored.startsFrom === null) return [];
  return accumulatorDiffs(stored.accumulatorsBefore, stored.startsFrom, 'accumulators_before');
}
