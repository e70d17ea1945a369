/**
 * Every payload the gateway sends has one typed builder here (issue 12 item 3); each gives an
 * `OutboundRecord` (the outbox row's shape: libs/ledger `OutboxEvent`) with the topic, key and
 * headers of its contract. JSON events are validated against contracts/events (ajv, compiled once)
 * before they are handed over: an event its contract refuses throws ContractViolation, and the
 * message it belongs to is retried and, failing again, kept as a reject; nothing off-contract is
 * sent.
 */
import { randomUUID } from 'node:crypto';
import type { DepositWaiver, SettlementResult } from '@onebill/engine';
import { negateAmount } from '@onebill/money';
import { Topics } from '../kafka/topics';
import { toWire } from '../wire';
import { encodeSettlementResultXml } from '../xml/encode';
import { type SettlementEvent, validateSettlementEvent } from '../events/settlement-event';
import {
  type RejectProblem,
  type RejectSource,
  rejectEventPayload,
} from '../events/discharge-rejected';
import type { HighBurdenAlert } from '../events/high-burden-alert';
import { assertConforms, ContractViolation } from '../events/schemas';

/** One message for the outbox: libs/ledger's OutboxEvent, structurally. */
export interface OutboundRecord {
  eventId: string;
  topic: string;
  key: string | null;
  headers: Record<string, string>;
  payload: string;
}

/** The headers every gateway event carries. */
export function eventHeaders(h: {
  contentType: 'application/json' | 'application/xml';
  correlationId: string;
  eventId: string;
  eventType?: string;
  fixmedinsCode?: string | null;
}): Record<string, string> {
  return {
    'content-type': h.contentType,
    'correlation-id': h.correlationId,
    ...(h.eventType === undefined ? {} : { 'event-type': h.eventType }),
    'event-id': h.eventId,
    ...(h.fixmedinsCode === undefined || h.fixmedinsCode === null
      ? {}
      : { 'fixmedins-code': h.fixmedinsCode }),
  };
}

/** A bill as settled: what the settlement event and the HIS result are built from. */
export interface SettledBill {
  setlId: string;
  fixmedinsCode: string;
  mdtrtId: string;
  psnNo: string;
  clrOptins: string;
  setlTime: string;
  ruleSetVersion: string;
  /** the settled event's id, stored with the settlement */
  eventId: string;
  result: SettlementResult;
}

/**
 * settlement.events.v1 `settled` or `reversed` for the county: a reversal carries the settled
 * amounts negated, a new event id and `reverses_event_id`, and belongs to the month it happened.
 */
export function settlementEventOf(
  s: SettledBill,
  type: 'settled' | 'reversed',
  at: { occurredAt: Date; eventId?: string; reversalTime?: string },
): SettlementEvent {
  const sign = type === 'settled' ? (a: string): string => a : negateAmount;
  const info = s.result.setlinfo;
  const time = type === 'settled' ? s.setlTime : (at.reversalTime ?? s.setlTime);
  return {
    event_id: type === 'settled' ? s.eventId : (at.eventId ?? randomUUID()),
    event_type: type,
    occurred_at: at.occurredAt.toISOString(),
    setl_id: s.setlId,
    fixmedins_code: s.fixmedinsCode,
    mdtrt_id: s.mdtrtId,
    psn_no: s.psnNo,
    clr_optins: s.clrOptins,
    setl_time: time,
    month: time.slice(0, 7),
    rule_set_version: s.ruleSetVersion,
    category_used: s.result.categoryUsed,
    medfee_sumamt: sign(info.medfeeSumamt),
    fund_pay_sumamt: sign(info.fundPaySumamt),
    psn_cash_pay: sign(info.psnCashPay),
    funds: s.result.setldetail.map((d) => ({
      fund_pay_type: d.fundPayType,
      fund: d.fund,
      amount: sign(d.fundPayamt),
    })),
    ...(type === 'reversed' ? { reverses_event_id: s.eventId } : {}),
  };
}

/**
 * A settlement event (settled, reversed, top-up) as an outbox record keyed by the county,
 * validated against settlement-event.v1 and its money rules first.
 */
export function settlementEventRecord(
  event: SettlementEvent,
  ctx: { correlationId: string; fixmedinsCode: string },
): OutboundRecord {
  const checked = validateSettlementEvent(event);
  if (!checked.ok) throw new ContractViolation('settlementEvent', checked.errors);
  return {
    eventId: event.event_id,
    topic: Topics.settlementEvents,
    key: event.clr_optins,
    headers: eventHeaders({
      contentType: 'application/json',
      correlationId: ctx.correlationId,
      eventId: event.event_id,
      eventType: event.event_type,
      fixmedinsCode: ctx.fixmedinsCode,
    }),
    payload: JSON.stringify(event),
  };
}

