/**
 * High-burden alerts that can be acted on (issue 15, docs/adr/0009 decision 7): raised once per
 * person and year for the person's county (the registry's admdvs, else the hospital's), revised
 * when a reversal or a top-up changes the person's year — updated while still above the line,
 * withdrawn once back under it — each change an event on alerts.high-burden.v1.
 */
import { randomUUID } from 'node:crypto';
import type { HighBurdenRule } from '@onebill/engine';
import {
  type OutboxEvent,
  type Queryable,
  type SettlementRow,
  findAlert,
  personCounty,
  raiseHighBurdenAlert,
  reviseAlert,
} from '@onebill/ledger';
import { highBurdenAlertRecord } from '@onebill/messaging';
import type { HighBurdenAlert } from '@onebill/messaging/events/high-burden-alert';
import { parseWireFen } from '@onebill/money';

function alertEvent(alert: HighBurdenAlert, correlationId: string): OutboxEvent {
  return highBurdenAlertRecord(alert, correlationId);
}

/**
 * The first settlement after which the person's year-to-date cash self-pay is above the line
 * raises the person-year's alert (again, if an earlier one was withdrawn).
 */
export async function raiseAlert(
  tx: Queryable,
  s: SettlementRow,
  rule: HighBurdenRule | null,
  region: string,
  ctx: { correlationId: string; now: Date },
): Promise<OutboxEvent[]> {
  if (rule === null) return [];
  const paid = s.result.accumulators.cashSelfPay;
  if (parseWireFen(paid, 'cash_self_pay') <= parseWireFen(rule.threshold, 'threshold')) return [];
  const registry = await personCounty(tx, s.psnNo);
  const admdvs = registry ?? s.clrOptins;
  const admdvsSource = registry === null ? 'hospital' : 'registry';
  const eventId = randomUUID();
  const raised = await raiseHighBurdenAlert(tx, {
    psnNo: s.psnNo,
    year: s.year,
    setlId: s.setlId,
    cashSelfPay: paid,
    threshold: rule.threshold,
    eventId,
    admdvs,
    admdvsSource,
    region,
  });
  if (!raised) return [];
  const alert: HighBurdenAlert = {
    event_id: eventId,
    event_type: 'high-burden',
    occurred_at: ctx.now.toISOString(),
    psn_no: s.psnNo,
    year: s.year,
    region,
    cash_self_pay: paid,
    threshold: rule.threshold,
    share: rule.share,
    figure: rule.figure,
    setl_id: s.setlId,
    fixmedins_code: s.fixmedinsCode,
    clr_optins: s.clrOptins,
    article: rule.article,
    admdvs,
    admdvs_source: admdvsSource,
  };
  return [alertEvent(alert, ctx.correlationId)];
}

/**
 * After a reversal or a top-up lowered the person's year-to-date cash self-pay: an alert in force
 * is withdrawn when the person is back under the line, otherwise updated (its bill replaced when
 * that bill was reversed). Nothing when there is no alert in force or nothing changed.
 */
export async function reviewAlert(
  tx: Queryable,
  psnNo: string,
  year: number,
  cashSelfPay: string,
  ctx: { correlationId: string; now: Date; reversedSetlId?: string },
): Promise<OutboxEvent[]> {
  const alert = await findAlert(tx, psnNo, year);
  if (alert === null || alert.status === 'withdrawn') return [];
  const billGone = ctx.reversedSetlId !== undefined && alert.setlId === ctx.reversedSetlId;
  const cash = parseWireFen(cashSelfPay, 'cash_self_pay');
  const under = cash <= parseWireFen(alert.threshold, 'threshold');
  if (!under && !billGone && cash === parseWireFen(alert.cashSelfPay, 'cash_self_pay')) return [];
  const { rows } = await tx.query<{ payload: string }>(
    `SELECT payload FROM outbox WHERE event_id = $1::uuid`,
    [alert.eventId],
  );
  if (rows[0] === undefined) return [];
  const last = JSON.parse(rows[0].payload) as HighBurdenAlert;
  let setlId = alert.setlId;
  if (!under && billGone) {
    // the alert now rests on the person's latest bill still in force that year
    const { rows: latest } = await tx.query<{ setl_id: string }>(
      `SELECT setl_id FROM settlements WHERE psn_no = $1 AND year = $2 AND status = 'settled'
       ORDER BY seq DESC LIMIT 1`,
      [psnNo, year],
    );
    setlId = latest[0]?.setl_id ?? setlId;
  }
  const eventId = randomUUID();
  await reviseAlert(
    tx,
    psnNo,
    year,
    under
      ? { kind: 'withdrawn', cashSelfPay, eventId }
      : { kind: 'updated', cashSelfPay, setlId, eventId },
  );
  return [
    alertEvent(
      {
        ...last,
        event_id: eventId,
        event_type: under ? 'high-burden-withdrawn' : 'high-burden-updated',
        occurred_at: ctx.now.toISOString(),
        cash_self_pay: cashSelfPay,
        setl_id: setlId,
        revises_event_id: last.event_id,
      },
      ctx.correlationId,
    ),
  ];
}
