/**
 * `settlement.events.v1`: what the gateway's outbox publishes for each settled, reversed or topped-up
 * bill, keyed by the county agency code `clr_optins`. Headers: `event-id`, `event-type`,
 * `correlation-id`. JSON Schema: contracts/events/settlement-event.v1.schema.json.
 *
 * Amounts are strings with two decimals (fen); reversals carry negative amounts. The validator is
 * hand-written (no prototype trust, no coercion): it returns the event or the list of what is wrong.
 */
export const SETTLEMENT_EVENT_TYPES = ['settled', 'reversed', 'top-up'] as const;
export type SettlementEventType = (typeof SETTLEMENT_EVENT_TYPES)[number];

export const SETTLEMENT_FUNDS = [
  'basic',
  'critical',
  'commercial',
  'assistance',
  'tilted',
] as const;
export type SettlementFund = (typeof SETTLEMENT_FUNDS)[number];

export interface SettlementEventFund {
  /** National fund code, e.g. 390100 resident basic, 390200 critical illness, 610100 assistance. */
  fund_pay_type: string;
  fund: SettlementFund;
  amount: string;
}

export interface SettlementEvent {
  event_id: string;
  event_type: SettlementEventType;
  occurred_at: string;
  setl_id: string;
  fixmedins_code: string;
  mdtrt_id: string;
  psn_no: string;
  /** County agency (admdvs), 6 digits: the message key. */
  clr_optins: string;
  setl_time: string;
  month: string;
  rule_set_version: string;
  category_used: string | null;
  medfee_sumamt: string;
  fund_pay_sumamt: string;
  psn_cash_pay: string;
  funds: SettlementEventFund[];
  reverses_event_id?: string;
  /** top-up events (004 第十九条): the settled event of the bill it adds to */
  tops_up_event_id?: string;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ADMDVS = /^\d{6}$/;
const AMOUNT = /^-?\d{1,12}\.\d{2}$/;
const SETL_TIME = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/;
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const FUND_PAY_TYPE = /^[0-9A-Za-z]{1,10}$/;

const TOP_LEVEL_KEYS = new Set([
  'event_id',
  'event_type',
  'occurred_at',
  'setl_id',
  'fixmedins_code',
  'mdtrt_id',
  'psn_no',
  'clr_optins',
  'setl_time',
  'month',
  'rule_set_version',
  'category_used',
  'medfee_sumamt',
  'fund_pay_sumamt',
  'psn_cash_pay',
  'funds',
  'reverses_event_id',
  'tops_up_event_id',
]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

/** Amount in integer fen (exact for ≤ 12 integer digits), e.g. "-123.45" → -12345. */
export function amountToFen(amount: string): bigint {
  if (!AMOUNT.test(amount)) throw new Error(`not an amount with 2 decimals: ${amount}`);
  const negative = amount.startsWith('-');
  const digits = (negative ? amount.slice(1) : amount).replace('.', '');
  const fen = BigInt(digits);
  return negative ? -fen : fen;
}

export function fenToAmount(fen: bigint): string {
  const negative = fen < 0n;
  const abs = negative ? -fen : fen;
  const s = abs.toString().padStart(3, '0');
  return `${negative ? '-' : ''}${s.slice(0, -2)}.${s.slice(-2)}`;
}

export function validateSettlementEvent(input: unknown): ValidationResult<SettlementEvent> {
  const errors: string[] = [];
  if (!isRecord(input)) return { ok: false, errors: ['event is not a JSON object'] };

  for (const key of Object.keys(input)) {
    if (!TOP_LEVEL_KEYS.has(key)) errors.push(`${key}: unknown property`);
  }
  const str = (key: string, pattern?: RegExp, what?: string): string => {
    const v = own(input, key);
    if (typeof v !== 'string' || v.length === 0) {
      errors.push(`${key}: required non-empty string`);
      return '';
    }
    if (pattern && !pattern.test(v)) errors.push(`${key}: not ${what ?? pattern.source}: ${v}`);
    return v;
  };

  const event_id = str('event_id', UUID, 'a UUID');
  const eventTypeRaw = own(input, 'event_type');
  const event_type = SETTLEMENT_EVENT_TYPES.find((t) => t === eventTypeRaw);
  if (!event_type) errors.push(`event_type: one of ${SETTLEMENT_EVENT_TYPES.join(', ')}`);
  const occurred_at = str('occurred_at', ISO_TIME, 'an ISO 8601 time with zone');
  const setl_id = str('setl_id');
  const fixmedins_code = str('fixmedins_code');
  const mdtrt_id = str('mdtrt_id');
  const psn_no = str('psn_no');
  const clr_optins = str('clr_optins', ADMDVS, 'a 6-digit admdvs');
  const setl_time = str('setl_time', SETL_TIME, 'YYYY-MM-DD HH:MM:SS');
  const month = str('month', MONTH, 'YYYY-MM');
  if (setl_time && month && SETL_TIME.test(setl_time) && !setl_time.startsWith(month)) {
    errors.push(`month: ${month} is not the month of setl_time ${setl_time}`);
  }
  const rule_set_version = str('rule_set_version');
  const categoryRaw = own(input, 'category_used');
  if (categoryRaw !== null && typeof categoryRaw !== 'string') {
    errors.push('category_used: string or null');
  }
  const medfee_sumamt = str('medfee_sumamt', AMOUNT, 'an amount with 2 decimals');
  const fund_pay_sumamt = str('fund_pay_sumamt', AMOUNT, 'an amount with 2 decimals');
  const psn_cash_pay = str('psn_cash_pay', AMOUNT, 'an amount with 2 decimals');

  const funds: SettlementEventFund[] = [];
  const fundsRaw = own(input, 'funds');
  if (!Array.isArray(fundsRaw)) {
    errors.push('funds: required array');
  } else {
    fundsRaw.forEach((f: unknown, i) => {
      if (!isRecord(f)) {
        errors.push(`funds[${i}]: not an object`);
        return;
      }
      for (const key of Object.keys(f)) {
        if (key !== 'fund_pay_type' && key !== 'fund' && key !== 'amount') {
          errors.push(`funds[${i}].${key}: unknown property`);
        }
      }
      const fpt = own(f, 'fund_pay_type');
      const fund = SETTLEMENT_FUNDS.find((x) => x === own(f, 'fund'));
      const amount = own(f, 'amount');
      if (typeof fpt !== 'string' || !FUND_PAY_TYPE.test(fpt)) {
        errors.push(`funds[${i}].fund_pay_type: a fund code`);
      }
      if (!fund) errors.push(`funds[${i}].fund: one of ${SETTLEMENT_FUNDS.join(', ')}`);
      if (typeof amount !== 'string' || !AMOUNT.test(amount)) {
        errors.push(`funds[${i}].amount: an amount with 2 decimals`);
      }
      if (typeof fpt === 'string' && fund && typeof amount === 'string') {
        funds.push({ fund_pay_type: fpt, fund, amount });
      }
    });
    const types = funds.map((f) => f.fund_pay_type);
    if (new Set(types).size !== types.length) errors.push('funds: fund_pay_type repeated');
  }

  const reversesRaw = own(input, 'reverses_event_id');
  if (reversesRaw !== undefined && (typeof reversesRaw !== 'string' || !UUID.test(reversesRaw))) {
    errors.push('reverses_event_id: a UUID');
  }
  if (event_type === 'reversed' && reversesRaw === undefined) {
    errors.push('reverses_event_id: required for a reversed event');
  }

  const topsUpRaw = own(input, 'tops_up_event_id');
  if (topsUpRaw !== undefined && (typeof topsUpRaw !== 'string' || !UUID.test(topsUpRaw))) {
    errors.push('tops_up_event_id: a UUID');
  }
  if (event_type === 'top-up' && topsUpRaw === undefined) {
    errors.push('tops_up_event_id: required for a top-up event');
  }

  // Money: the fund lines add up to fund_pay_sumamt, and funds + patient cash = total (integer fen).
  if (errors.length === 0) {
    const fundSum = funds.reduce((sum, f) => sum + amountToFen(f.amount), 0n);
    if (fundSum !== amountToFen(fund_pay_sumamt)) {
      errors.push(`funds: sum ${fenToAmount(fundSum)} ≠ fund_pay_sumamt ${fund_pay_sumamt}`);
    }
    if (amountToFen(fund_pay_sumamt) + amountToFen(psn_cash_pay) !== amountToFen(medfee_sumamt)) {
      errors.push('medfee_sumamt: ≠ fund_pay_sumamt + psn_cash_pay');
    }
  }
  if (errors.length > 0 || !event_type) return { ok: false, errors };

  const value: SettlementEvent = {
    event_id,
    event_type,
    occurred_at,
    setl_id,
    fixmedins_code,
    mdtrt_id,
    psn_no,
    clr_optins,
    setl_time,
    month,
    rule_set_version,
    category_used: typeof categoryRaw === 'string' ? categoryRaw : null,
    medfee_sumamt,
    fund_pay_sumamt,
    psn_cash_pay,
    funds,
  };
  if (typeof reversesRaw === 'string') value.reverses_event_id = reversesRaw;
  if (typeof topsUpRaw === 'string') value.tops_up_event_id = topsUpRaw;
  return { ok: true, value };
}

/** Parses the UTF-8 JSON value of a Kafka message and validates it. */
export function decodeSettlementEvent(
  value: Buffer | string | null,
): ValidationResult<SettlementEvent> {
  if (value === null) return { ok: false, errors: ['empty message value'] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (error) {
    return {
      ok: false,
      errors: [`not JSON: ${error instanceof Error ? error.message : String(error)}`],
    };
  }
  return validateSettlementEvent(parsed);
}
