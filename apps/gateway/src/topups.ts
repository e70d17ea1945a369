/**
 * Top-ups as a first-class part of their settlement (issue 15, docs/adr/0009 decisions 4, 4a):
 * the retroactive recomputation of a person's year, what a reversal takes back (the bill and its
 * top-ups), the events that tell the county (settlement.events.v1) and the hospital
 * (his.settlement-result.v1), and a settlement as it now stands (GET /api/v1/settlements/{id}).
 */
import { randomUUID } from 'node:crypto';
import {
  type Accumulators,
  type FundKind,
  type SetlInfo,
  type SettlementResult,
  compiled,
  emptyAccumulators,
  settle,
  withContribution,
  withoutContribution,
} from '@onebill/engine';
import {
  type IdentityChangeRow,
  type IdentityPeriod,
  type OutboxEvent,
  type PersonBill,
  type Queryable,
  type SettlementRow,
  type TopupRow,
  identitiesOf,
  insertTopup,
  lockAccumulators,
  personBills,
  saveAccumulators,
  topupsOf,
  yearOpening,
} from '@onebill/ledger';
import {
  type SettlementEvent,
  SETTLEMENT_FUNDS,
  decodeAcceptedBill,
  settlementEventRecord,
  topupResultRecord,
} from '@onebill/messaging';
import {
  type Fen,
  formatFen,
  negateAmount,
  negateFen,
  parseWireFen,
  sumAmounts,
  sumFen,
} from '@onebill/money';
import type { RuleBook } from '@onebill/rules';

export interface TopupOut {
  topupId: string;
  setlId: string;
  mdtrtId: string;
  eventId: string;
  /** what each fund pays more */
  deltas: Record<FundKind, string>;
  psnCashDelta: string;
}

/** Fund totals of a result in fen (integers: no float). */
export function fundFen(r: SettlementResult): Record<FundKind, Fen> {
  const out = { basic: 0, critical: 0, commercial: 0, assistance: 0, tilted: 0 };
  for (const d of r.setldetail) out[d.fund] += parseWireFen(d.fundPayamt, 'fund_payamt');
  return out;
}

/** The money fields of the one bill the hospital shows, in wire names. */
const MONEY: readonly [keyof SetlInfo, string][] = [
  ['medfeeSumamt', 'medfee_sumamt'],
  ['hifpPay', 'hifp_pay'],
  ['hifmiPay', 'hifmi_pay'],
  ['mafPay', 'maf_pay'],
  ['othPay', 'oth_pay'],
  ['fundPaySumamt', 'fund_pay_sumamt'],
  ['psnCashPay', 'psn_cash_pay'],
];

export function moneyOf(info: SetlInfo): Record<string, string> {
  return Object.fromEntries(MONEY.map(([k, w]) => [w, info[k] ?? '0.00']));
}

/** after − before, field by field, in wire names. */
export function moneyChange(before: SetlInfo, after: SetlInfo): Record<string, string> {
  return Object.fromEntries(
    MONEY.map(([k, w]) => [
      w,
      formatFen(parseWireFen(after[k] ?? '0.00', w) - parseWireFen(before[k] ?? '0.00', w)),
    ]),
  );
}

const negate = (m: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, negateAmount(v, k)]));

export interface RecomputeInput {
  psnNo: string;
  year: number;
  change: IdentityChangeRow;
  periods: readonly IdentityPeriod[];
  correlationId: string;
  /** the time the top-ups are made ('YYYY-MM-DD HH:mm:ss', Beijing) and as an instant */
  setlTime: string;
  now: Date;
}

/**
 * Recomputes one year of a person under the person's accumulator lock (004 第十九条). The
 * position is rebuilt from the year's opening (the position the gateway first saw) with the bills
 * still settled, in settlement order, each as it was paid (its latest top-up, else its
 * settlement): a reversed bill never re-enters. Each bill in the window is computed with the
 * registry's identities on its discharge date from that position; one whose funds would pay more
 * gets a top-up of the difference and stands at the new computation, one that would pay less or
 * the same stays as it is (no claw-back). The rebuilt position is saved.
 */
