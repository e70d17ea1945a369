/**
 * Money inside the engine is an integer number of fen (0.01 yuan) held in a JS number. Every value is
 * a safe integer: amounts are bounded by MAX_FEN (99,999,999.99 yuan) and ratios by 10,000 basis
 * points, so a product stays below 2^53 and every operation is exact. Rounding happens only in
 * `applyRatio` (half-up to the fen, see docs/adr/0002-money-and-rounding.md).
 *
 * Strings enter and leave: "1234.50". Nothing here ever goes through a binary fraction.
 */
import { EngineError } from './errors';

export type Fen = number;
/** A ratio in basis points: 10000 = 100 %. */
export type Bp = number;

/** 99,999,999.99 yuan: the largest amount the engine accepts in any field. */
export const MAX_FEN: Fen = 9_999_999_999;
export const FULL: Bp = 10_000;

const RATIO = /^(0|1)(?:\.(\d{1,4}))?$/;

/**
 * Parses a non-negative money string ("12", "12.5", "12.50", "0012.50") into fen. A hand-written
 * scan rather than a regular expression: it runs for every amount of every bill.
 */
export function parseFen(value: string, field: string): Fen {
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
  if (!ok) {
    throw new EngineError(
      'INVALID_AMOUNT',
      field,
      'money: a non-negative decimal with at most 2 places and at most 99,999,999.99',
      `${field} must be a non-negative amount with at most two decimals, got "${value}"`,
    );
  }
  return whole * 100 + frac;
}

/** Parses a ratio string ("0.7", "0.70", "1", "0.0525") into basis points. */
export function parseBp(value: string, field: string): Bp {
  const m = RATIO.exec(value);
  if (m === null || m[1] === undefined) {
    throw new EngineError(
      'INVALID_RATIO',
      field,
      'ratio: a decimal between 0 and 1 with at most 4 places',
      `${field} must be a ratio between 0 and 1, got "${value}"`,
    );
  }
  const frac = m[2] === undefined ? 0 : digits(m[2].padEnd(4, '0'));
  const bp = digits(m[1]) * FULL + frac;
  if (bp > FULL) {
    throw new EngineError(
      'INVALID_RATIO',
      field,
      'ratio ≤ 1',
      `${field} must not exceed 1, got "${value}"`,
    );
  }
  return bp;
}

function digits(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) n = n * 10 + (s.charCodeAt(i) - 48);
  return n;
}

/** "1234.50" */
export function formatFen(fen: Fen): string {
  // most amounts of a bill are zero (no commercial insurance, no tilted assistance, …)
  if (fen === 0) return '0.00';
  const neg = fen < 0;
  const abs = neg ? -fen : fen;
  const yuan = Math.trunc(abs / 100);
  const cents = abs - yuan * 100;
  return `${neg ? '-' : ''}${yuan}.${cents < 10 ? '0' : ''}${cents}`;
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

/**
 * amount × ratio, rounded half-up to the fen: the one rounding point of every fund line.
 * Exact: the product is a safe integer and the division is done on integers.
 */
export function applyRatio(amount: Fen, ratio: Bp): Fen {
  if (amount <= 0 || ratio <= 0) return 0;
  const scaled = amount * ratio + FULL / 2;
  return (scaled - (scaled % FULL)) / FULL;
}

export const minFen = (a: Fen, b: Fen): Fen => (a < b ? a : b);
export const maxFen = (a: Fen, b: Fen): Fen => (a > b ? a : b);
