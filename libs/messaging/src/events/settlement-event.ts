/**
 * `settlement.events.v1`: what the gateway's outbox publishes for each settled, reversed or topped-up
 * bill, keyed by the county agency code `clr_optins`. Headers: `event-id`, `event-type`,
 * `correlation-id`. JSON Schema: contracts/events/settlement-event.v1.schema.json.
 *
 * Amounts are strings with two decimals (fen); reversals carry negative amounts. The validator is
 * the contract's JSON Schema (ajv, compiled once) plus the money checks a schema cannot express.
 */
import { formatFen, parseWireFen, sumFen } from '@onebill/money';
import { schemaErrors } from './schemas';

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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates a settlement event: its shape by the contract's JSON Schema (compiled once with ajv,
 * events/schemas.ts), then what a schema cannot say: the month is setl_time's, the fund lines add
 * up to fund_pay_sumamt and funds + patient cash = medfee_sumamt (integer fen, @onebill/money).
 */
export function validateSettlementEvent(input: unknown): ValidationResult<SettlementEvent> {
  if (!isRecord(input)) return { ok: false, errors: ['event is not a JSON object'] };
  const errors = schemaErrors('settlementEvent', input);
  if (errors.length > 0) return { ok: false, errors };
  const e = input as unknown as SettlementEvent;
  if (!e.setl_time.startsWith(e.month))
    errors.push(`month: ${e.month} is not the month of setl_time ${e.setl_time}`);
  const fundSum = sumFen(e.funds.map((f) => parseWireFen(f.amount, 'funds.amount')));
  const fundPay = parseWireFen(e.fund_pay_sumamt, 'fund_pay_sumamt');
  if (fundSum !== fundPay) {
    errors.push(`funds: sum ${formatFen(fundSum)} ≠ fund_pay_sumamt ${e.fund_pay_sumamt}`);
  }
  if (
    fundPay + parseWireFen(e.psn_cash_pay, 'psn_cash_pay') !==
    parseWireFen(e.medfee_sumamt, 'medfee_sumamt')
  ) {
    errors.push('medfee_sumamt: ≠ fund_pay_sumamt + psn_cash_pay');
  }
  const types = e.funds.map((f) => f.fund_pay_type);
  if (new Set(types).size !== types.length) errors.push('funds: fund_pay_type repeated');
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: e };
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
