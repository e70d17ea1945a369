/**
 * Money and exact ratios for fund statements come from the one money module (@onebill/money,
 * docs/adr/0002-money-and-rounding.md): its Decimal clone, parsers, rounding (`roundToFen`, the only
 * rounding helper used here), formatting (`formatDecimal`) and allocation (`largestRemainder`). Here
 * only the translation of a bad value into this library's FundInputError, naming the field.
 */
import { type Dec, MoneyError, parseAmount, parseRatio as parseDecimalRatio } from '@onebill/money';

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

function asFundInput<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof MoneyError) throw new FundInputError(e.field, e.problem);
    throw e;
  }
}

/** A non-negative amount in yuan with at most two decimals ("123.45"), at most 12 integer digits. */
export const parseMoney = (value: unknown, field: string): Dec =>
  asFundInput(() => parseAmount(value, field));

/** A non-negative decimal ratio or factor value as a string ("0.35", "1.2", "12345"). */
export const parseRatio = (value: unknown, field: string): Dec =>
  asFundInput(() => parseDecimalRatio(value, field));
