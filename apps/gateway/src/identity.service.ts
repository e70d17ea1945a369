/**
 * The identity feed (issue 6; docs/adr/0009): identity changes from civil affairs, rural
 * revitalization and unions (identity.changes.v1, 002 第二十八条), recorded with their history,
 * once each; and the retroactive assistance they trigger (004 第十九条): the person's settled
 * bills in the window are recomputed in settlement order with the identities now known, and what
 * the funds pay more is a top-up, linked to the original settlement and published as a `top-up`
 * settlement event. Nothing is clawed back.
 */
import { randomUUID } from 'node:crypto';
import {
  type Accumulators,
  type FundKind,
  type SettlementResult,
  compiled,
  settle,
} from '@onebill/engine';
import {
  type Db,
  type IdentityChangeRow,
  type OutboxEvent,
  type PersonBill,
  type Queryable,
  categoriesInForce,
  findIdentityChange,
  identityPeriods,
  insertIdentityChange,
  insertInbox,
  insertOutboxMany,
  insertReject,
  insertTopup,
  lockAccumulators,
  personBills,
  personYears,
  saveAccumulators,
  setInboxStatus,
  sha256,
} from '@onebill/ledger';
import {
  type IdentityChange,
  type IdentityProblem,
  type SettlementEvent,
  SETTLEMENT_FUNDS,
  Topics,
  amountToFen,
  fenToAmount,
  decodeAcceptedDischarge,
  decodeIdentityChange,
} from '@onebill/messaging';
import type { RuleBook } from '@onebill/rules';
import { formatTime } from './intake.service';
import type { Logger } from './log';

export interface IdentitySource {
  kind: 'kafka' | 'http';
  topic?: string;
  partition?: number;
  offset?: string;
  key?: string | null;
  correlationId?: string;
  submittedBy?: string;
}

export interface TopupOut {
  topupId: string;
  setlId: string;
  mdtrtId: string;
  eventId: string;
  /** what each fund pays more */
  deltas: Record<FundKind, string>;
  psnCashDelta: string;
}

export type IdentityOutcome =
  | { status: 'recorded'; changeId: string; topups: TopupOut[]; correlationId: string }
  | { status: 'duplicate'; changeId: string | null; correlationId: string }
  | {
      status: 'rejected';
      problems: (IdentityProblem & { code: string })[];
      rejectId: string | null;
      correlationId: string;
    };

/** Fund totals of a result in fen (integers: no float). */
function fundFen(r: SettlementResult): Record<FundKind, bigint> {
  const out = { basic: 0n, critical: 0n, commercial: 0n, assistance: 0n, tilted: 0n };
  for (const d of r.setldetail) out[d.fund] += amountToFen(d.fundPayamt);
  return out;
}

export class IdentityService {
  private readonly categories: ReadonlySet<string>;

  constructor(
    private readonly db: Db,
    private readonly rules: RuleBook,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.categories = new Set(rules.ruleSets.flatMap((rs) => rs.categories.map((c) => c.code)));
  }

  /** One identity change to its outcome, in one transaction. */
  async process(raw: string, source: IdentitySource): Promise<IdentityOutcome> {
    const correlationId = source.correlationId ?? randomUUID();
    return this.db.transaction(async (tx) => {
      const inbox = await this.inbox(tx, raw, source, correlationId);
      if (!inbox.inserted) {
        // the same Kafka record again: it was processed once, its effects are in place
        return { status: 'duplicate', changeId: null, correlationId };
      }
      const decoded = decodeIdentityChange(raw, this.categories);
      if (!decoded.ok) {
        return this.reject(
          tx,
          inbox.id,
          raw,
          decoded.problems.map((p) => ({ code: 'INVALID_FIELD', ...p })),
          correlationId,
        );
      }
      const c = decoded.change;
      const content = sha256(
        JSON.stringify([c.psn_no, c.admdvs, c.category, c.valid_from, c.valid_to]),
      );
      const row = await insertIdentityChange(tx, {
        issuer: c.issuer,
        reference: c.reference,
        psnNo: c.psn_no,
        admdvs: c.admdvs,
        category: c.category,
        validFrom: c.valid_from,
        validTo: c.valid_to,
        contentSha256: content,
        inboxId: inbox.id,
      });
      if (row === null) {
        const known = await findIdentityChange(tx, c.issuer, c.reference);
        if (known !== null && known.contentSha256 === content) {
          await setInboxStatus(tx, inbox.id, 'duplicate');
          return { status: 'duplicate', changeId: known.id, correlationId };
        }
        return this.reject(
          tx,
          inbox.id,
          raw,
          [
            {
              code: 'CONFLICT',
              field: 'reference',
              rule: 'one reference of an issuer is one change; send a correction under a new reference',
              message: `${c.issuer} ${c.reference} was received before with other content`,
            },
          ],
          correlationId,
        );
      }
      const topups = await this.retroactive(tx, row, c, correlationId);
      await setInboxStatus(tx, inbox.id, 'recorded');
      this.log.info('identity change recorded', {
        correlationId,
        category: c.category,
        validFrom: c.valid_from,
        topups: topups.length,
      });
      return { status: 'recorded', changeId: row.id, topups, correlationId };
    });
  }

