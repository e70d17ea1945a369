/**
 * Money as an integer number of fen (0.01 yuan) held in a JS number: the engine's form and the
 * form of every sum and comparison over wire amounts. Every value is a safe integer: bill amounts are
 * bounded by MAX_FEN (99,999,999.99 yuan), wire amounts by 12 integer digits (< 10^14 fen), ratios by
 * 10,000 basis points, so products stay below 2^53 and every operation is exact.
 *
 * Strings enter and leave ("1234.50"); nothing here goes through a binary fraction (no parseFloat,
 * no Number() of a money string). Rounding is half-up to the fen at the named points of
 * docs/adr/0002-money-and-rounding.md only: `applyRatio` (fund line, tilt) and `roundScaled`
 * (a critical-illness sum of segments).
 */
import { MoneyError, shown } from './errors';

export type Fen = number;
/** A ratio in basis points: 10000 = 100 %. */
export type Bp = number;

/** 99,999,999.99 yuan: the largest amount a bill (and so the engine) accepts in any field. */
export const MAX_FEN: Fen = 9_999_999_999;
/** 100 % in basis points. */
export const FULL: Bp = 10_000;

/**
 * A bill amount ("12", "12.5", "12.50", "0012.50": non-negative, at most two decimals, at most
 * 99,999,999.99) in fen, or null when it is not one. A hand-written scan, not a regular
 * expression: it runs for every amount of every bill.
 */
export function fenOrNull(value: string): Fen | null {
  const n = value.length;
  let i = 0;
  let whole = 0;
  let intDigits = 0;
  while (i < n) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) break;
    whole = whole * 10 + (c - 48);
    if (whole > 0 || intDigits > 0) intDigits++;
    i++;
  }
  let frac = 0;
  let ok = i > 0 && intDigits <= 8;
  if (ok && i < n) {
    if (value.charCodeAt(i) !== 46 || n - i - 1 < 1 || n - i - 1 > 2) ok = false;
    else {
      for (let j = i + 1; j < n; j++) {
        const c = value.charCodeAt(j);
        if (c < 48 || c > 57) {
          ok = false;
          break;
        }
        frac = frac * 10 + (c - 48);
      }
      if (n - i - 1 === 1) frac *= 10;
    }
  }
  return ok ? whole * 100 + frac : null;
}

/** A bill amount in fen (see `fenOrNull`); a MoneyError naming the field and the value if not. */
export function parseFen(value: string, field: string): Fen {
  const fen = fenOrNull(value);
  if (fen === null) {
    throw new MoneyError(
      'INVALID_AMOUNT',
      field,
      value,
      `${shown(value)} is not a non-negative amount with at most two decimals and at most 99,999,999.99`,
    );
  }
  return fen;
}

/** The wire form of events and results: a sign, 1–12 digits, exactly two decimals. */
const WIRE = /^(-?)(\d{1,12})\.(\d\d)$/;

/**
 * A wire amount ("-1234.50", "0.00": `-?[0-9]{1,12}\.[0-9]{2}`, as in contracts/events and the
 * settlement-result XSD) in fen; a MoneyError naming the field and the value if it is not one.
 */
export function parseWireFen(value: unknown, field: string): Fen {
  const m = typeof value === 'string' ? WIRE.exec(value) : null;
  if (m === null) {
    throw new MoneyError(
      'INVALID_AMOUNT',
      field,
      value,
      `${shown(value)} is not an amount with exactly two decimals like "-1234.50"`,
    );
  }
  const fen = digits(m[2]!) * 100 + digits(m[3]!);
  return m[1] === '-' ? -fen : fen;
}

/** A decimal amount as hospitals and declarations send it: a sign, 1–12 digits, 0–2 decimals. */
const LOOSE = /^(-?)(\d{1,12})(?:\.(\d{1,2}))?$/;
/** Already canonical: what most messages carry, returned as is. */
const CANONICAL = /^(0|[1-9]\d{0,11})\.\d\d$/;

/**
 * An amount as sent ("0012.5", "-3", "7.05") in the wire form ("12.50", "-3.00", "7.05"): exact,
 * through fen; a MoneyError naming the field and the value if it has more than 2 decimals or 12
 * integer digits. "-0" and "-0.00" become "0.00".
 */
export function normaliseAmount(value: unknown, field: string): string {
  if (typeof value === 'string' && CANONICAL.test(value)) return value;
  const m = typeof value === 'string' ? LOOSE.exec(value) : null;
  if (m === null) {
    throw new MoneyError(
      'INVALID_AMOUNT',
      field,
      value,
      `${shown(value)} is not an amount with at most two decimals and at most 12 integer digits`,
    );
  }
  const fen = digits(m[2]!) * 100 + (m[3] === undefined ? 0 : digits(m[3].padEnd(2, '0')));
  return formatFen(m[1] === '-' ? negateFen(fen) : fen);
}

