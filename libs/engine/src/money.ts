/**
 * Money inside the engine is an integer number of fen held in a JS number; the one money module
 * (@onebill/money, docs/adr/0002-money-and-rounding.md) owns the form, the parser, the formatter and
 * the rounding points. Here only the engine's errors: a bad amount or ratio in a bill or a rule set
 * is an EngineError (INVALID_AMOUNT / INVALID_RATIO) naming the field, as before.
 */
import { type Bp, type Fen, RATIO_FORM, bpOrNull, fenOrNull } from '@onebill/money';
import { EngineError } from './errors';

export {
  type Fen,
  type Bp,
  MAX_FEN,
  FULL,
  formatFen,
  formatBp,
  applyRatio,
  roundScaled,
  minFen,
  maxFen,
} from '@onebill/money';

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