  /** Keeps a change that failed for an unexpected reason as a reject (an operator can resubmit). */
  async internalReject(
    raw: string,
    source: IdentitySource,
    error: unknown,
  ): Promise<IdentityOutcome> {
    const correlationId = source.correlationId ?? randomUUID();
    return this.db.transaction(async (tx) => {
      const inbox = await this.inbox(tx, raw, source, correlationId);
      if (!inbox.inserted) return { status: 'duplicate', changeId: null, correlationId };
      return this.reject(
        tx,
        inbox.id,
        raw,
        [
          {
            code: 'INTERNAL_ERROR',
            field: '(message)',
            rule: 'the gateway could not process this change; an operator can resubmit it',
            message: error instanceof Error ? error.message : String(error),
          },
        ],
        correlationId,
      );
    });
  }

  private inbox(tx: Queryable, raw: string, source: IdentitySource, correlationId: string) {
    return insertInbox(tx, {
      source: source.kind,
      topic: source.topic ?? null,
      partition: source.partition ?? null,
      offset: source.offset ?? null,
      key: source.key ?? null,
      payload: raw,
      status: 'received',
      correlationId,
      fixmedinsCode: null,
      submittedBy: source.submittedBy ?? null,
      resubmissionOf: null,
    });
  }

  private async reject(
    tx: Queryable,
    inboxId: string,
    raw: string,
    problems: (IdentityProblem & { code: string })[],
    correlationId: string,
  ): Promise<IdentityOutcome> {
    const first = problems[0]!;
    const rejectId = await insertReject(tx, {
      inboxId,
      reasonCode: first.code,
      field: first.field,
      message: problems.map((p) => `${p.field}: ${p.message}`).join('; '),
      payload: raw,
      fixmedinsCode: null,
    });
    await setInboxStatus(tx, inboxId, 'rejected', { rejectId });
    return { status: 'rejected', problems, rejectId, correlationId };
  }