export async function recomputeYear(
  tx: Queryable,
  rules: RuleBook,
  input: RecomputeInput,
): Promise<{ topups: TopupOut[]; events: OutboxEvent[]; accumulators: Accumulators }> {
  const { psnNo, year, change } = input;
  const locked = await lockAccumulators(tx, psnNo, year);
  const bills = await personBills(tx, psnNo, year);
  let acc: Accumulators = (await yearOpening(tx, psnNo, year)) ?? emptyAccumulators(year);
  const topups: TopupOut[] = [];
  const events: OutboxEvent[] = [];
  for (const b of bills) {
    const asPaid = (): Accumulators =>
      withContribution(acc, b.effectiveBefore, b.effective.accumulators);
    const decoded = decodeAcceptedBill(b.payload);
    if (!decoded.ok) throw new Error(`settlement ${b.setlId}: its message no longer decodes`);
    const bill = decoded.bill;
    const hospital = rules.hospital(b.fixmedinsCode);
    if (hospital === undefined) throw new Error(`unknown hospital ${b.fixmedinsCode}`);
    const resolved = rules.resolve(hospital.region, bill.dischargeDate);
    const wholeYear = resolved.retroactive.from === 'calendar-year';
    const windowStart = wholeYear ? `${change.validFrom.slice(0, 4)}-01-01` : change.validFrom;
    if (bill.dischargeDate < windowStart) {
      acc = asPaid();
      continue;
    }
    const used = identitiesOf(input.periods, bill.identities, bill.dischargeDate, wholeYear);
    const fresh = settle({
      bill: { ...bill, identities: used.categories },
      accumulators: acc,
      ruleSet: compiled(resolved),
    });
    const before = fundFen(b.effective);
    const after = fundFen(fresh);
    const more = sumFen(SETTLEMENT_FUNDS.map((f) => after[f] - before[f]));
    if (more <= 0) {
      acc = asPaid();
      continue;
    }
    const deltas = {} as Record<FundKind, string>;
    for (const f of SETTLEMENT_FUNDS) deltas[f] = formatFen(after[f] - before[f]);
    const topup: TopupOut = {
      topupId: `T${randomUUID().replace(/-/g, '').slice(0, 24).toUpperCase()}`,
      setlId: b.setlId,
      mdtrtId: b.mdtrtId,
      eventId: randomUUID(),
      deltas,
      psnCashDelta: formatFen(negateFen(more)),
    };
    const inserted = await insertTopup(tx, {
      topupId: topup.topupId,
      setlId: b.setlId,
      changeId: change.id,
      psnNo,
      year,
      identitiesUsed: used.categories,
      categoryUsed: fresh.categoryUsed,
      result: fresh,
      deltas,
      psnCashDelta: topup.psnCashDelta,
      eventId: topup.eventId,
      accumulatorsBefore: acc,
      setlTime: input.setlTime,
    });
    if (!inserted) {
      acc = asPaid();
      continue;
    }
    events.push(
      topupCountyEvent(psnNo, b, fresh, topup, input),
      topupHisResult(psnNo, b, fresh, topup, input, change),
    );
    topups.push(topup);
    acc = fresh.accumulators;
  }
  if (bills.length > 0) await saveAccumulators(tx, psnNo, acc, locked.version);
  return { topups, events, accumulators: acc };
}

function topupCountyEvent(
  psnNo: string,
  b: PersonBill,
  fresh: SettlementResult,
  t: TopupOut,
  input: RecomputeInput,
): OutboxEvent {
  const codeOf = (f: FundKind): string =>
    fresh.setldetail.find((d) => d.fund === f)?.fundPayType ??
    b.effective.setldetail.find((d) => d.fund === f)?.fundPayType ??
    f;
  const event: SettlementEvent = {
    event_id: t.eventId,
    event_type: 'top-up',
    occurred_at: input.now.toISOString(),
    setl_id: b.setlId,
    fixmedins_code: b.fixmedinsCode,
    mdtrt_id: b.mdtrtId,
    psn_no: psnNo,
    clr_optins: b.clrOptins,
    // the agency pays a top-up in the month it is made
    setl_time: input.setlTime,
    month: input.setlTime.slice(0, 7),
    rule_set_version: fresh.ruleSetVersion,
    category_used: fresh.categoryUsed,
    medfee_sumamt: '0.00',
    fund_pay_sumamt: negateAmount(t.psnCashDelta, 'psn_cash_delta'),
    psn_cash_pay: t.psnCashDelta,
    funds: SETTLEMENT_FUNDS.filter((f) => t.deltas[f] !== '0.00').map((f) => ({
      fund_pay_type: codeOf(f),
      fund: f,
      amount: t.deltas[f],
    })),
    tops_up_event_id: b.eventId,
  };
  return settlementEventRecord(event, {
    correlationId: input.correlationId,
    fixmedinsCode: b.fixmedinsCode,
  });
}

/** his.settlement-result.v1 `top-up`: what changed on the hospital's bill and what to refund. */
function topupHisResult(
  psnNo: string,
  b: PersonBill,
  fresh: SettlementResult,
  t: TopupOut,
  input: RecomputeInput,
  change: IdentityChangeRow,
): OutboxEvent {
  const changes = moneyChange(b.effective.setlinfo, fresh.setlinfo);
  return topupResultRecord(
    {
      status: 'top-up',
      topup_id: t.topupId,
      setl_id: b.setlId,
      fixmedins_code: b.fixmedinsCode,
      mdtrt_id: b.mdtrtId,
      psn_no: psnNo,
      occurred_at: input.now.toISOString(),
      reason: {
        category: change.category,
        valid_from: change.validFrom,
        issuer: change.issuer,
        article: '004 第十九条',
      },
      category_used: fresh.categoryUsed,
      changes,
      // the patient paid this much too much: the cashier refunds it
      refund_to_patient: negateAmount(changes.psn_cash_pay ?? '0.00', 'psn_cash_pay'),
      totals: moneyOf(fresh.setlinfo),
    },
    input.correlationId,
  );
}

