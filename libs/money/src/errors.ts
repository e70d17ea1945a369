/**
 * A value that is not money (or not a ratio) in the form the contract allows. `field` names where it
 * came from (wire name or JSON path), `value` is what was given, `problem` says what is wrong.
 * Callers with their own error type (the engine's EngineError, the funds' FundInputError) translate.
 */
export type MoneyErrorCode = 'INVALID_AMOUNT' | 'INVALID_RATIO' | 'NOT_WHOLE_FEN';

export class MoneyError extends Error {
  constructor(
    readonly code: MoneyErrorCode,
    readonly field: string,
    readonly value: unknown,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'MoneyError';
  }
}

/** `"12.5x"`, or the type for a non-string: how a bad value is named in a message. */
export function shown(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : typeof value;
}