  /**
   * Recomputes the person's settled bills from the window's start, year by year, in settlement
   * order. Bills before the window keep what they are; each bill in it is computed with the
   * identities the registry has in force on its discharge date, starting from the accumulators
   * the bills before it (as they now stand) leave. A bill whose funds would pay more gets a
   * top-up of the difference and stands at the new computation; a bill that would pay less or the
   * same stays as it is (no claw-back).
   */
  private async retroactive(
    tx: Queryable,
    change: IdentityChangeRow,
    c: IdentityChange,
    correlationId: string,
  ): Promise<TopupOut[]> {
    const periods = await identityPeriods(tx, c.psn_no);
    const out: TopupOut[] = [];
    const firstYear = Number(c.valid_from.slice(0, 4));
    for (const year of await personYears(tx, c.psn_no, firstYear)) {
      const locked = await lockAccumulators(tx, c.psn_no, year);
      const bills = await personBills(tx, c.psn_no, year);
      if (bills.length === 0) continue;
      let acc: Accumulators = bills[0]!.accumulatorsBefore;
      let changed = false;
      const events: OutboxEvent[] = [];
      for (const b of bills) {
        const decoded = decodeAcceptedDischarge(b.payload);
        if (!decoded.ok) throw new Error(`settlement ${b.setlId}: its message no longer decodes`);
        const bill = decoded.bill;
        const hospital = this.rules.hospital(b.fixmedinsCode);
        if (hospital === undefined) throw new Error(`unknown hospital ${b.fixmedinsCode}`);
        const resolved = this.rules.resolve(hospital.region, bill.dischargeDate);
        const ruleSet = compiled(resolved);
        const wholeYear = resolved.retroactive.from === 'calendar-year';
        const windowStart = wholeYear ? `${c.valid_from.slice(0, 4)}-01-01` : c.valid_from;
        const effectiveIdentities = b.effectiveIdentities ?? bill.identities;
        const asItStands = (): Accumulators =>
          settle({ bill: { ...bill, identities: effectiveIdentities }, accumulators: acc, ruleSet })
            .accumulators;
        if (bill.dischargeDate < windowStart) {
          acc = asItStands();
          continue;
        }
        const identities = categoriesInForce(periods, bill.dischargeDate, wholeYear);
        const fresh = settle({ bill: { ...bill, identities }, accumulators: acc, ruleSet });
        const before = fundFen(b.effective);
        const after = fundFen(fresh);
        const more = SETTLEMENT_FUNDS.reduce((s, f) => s + after[f] - before[f], 0n);
        if (more <= 0n) {
          acc = asItStands();
          continue;
        }
        const deltas = {} as Record<FundKind, string>;
        for (const f of SETTLEMENT_FUNDS) deltas[f] = fenToAmount(after[f] - before[f]);
        const topup: TopupOut = {
          topupId: `T${randomUUID().replace(/-/g, '').slice(0, 24).toUpperCase()}`,
          setlId: b.setlId,
          mdtrtId: b.mdtrtId,
          eventId: randomUUID(),
          deltas,
          psnCashDelta: fenToAmount(-more),
        };
        const inserted = await insertTopup(tx, {
          topupId: topup.topupId,
          setlId: b.setlId,
          changeId: change.id,
          psnNo: c.psn_no,
          year,
          identitiesUsed: identities,
          categoryUsed: fresh.categoryUsed,
          result: fresh,
          deltas,
          psnCashDelta: topup.psnCashDelta,
          eventId: topup.eventId,
        });
        if (!inserted) {
          acc = asItStands();
          continue;
        }
        events.push(this.topupEvent(c.psn_no, b, fresh, topup, correlationId));
        out.push(topup);
        acc = fresh.accumulators;
        changed = true;
      }
      if (changed) {
        await saveAccumulators(tx, c.psn_no, acc, locked.version);
        await insertOutboxMany(tx, events);
      }
    }
    return out;
  }

  private topupEvent(
    psnNo: string,
    b: PersonBill,
    fresh: SettlementResult,
    t: TopupOut,
    correlationId: string,
  ): OutboxEvent {
    const now = this.now();
    const time = formatTime(now);
    const codeOf = (f: FundKind): string =>
      fresh.setldetail.find((d) => d.fund === f)?.fundPayType ??
      b.effective.setldetail.find((d) => d.fund === f)?.fundPayType ??
      f;
    const funds = SETTLEMENT_FUNDS.filter((f) => t.deltas[f] !== '0.00').map((f) => ({
      fund_pay_type: codeOf(f),
      fund: f,
      amount: t.deltas[f],
    }));
    const more = -amountToFen(t.psnCashDelta);
    const event: SettlementEvent = {
      event_id: t.eventId,
      event_type: 'top-up',
      occurred_at: now.toISOString(),
      setl_id: b.setlId,
      fixmedins_code: b.fixmedinsCode,
      mdtrt_id: b.mdtrtId,
      psn_no: psnNo,
      clr_optins: b.clrOptins,
      // the agency pays a top-up in the month it is made
      setl_time: time,
      month: time.slice(0, 7),
      rule_set_version: fresh.ruleSetVersion,
      category_used: fresh.categoryUsed,
      medfee_sumamt: '0.00',
      fund_pay_sumamt: fenToAmount(more),
      psn_cash_pay: t.psnCashDelta,
      funds,
      tops_up_event_id: b.eventId,
    };
    return {
      eventId: t.eventId,
      topic: Topics.settlementEvents,
      key: b.clrOptins,
      headers: {
        'content-type': 'application/json',
        'correlation-id': correlationId,
        'event-type': 'top-up',
        'event-id': t.eventId,
        'fixmedins-code': b.fixmedinsCode,
      },
      payload: JSON.stringify(event),
    };
  }
}