/** What the bill stands at: the position it started from and its computation as it now stands. */
export function standing(
  s: SettlementRow,
  topups: readonly TopupRow[],
): { before: Accumulators; result: SettlementResult } {
  const last = topups[topups.length - 1];
  if (last === undefined) return { before: s.accumulatorsBefore, result: s.result };
  return { before: last.accumulatorsBefore ?? s.accumulatorsBefore, result: last.result };
}

/**
 * A reversal takes the bill out as it now stands, top-ups included: the person's position loses
 * the bill's current contribution, and each top-up gets its own negative event for the county
 * (−top-up, `reverses_event_id` = the top-up's event) and a `top-up-reversed` answer for the
 * hospital, newest first, before the bill's own reversal.
 */
export async function reversalOfTopups(
  tx: Queryable,
  s: SettlementRow,
  current: Accumulators,
  ctx: { correlationId: string; setlTime: string; now: Date },
): Promise<{ restored: Accumulators; events: OutboxEvent[]; topups: TopupRow[] }> {
  const topups = await topupsOf(tx, s.setlId);
  const { before, result } = standing(s, topups);
  const restored = withoutContribution(current, before, result.accumulators);
  const events: OutboxEvent[] = [];
  for (let i = topups.length - 1; i >= 0; i--) {
    const t = topups[i]!;
    const prev = i === 0 ? s.result : topups[i - 1]!.result;
    const eventId = randomUUID();
    const county: SettlementEvent = {
      event_id: eventId,
      event_type: 'reversed',
      occurred_at: ctx.now.toISOString(),
      setl_id: s.setlId,
      fixmedins_code: s.fixmedinsCode,
      mdtrt_id: s.mdtrtId,
      psn_no: s.psnNo,
      clr_optins: s.clrOptins,
      setl_time: ctx.setlTime,
      month: ctx.setlTime.slice(0, 7),
      rule_set_version: t.result.ruleSetVersion,
      category_used: t.categoryUsed,
      medfee_sumamt: '0.00',
      fund_pay_sumamt: negateAmount(
        sumAmounts(
          SETTLEMENT_FUNDS.map((f) => t.deltas[f]),
          'deltas',
        ),
      ),
      psn_cash_pay: negateAmount(t.psnCashDelta, 'psn_cash_delta'),
      funds: SETTLEMENT_FUNDS.filter((f) => parseWireFen(t.deltas[f], f) !== 0).map((f) => ({
        fund_pay_type:
          t.result.setldetail.find((d) => d.fund === f)?.fundPayType ??
          prev.setldetail.find((d) => d.fund === f)?.fundPayType ??
          f,
        fund: f,
        amount: negateAmount(t.deltas[f], f),
      })),
      reverses_event_id: t.eventId,
    };
    events.push(
      settlementEventRecord(county, {
        correlationId: ctx.correlationId,
        fixmedinsCode: s.fixmedinsCode,
      }),
    );
    events.push(
      topupResultRecord(
        {
          status: 'top-up-reversed',
          topup_id: t.topupId,
          setl_id: s.setlId,
          fixmedins_code: s.fixmedinsCode,
          mdtrt_id: s.mdtrtId,
          psn_no: s.psnNo,
          occurred_at: ctx.now.toISOString(),
          changes: negate(moneyChange(prev.setlinfo, t.result.setlinfo)),
          // the bill goes back to what it was before this top-up; its own reversal follows
          totals: moneyOf(prev.setlinfo),
        },
        ctx.correlationId,
      ),
    );
  }
  return { restored, events, topups };
}

export interface SettlementView {
  settlement_status: string;
  /** the bill as it now stands: its latest computation; all zero once reversed */
  totals: Record<string, string>;
  topups: Record<string, unknown>[];
}

/** A settlement's top-ups and current totals (GET /api/v1/settlements/{id}). */
export async function settlementView(q: Queryable, s: SettlementRow): Promise<SettlementView> {
  const topups = await topupsOf(q, s.setlId);
  const { result } = standing(s, topups);
  const totals =
    s.status === 'reversed'
      ? Object.fromEntries(MONEY.map(([, w]) => [w, '0.00']))
      : moneyOf(result.setlinfo);
  return {
    settlement_status: s.status,
    totals,
    topups: topups.map((t, i) => ({
      topup_id: t.topupId,
      event_id: t.eventId,
      status: t.status,
      created_at: t.createdAt.toISOString(),
      reversed_at: t.reversedAt === null ? null : t.reversedAt.toISOString(),
      change_id: t.changeId,
      identities_used: t.identitiesUsed,
      category_used: t.categoryUsed,
      ...moneyChange((i === 0 ? s.result : topups[i - 1]!.result).setlinfo, t.result.setlinfo),
      funds: t.deltas,
    })),
  };
}
