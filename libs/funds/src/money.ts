/**
 * Money and exact ratios for fund statements. decimal.js with our own clone (never Decimal.set on
 * the shared constructor); amounts are strings with at most two decimals on the way in and exactly
 * two on the way out. No binary floats anywhere.
 */
import Decimal from 'decimal.js';

/** Our own configured Decimal: 40 significant digits, half-up. */
export const D = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
export type Dec = InstanceType<typeof D>;

/** A bad input or data file: `field` names the offending field (a JSON path). */
export class FundInputError extends Error {
  constructor(
    readonly field: string,
    problem: string,
    /** every problem, one line each (a schema check reports them all at once) */
    readonly problems: readonly string[] = [`funds: ${field}: ${problem}`],
  ) {
    super(`funds: ${field}: ${problem}`);
    this.name = 'FundInputError';
  }
}

const MONEY = /^(0|[1-9]\d{0,11})(\.\d{1,2})?$/;
const RATIO = /^(0|[1-9]\d{0,11})(\.\d{1,12})?$/;

/** A non-negative amount in yuan with at most two decimals ("123.45"), at most 12 integer digits. */
export function parseMoney(value: unknown, field: string): Dec {
  if (typeof value !== 'string') {
    throw new FundInputError(
      field,
      `expected an amount as a string like "123.45", got ${typeof value}`,
    );
  }
  if (!MONEY.test(value)) {
    throw new FundInputError(
      field,
      `"${value}" is not a non-negative amount with at most two decimals`,
    );
  }
  return new D(value);
}

/** A non-negative decimal ratio or factor value as a string ("0.35", "1.2", "12345"). */
export function parseRatio(value: unknown, field: string): Dec {
  if (typeof value !== 'string') {
    throw new FundInputError(
      field,
      `expected a decimal as a string like "0.35", got ${typeof value}`,
    );
  }
  if (!RATIO.test(value)) {
    throw new FundInputError(
      field,
      `"${value}" is not a non-negative decimal (at most 12 decimals)`,
    );
  }
  return new D(value);
}

/** Round half-up to the fen. The only rounding helper of this library. */
export function toFen(d: Dec): Dec {
  return d.toDecimalPlaces(2, D.ROUND_HALF_UP);
}

/** Format an amount that is already whole fen as "123.45"; throws if it is not (a bug, not data). */
export function yuan(d: Dec): string {
  if (!d.equals(d.toDecimalPlaces(2))) {
    throw new Error(`funds: internal: ${d.toString()} is not a whole number of fen`);
  }
  return d.toFixed(2);
}

export const ZERO = new D(0);

export function max0(d: Dec): Dec {
  return d.isNegative() ? ZERO : d;
}

/** Smaller of two. */
export function min(a: Dec, b: Dec): Dec {
  return a.lessThan(b) ? a : b;
}

/**
 * Largest-remainder (Hamilton) allocation of `total` (whole fen) in proportion to `weights`:
 * each part is floored to the fen, then the fen left over go one each to the parts with the
 * largest remainders; ties go to the smaller key (code-unit order), so the result does not depend
 * on input order. The parts sum to `total` exactly. Weights must be non-negative with a positive sum.
 */
export function largestRemainder(
  total: Dec,
  weights: ReadonlyArray<{ key: string; weight: Dec }>,
): Map<string, Dec> {
  const sum = weights.reduce((s, w) => s.plus(w.weight), ZERO);
  if (!sum.greaterThan(0)) {
    throw new Error('funds: internal: largestRemainder needs a positive weight sum');
  }
  const totalFen = total.times(100);
  const parts = weights.map((w) => {
    const exact = totalFen.times(w.weight).dividedBy(sum);
    const floor = exact.floor();
    return { key: w.key, floor, remainder: exact.minus(floor) };
  });
  const given = parts.reduce((s, p) => s.plus(p.floor), ZERO);
  let left: Dec = totalFen.minus(given); // whole fen left over, fewer than the parts
  const order = [...parts].sort((a, b) => {
    const c = b.remainder.comparedTo(a.remainder);
    if (c !== 0) return c;
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  });
  const extra = new Set<string>();
  for (const p of order) {
    if (!left.greaterThan(0)) break;
    extra.add(p.key);
    left = left.minus(1);
  }
  const out = new Map<string, Dec>();
  for (const p of parts) {
    out.set(p.key, p.floor.plus(extra.has(p.key) ? 1 : 0).dividedBy(100));
  }
  return out;
}
