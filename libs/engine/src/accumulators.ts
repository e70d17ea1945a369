/**
 * Reading a person's year-to-date position from untrusted JSON (a --ytd file, a database row):
 * missing figures are zero, present ones must be money strings, the year must match.
 */
import { EngineError } from './errors';
import { formatFen, parseFen } from './money';
import { emptyAccumulators } from './settle';
import type { Accumulators } from './types';

const SCALARS = [
  'criticalBase',
  'criticalPaid',
  'commercialBase',
  'commercialPaid',
  'tiltedBurden',
  'tiltedPaid',
  'inscpSelfPay',
  'cashSelfPay',
] as const;
const MAPS = [
  'basicDeductibleUsed',
  'basicPaid',
  'assistanceDeductibleUsed',
  'assistancePaid',
] as const;
const KNOWN = new Set<string>(['year', ...SCALARS, ...MAPS]);

function bad(field: string, message: string): never {
  throw new EngineError(
    'INVALID_ACCUMULATORS',
    field,
    'accumulators: money strings per calendar year',
    message,
  );
}

export function accumulatorsFrom(data: unknown, year: number): Accumulators {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    bad('accumulators', 'accumulators must be a JSON object');
  }
  const o = data as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!KNOWN.has(k)) bad(`accumulators.${k}`, `unknown accumulator "${k}"`);
  if (o.year !== undefined && o.year !== year) {
    bad(
      'accumulators.year',
      `accumulators of ${JSON.stringify(o.year)} given for a bill of ${year} (自然年度)`,
    );
  }
  const acc = emptyAccumulators(year);
  const money = (v: unknown, field: string): string => {
    if (typeof v !== 'string') bad(field, `${field} must be a money string like "1234.50"`);
    return formatFen(parseFen(v, field));
  };
  for (const k of SCALARS) if (o[k] !== undefined) acc[k] = money(o[k], `accumulators.${k}`);
  for (const k of MAPS) {
    const m = o[k];
    if (m === undefined) continue;
    if (typeof m !== 'object' || m === null || Array.isArray(m))
      bad(`accumulators.${k}`, `${k} must be an object of amounts`);
    const out: Record<string, string> = {};
    for (const [key, v] of Object.entries(m as Record<string, unknown>))
      out[key] = money(v, `accumulators.${k}.${key}`);
    acc[k] = out;
  }
  return acc;
}

/**
 * A reversal takes one bill's contribution back out of the person's current position:
 * current − (after − before), field by field, never below zero. Later bills keep what they were
 * paid (they were settled and paid under the position they saw); the next bill sees the restored
 * position.
 */
export function withoutContribution(
  current: Accumulators,
  before: Accumulators,
  after: Accumulators,
): Accumulators {
  const out = emptyAccumulators(current.year);
  const sub = (
    c: string | undefined,
    b: string | undefined,
    a: string | undefined,
    f: string,
  ): string => {
    const v = parseFen(c ?? '0.00', f) - (parseFen(a ?? '0.00', f) - parseFen(b ?? '0.00', f));
    return formatFen(v < 0 ? 0 : v);
  };
  for (const k of SCALARS) out[k] = sub(current[k], before[k], after[k], `accumulators.${k}`);
  for (const k of MAPS) {
    const keys = new Set([...Object.keys(current[k]), ...Object.keys(after[k])]);
    const m: Record<string, string> = {};
    for (const key of [...keys].sort()) {
      m[key] = sub(current[k][key], before[k][key], after[k][key], `accumulators.${k}.${key}`);
    }
    out[k] = m;
  }
  return out;
}

/**
 * One bill's contribution added to a position: current + (after − before), field by field. The
 * counterpart of withoutContribution: a recomputation rebuilds the person's year from the bills
 * still settled, each as it was paid (its latest top-up, else its settlement).
 */
export function withContribution(
  current: Accumulators,
  before: Accumulators,
  after: Accumulators,
): Accumulators {
  const out = emptyAccumulators(current.year);
  const add = (
    c: string | undefined,
    b: string | undefined,
    a: string | undefined,
    f: string,
  ): string =>
    formatFen(parseFen(c ?? '0.00', f) + (parseFen(a ?? '0.00', f) - parseFen(b ?? '0.00', f)));
  for (const k of SCALARS) out[k] = add(current[k], before[k], after[k], `accumulators.${k}`);
  for (const k of MAPS) {
    const keys = new Set([
      ...Object.keys(current[k]),
      ...Object.keys(before[k]),
      ...Object.keys(after[k]),
    ]);
    const m: Record<string, string> = {};
    for (const key of [...keys].sort()) {
      m[key] = add(current[k][key], before[k][key], after[k][key], `accumulators.${k}.${key}`);
    }
    out[k] = m;
  }
  return out;
}