/** True when `value` is in the wire form (`-?[0-9]{1,12}\.[0-9]{2}`). */
export const isWireAmount = (value: unknown): value is string =>
  typeof value === 'string' && WIRE.test(value);

function digits(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) n = n * 10 + (s.charCodeAt(i) - 48);
  return n;
}

/** Fen (a safe integer: callers' arithmetic keeps it one) → the wire form: 123450 → "1234.50", -5 → "-0.05". */
export function formatFen(fen: Fen): string {
  // most amounts of a bill are zero (no commercial insurance, no tilted assistance, …)
  if (fen === 0) return '0.00';
  const neg = fen < 0;
  const abs = neg ? -fen : fen;
  const yuan = Math.trunc(abs / 100);
  const cents = abs - yuan * 100;
  return `${neg ? '-' : ''}${yuan}.${cents < 10 ? '0' : ''}${cents}`;
}

/** −fen, never −0. */
export const negateFen = (fen: Fen): Fen => (fen === 0 ? 0 : -fen);

/**
 * A wire amount with its sign flipped: "12.30" → "-12.30", "-12.30" → "12.30", "0.00" → "0.00"
 * (a reversal's event carries the settled amounts negated).
 */
export const negateAmount = (amount: string, field = 'amount'): string =>
  formatFen(negateFen(parseWireFen(amount, field)));

/** The sum of amounts in fen. */
export function sumFen(values: Iterable<Fen>): Fen {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

/** The sum of wire amounts, as a wire amount. */
export function sumAmounts(values: Iterable<string>, field = 'amount'): string {
  let s = 0;
  for (const v of values) s += parseWireFen(v, field);
  return formatFen(s);
}

/** −1, 0 or 1. */
export const compareFen = (a: Fen, b: Fen): -1 | 0 | 1 => (a < b ? -1 : a > b ? 1 : 0);

/** Compares two wire amounts by value ("1.50" vs "-0.20"). */
export const compareAmounts = (a: string, b: string): -1 | 0 | 1 =>
  compareFen(parseWireFen(a, 'a'), parseWireFen(b, 'b'));

export const minFen = (a: Fen, b: Fen): Fen => (a < b ? a : b);
export const maxFen = (a: Fen, b: Fen): Fen => (a > b ? a : b);

// ---- ratios ------------------------------------------------------------------------------

/** The form of a ratio: 0 or 1 with at most 4 places (a value above 1 has the form but is refused). */
export const RATIO_FORM = /^(0|1)(?:\.(\d{1,4}))?$/;

/** A ratio ("0.7", "0.70", "1", "0.0525": 0..1, at most 4 places) in basis points, or null. */
export function bpOrNull(value: string): Bp | null {
  const m = RATIO_FORM.exec(value);
  if (m === null || m[1] === undefined) return null;
  const frac = m[2] === undefined ? 0 : digits(m[2].padEnd(4, '0'));
  const bp = digits(m[1]) * FULL + frac;
  return bp > FULL ? null : bp;
}

/** A ratio in basis points; a MoneyError naming the field and the value if it is not one. */
export function parseBp(value: string, field: string): Bp {
  const bp = bpOrNull(value);
  if (bp === null) {
    throw new MoneyError(
      'INVALID_RATIO',
      field,
      value,
      `${shown(value)} is not a ratio between 0 and 1 with at most 4 places`,
    );
  }
  return bp;
}

const bpText: string[] = [];

/** 7000 → "0.70", 525 → "0.0525": ratios as they are printed in setl_proc_info (memoised). */
export function formatBp(bp: Bp): string {
  let text = bpText[bp];
  if (text === undefined) {
    text = formatBpUncached(bp);
    if (bp >= 0 && bp <= FULL) bpText[bp] = text;
  }
  return text;
}

function formatBpUncached(bp: Bp): string {
  const whole = Math.trunc(bp / FULL);
  const frac = String(bp - whole * FULL).padStart(4, '0');
  const trimmed = frac.replace(/0+$/, '');
  return `${whole}.${trimmed.length < 2 ? trimmed.padEnd(2, '0') : trimmed}`;
}

// ---- the named rounding points (docs/adr/0002) -------------------------------------------

/**
 * amount × ratio, rounded half-up to the fen: the rounding point of every fund line and of the
 * tilt's halved deductible. Exact: the product is a safe integer and the division is on integers.
 * Non-positive amounts or ratios give 0.
 */
export function applyRatio(amount: Fen, ratio: Bp): Fen {
  if (amount <= 0 || ratio <= 0) return 0;
  const scaled = amount * ratio + FULL / 2;
  return (scaled - (scaled % FULL)) / FULL;
}

/**
 * A non-negative sum kept in fen × basis points, rounded half-up to the fen once: the rounding
 * point of a critical-illness tier that sums its segments before rounding.
 */
export function roundScaled(scaled: number): Fen {
  const half = FULL / 2;
  return (scaled + half - ((scaled + half) % FULL)) / FULL;
}