/**
 * his.settlement-result.v1 for the hospital: the settlement-result XML of a settled bill, the
 * reversed bill as JSON in the national platform's names.
 */
export function hisSettlementResultRecord(
  s: SettledBill,
  type: 'settled' | 'reversed',
  correlationId: string,
): OutboundRecord {
  const eventId = randomUUID();
  const envelope = {
    setlId: s.setlId,
    fixmedinsCode: s.fixmedinsCode,
    mdtrtId: s.mdtrtId,
    psnNo: s.psnNo,
    clrOptins: s.clrOptins,
    setlTime: s.setlTime,
  };
  return {
    eventId,
    topic: Topics.hisSettlementResult,
    key: s.fixmedinsCode,
    headers: eventHeaders({
      contentType: type === 'settled' ? 'application/xml' : 'application/json',
      correlationId,
      eventId,
      eventType: type,
      fixmedinsCode: s.fixmedinsCode,
    }),
    payload:
      type === 'settled'
        ? encodeSettlementResultXml(s.result, envelope)
        : JSON.stringify({ status: 'reversed', ...toWire(s.result, envelope) }),
  };
}

/** The deposit waiver in wire names (the HTTP answer and the hospital's result event). */
export function waiverWire(w: DepositWaiver): Record<string, unknown> {
  return { applies: w.applies, category: w.category, reason: w.reason, article: w.article };
}

/** his.settlement-result.v1 `admitted`: whether the patient is admitted without a deposit. */
export function admittedResultRecord(
  a: {
    fixmedinsCode: string;
    mdtrtId: string;
    depositWaiver: DepositWaiver;
    identities: { categories: string[]; source: string };
  },
  correlationId: string,
): OutboundRecord {
  const eventId = randomUUID();
  return {
    eventId,
    topic: Topics.hisSettlementResult,
    key: a.fixmedinsCode,
    headers: eventHeaders({
      contentType: 'application/json',
      correlationId,
      eventId,
      eventType: 'admitted',
      fixmedinsCode: a.fixmedinsCode,
    }),
    payload: JSON.stringify({
      status: 'admitted',
      fixmedins_code: a.fixmedinsCode,
      mdtrt_id: a.mdtrtId,
      deposit_waiver: waiverWire(a.depositWaiver),
      identities_used: a.identities,
    }),
  };
}

/**
 * his.discharge.rejected.v1: the reasons and a bounded excerpt of the original (docs/adr/0011),
 * keyed by the hospital the message is recorded under; validated against its schema.
 */
export function rejectRecord(input: {
  rejectId: string;
  status: 'rejected' | 'conflict';
  problems: readonly RejectProblem[];
  source: RejectSource;
  original: string | Uint8Array;
  hospital: string | null;
  correlationId: string;
}): OutboundRecord {
  const event = rejectEventPayload(input);
  assertConforms('dischargeRejected', event);
  const eventId = randomUUID();
  return {
    eventId,
    topic: Topics.hisDischargeRejected,
    key: input.hospital ?? 'unknown',
    headers: eventHeaders({
      contentType: 'application/json',
      correlationId: input.correlationId,
      eventId,
      fixmedinsCode: input.hospital,
    }),
    payload: JSON.stringify(event),
  };
}

/** alerts.high-burden.v1 (raised, updated, withdrawn), keyed by the person; validated. */
export function highBurdenAlertRecord(
  alert: HighBurdenAlert,
  correlationId: string,
): OutboundRecord {
  assertConforms('highBurdenAlert', alert);
  return {
    eventId: alert.event_id,
    topic: Topics.alertsHighBurden,
    key: alert.psn_no,
    headers: eventHeaders({
      contentType: 'application/json',
      correlationId,
      eventId: alert.event_id,
      eventType: alert.event_type,
    }),
    payload: JSON.stringify(alert),
  };
}

/**
 * his.settlement-result.v1 `top-up` / `top-up-reversed` (004 第十九条): what changed on the
 * hospital's bill; `top-up` is validated against topup-result.v1.
 */
export function topupResultRecord(
  body: { status: 'top-up' | 'top-up-reversed'; fixmedins_code: string } & Record<string, unknown>,
  correlationId: string,
): OutboundRecord {
  if (body.status === 'top-up') assertConforms('topupResult', body);
  const eventId = randomUUID();
  return {
    eventId,
    topic: Topics.hisSettlementResult,
    key: body.fixmedins_code,
    headers: eventHeaders({
      contentType: 'application/json',
      correlationId,
      eventId,
      eventType: body.status,
      fixmedinsCode: body.fixmedins_code,
    }),
    payload: JSON.stringify(body),
  };
}
