/**
 * Money inside the engine is an integer number of fen held in a JS number; the one money module
 * (@onebill/money, docs/adr/0002-money-and-rounding.md) owns the form, the parser, the formatter and
 * the rounding points. Here only the engine's errors: a bad amount or ratio in a bill or a rule set
 * is an EngineError (INVALID_AMOUNT / INVALID_RATIO) naming the field, as before.
 */
import * as money from '@onebill/money';
import type { Bp, Fen } from '@onebill/money';
import { EngineError } from './errors';

export type { Fen, Bp } from '@onebill/money';

// Bound once as plain constants, not re-exported: a CommonJS re-export is a getter, and these run
// ~100 times per bill on the engine's hot path.
export const MAX_FEN: Fen = money.MAX_FEN;
export const FULL: Bp = money.FULL;
export const formatFen = money.formatFen;
export const formatBp = money.formatBp;
export const applyRatio = money.applyRatio;
export const roundScaled = money.roundScaled;
export const minFen = money.minFen;
export const maxFen = money.maxFen;
const fenOrNull = money.fenOrNull;
const bpOrNull = money.bpOrNull;
const RATIO_FORM = money.RATIO_FORM;

/** Parses a non-negative money string ("12", "12.5", "12.50", "0012.50") into fen. */
export function parseFen(value: string, field: string): Fen {
  const fen = fenOrNull(value);
  if (fen === null) {
    throw new EngineError(
      'INVALID_AMOUNT',
      field,
      'money: a non-negative decimal with at most 2 places and at most 99,999,999.99',
      `${field} must be a non-negative amount with at most two decimals, got "${value}"`,
    );
  }
  return fen;
}

/** Parses a ratio string ("0.7", "0.70", "1", "0.0525") into basis points. */
export function parseBp(value: string, field: string): Bp {
  const bp = bpOrNull(value);
  if (bp === null) {
    if (RATIO_FORM.test(value)) {
      throw new EngineError(
        'INVALID_RATIO',
        field,
        'ratio ≤ 1',
        `${field} must not exceed 1, got "${value}"`,
      );
    }
    throw new EngineError(
      'INVALID_RATIO',
      field,
      'ratio: a decimal between 0 and 1 with at most 4 places',
      `${field} must be a ratio between 0 and 1, got "${value}"`,
    );
  }
  return bp;
}
