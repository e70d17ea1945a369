/**
 * decimal.js interop, for the places without a hot path that need arbitrary-size or fractional
 * arithmetic: fund statements (shares with 12 places), rule-set resolution (a share of a yearly
 * figure), audit sums and the decoder's sum check. One configured clone for the whole project
 * (never Decimal.set on the shared constructor): 40 significant digits, half-up.
 */
import Decimal from 'decimal.js';
import { MoneyError, type MoneyErrorCode, shown } from './errors';
import { type Fen, formatFen } from './fen';

/** The project's Decimal: 40 significant digits, rounding half-up. */
export const D = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
export type Dec = InstanceType<typeof D>;

export const ZERO: Dec = new D(0);

/** Amount form of the data files (contracts/funds): non-negative, no leading zero, ≤ 12 digits. */
const AMOUNT = /^(0|[1-9]\d{0,11})(\.\d{1,2})?$/;
/** A non-negative decimal factor or share with at most 12 places. */
const RATIO = /^(0|[1-9]\d{0,11})(\.\d{1,12})?$/;
/** Any signed decimal with at most two places and ≤ 12 integer digits (stored and declared). */
const SIGNED = /^-?\d{1,12}(\.\d{1,2})?$/;

/** A string matching `form` as a Decimal; a MoneyError with `code` naming the field otherwise. */
function parseChecked(
  value: unknown,
  field: string,
  check: { code: MoneyErrorCode; form: RegExp; example: string; what: string },
): Dec {
  if (typeof value !== 'string') {
    throw new MoneyError(
      check.code,
      field,
      value,
      `expected ${check.example}, got ${typeof value}`,
    );
  }
  if (!check.form.test(value)) {
    throw new MoneyError(check.code, field, value, `"${value}" is not ${check.what}`);
  }
  return new D(value);
}

/**
 * A non-negative amount of a data file ("123.45", "0", "12.5") as a Decimal; a MoneyError naming the
 * field and the value otherwise (also for a non-string: amounts are strings, never JSON numbers).
 */
export function parseAmount(value: unknown, field: string): Dec {
  return parseChecked(value, field, {
    code: 'INVALID_AMOUNT',
    form: AMOUNT,
    example: 'an amount as a string like "123.45"',
    what: 'a non-negative amount with at most two decimals',
  });
}

/** A non-negative decimal ratio or factor ("0.35", "1.2", "12345") as a Decimal. */
export function parseRatio(value: unknown, field: string): Dec {
  return parseChecked(value, field, {
    code: 'INVALID_RATIO',
    form: RATIO,
    example: 'a decimal as a string like "0.35"',
    what: 'a non-negative decimal (at most 12 decimals)',
  });
}

/**
 * A stored or declared amount, signed, with at most two decimals ("-12.5", "1234.50") as a
 * Decimal; null and undefined are 0. A MoneyError naming the field and the value otherwise.
 */
export function decimalOf(value: string | null | undefined, field = 'amount'): Dec {
  if (value === null || value === undefined) return ZERO;
  if (!SIGNED.test(value)) {
    throw new MoneyError(
      'INVALID_AMOUNT',
      field,
      value,
      `${shown(value)} is not an amount with at most two decimals`,
    );
  }
  return new D(value);
}

/** The sum of Decimals (or of amounts parsed with `decimalOf`). */
export function sumDecimal(values: Iterable<Dec | string>): Dec {
  let s = ZERO;
  for (const v of values) s = s.plus(typeof v === 'string' ? decimalOf(v) : v);
  return s;
}

/** Round half-up to the fen. */
export function roundToFen(d: Dec): Dec {
  return d.toDecimalPlaces(2, D.ROUND_HALF_UP);
}

/**
 * A Decimal that is already whole fen in the wire form "123.45"; a MoneyError if it is not (a bug
 * in the caller's arithmetic, not data: round first at a named point).
 */
export function formatDecimal(d: Dec): string {
  if (!d.equals(d.toDecimalPlaces(2))) {
    throw new MoneyError(
      'NOT_WHOLE_FEN',
      'amount',
      d.toString(),
      `${d.toString()} is not a whole number of fen`,
    );
  }
  return d.toFixed(2);
}

/**
 * share × figure, rounded half-up to the fen, as a wire amount: the threshold-resolution rounding
 * point (e.g. 5 % of a county's PCDI, rounded when the rule set is resolved for the year).
 */
export function shareOf(share: Dec | string, figure: Dec | string): string {
  return roundToFen(new D(share).times(figure)).toFixed(2);
}

/** Fen → Decimal yuan (exact). */
export const fenToDecimal = (fen: Fen): Dec => new D(formatFen(fen));

/** Decimal yuan → fen; a MoneyError if it is not whole fen or not a safe integer of fen. */
export function decimalToFen(d: Dec): Fen {
  const fen = d.times(100);
  if (!fen.isInteger() || fen.abs().greaterThan(Number.MAX_SAFE_INTEGER)) {
    throw new MoneyError(
      'NOT_WHOLE_FEN',
      'amount',
      d.toString(),
      `${d.toString()} is not a whole number of fen`,
    );
  }
  // exact: an integer below 2^53 (lint: the one sanctioned Decimal → number conversion)
  return fen.toNumber();
}

/** The larger of d and 0. */
export const max0 = (d: Dec): Dec => (d.isNegative() ? ZERO : d);
/** The smaller of two. */
export const minDecimal = (a: Dec, b: Dec): Dec => (a.lessThan(b) ? a : b);

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
    throw new Error('money: internal: largestRemainder needs a positive weight sum');
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
