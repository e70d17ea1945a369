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
  type Db,
  type IdentityChangeRow,
  type Queryable,
  findIdentityChange,
  identityChangeById,
  identityPeriods,
  insertIdentityChange,
  insertInbox,
  insertOutboxMany,
  insertIdentityWithdrawal,
  insertReject,
  periodChangeIds,
  personBills,
  personYears,
  recordOperatorAction,
  setInboxStatus,
  sha256,
  topupsOfChanges,
  withdrawalCovering,
} from '@onebill/ledger';
import {
  type IdentityChange,
  type IdentityProblem,
  decodeAcceptedDischarge,
  decodeIdentityMessage,
} from '@onebill/messaging';

/** An identity change decoded once into the canonical message, or its problems. */
export type IdentityDecoded = ReturnType<typeof decodeIdentityMessage>;
import type { RuleBook } from '@onebill/rules';
import { formatTime } from './intake.service';
import type { Logger } from './log';
import { type TopupOut, recomputeYear } from './topups';
import { reviewAlert } from './alerts';
import type { Source } from './intake/model';

export type { TopupOut };

/** Where an identity change came from: the intake's Source, without what only bills carry. */
export type IdentitySource = Pick<
  Source,
  'kind' | 'topic' | 'partition' | 'offset' | 'key' | 'correlationId' | 'submittedBy'
>;

export type IdentityOutcome =
  | { status: 'recorded'; changeId: string; topups: TopupOut[]; correlationId: string }
  | { status: 'duplicate'; changeId: string | null; correlationId: string }
  | {
      status: 'rejected';
      problems: (IdentityProblem & { code: string })[];
      rejectId: string | null;
      correlationId: string;
    };

/** A settled bill that used a withdrawn period: listed for review, never changed (decision 8a). */
export interface BillToReview {
  setlId: string;
  fixmedinsCode: string;
  mdtrtId: string;
  dischargeDate: string | null;
  /** the identities the bill stands at (its latest top-up's, else its settlement's) */
  identitiesUsed: string[] | null;
  /** top-ups made on account of the withdrawn period's changes */
  topupIds: string[];
  why: string;
}

export type WithdrawOutcome =
  | {
      status: 'withdrawn';
      withdrawalId: string;
      actionId: string;
      period: { category: string; validFrom: string; validTo: string | null; admdvs: string };
      changeIds: string[];
      billsToReview: BillToReview[];
    }
  | { status: 'not-found'; message: string }
  | { status: 'already-withdrawn'; withdrawalId: string; message: string };

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

  /** An identity change decoded once, at the edge, into the canonical message. */
  decode(raw: string | { parsed: unknown }): IdentityDecoded {
    return decodeIdentityMessage(raw, this.categories);
  }

  /** One identity change to its outcome, in one transaction. */
  process(raw: string, source: IdentitySource): Promise<IdentityOutcome> {
    return this.processDecoded(raw, this.decode(raw), source);
  }

  /** One identity change decoded at the edge to its outcome, in one transaction. */
  async processDecoded(
    raw: string,
    decoded: IdentityDecoded,
    source: IdentitySource,
  ): Promise<IdentityOutcome> {
    const correlationId = source.correlationId ?? randomUUID();
    return this.db.transaction(async (tx) => {
      const inbox = await this.inbox(tx, raw, source, correlationId);
      if (!inbox.inserted) {
        // the same Kafka record again: it was processed once, its effects are in place
        return { status: 'duplicate', changeId: null, correlationId };
      }
      return this.handle(tx, inbox.id, raw, decoded, correlationId);
    });
  }

  /**
   * The identity-change handler: records the decoded change (once per issuer and reference) and
   * tops up the person's bills it reaches, in the caller's transaction (none of its own).
   */
  async handle(
    tx: Queryable,
    inboxId: string,
    raw: string,
    decoded: IdentityDecoded,
    correlationId: string,
  ): Promise<IdentityOutcome> {
    if (!decoded.ok) {
      return this.reject(
        tx,
        inboxId,
        raw,
        decoded.problems.map((p) => ({ code: 'INVALID_FIELD', ...p })),
        correlationId,
      );
    }
    const c = decoded.message.change;
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
      inboxId: inboxId,
    });
    if (row === null) {
      const known = await findIdentityChange(tx, c.issuer, c.reference);
      if (known !== null && known.contentSha256 === content) {
        await setInboxStatus(tx, inboxId, 'duplicate');
        return { status: 'duplicate', changeId: known.id, correlationId };
      }
      return this.reject(
        tx,
        inboxId,
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
    await setInboxStatus(tx, inboxId, 'recorded');
    this.log.info('identity change recorded', {
      correlationId,
      category: c.category,
      validFrom: c.valid_from,
      topups: topups.length,
    });
    return { status: 'recorded', changeId: row.id, topups, correlationId };
  }

  /**
   * Withdraws a person's mistaken identity period (docs/adr/0009 decision 8a): `changeId` is any
   * change of the period (category, valid_from). Not deleted: a withdrawal row covering the
   * period's changes received so far, and the operator's action with who, why and what it
   * covered, in one transaction. From then on the registry, preview, settlement, deposit waiver,
   * alerts' county and subsidy reports leave the period out. Bills already settled under it are
   * not changed (no claw-back, decision 5): they are returned, and kept in the action's detail,
   * for review.
   */
  async withdraw(
    psnNo: string,
    changeId: string,
    reason: string,
    who: { name: string; role: string },
  ): Promise<WithdrawOutcome> {
    return this.db.transaction(async (tx) => {
      const change = await identityChangeById(tx, changeId);
      if (change === null || change.psnNo !== psnNo) {
        return {
          status: 'not-found',
          message: `${psnNo} has no identity change ${changeId}`,
        };
      }
      const ids = await periodChangeIds(tx, psnNo, change.category, change.validFrom);
      const last = ids[ids.length - 1]!;
      const covering = await withdrawalCovering(tx, { ...change, id: last });
      if (covering !== null) {
        return {
          status: 'already-withdrawn',
          withdrawalId: covering.id,
          message:
            `the period ${change.category} from ${change.validFrom} was withdrawn by ` +
            `${covering.withdrawnBy}: ${covering.reason}`,
        };
      }
      const latest = (await identityChangeById(tx, last))!;
      const withdrawal = await insertIdentityWithdrawal(tx, {
        psnNo,
        category: change.category,
        validFrom: change.validFrom,
        lastChangeId: last,
        reason,
        withdrawnBy: who.name,
      });
      const billsToReview = await this.billsUnder(tx, psnNo, latest, ids);
      const actionId = await recordOperatorAction(tx, {
        actor: who.name,
        role: who.role,
        action: 'identity-withdraw',
        target: `${psnNo} ${change.category} ${change.validFrom}`,
        outcome: 'withdrawn',
        detail: {
          withdrawal_id: withdrawal.id,
          reason,
          change_ids: ids,
          valid_to: latest.validTo,
          admdvs: latest.admdvs,
          bills_to_review: billsToReview.map((b) => b.setlId),
        },
      });
      this.log.info('identity period withdrawn', {
        category: change.category,
        validFrom: change.validFrom,
        withdrawalId: withdrawal.id,
        billsToReview: billsToReview.length,
      });
      return {
        status: 'withdrawn',
        withdrawalId: withdrawal.id,
        actionId,
        period: {
          category: latest.category,
          validFrom: latest.validFrom,
          validTo: latest.validTo,
          admdvs: latest.admdvs,
        },
        changeIds: ids,
        billsToReview,
      };
    });
  }

  /**
   * The person's bills still settled that the period may have paid: discharged within it and
   * computed with its category, or topped up on account of its changes.
   */
  private async billsUnder(
    tx: Queryable,
    psnNo: string,
    period: IdentityChangeRow,
    changeIds: readonly string[],
  ): Promise<BillToReview[]> {
    const topups = await topupsOfChanges(tx, changeIds);
    const out: BillToReview[] = [];
    for (const year of await personYears(tx, psnNo, Number(period.validFrom.slice(0, 4)))) {
      if (period.validTo !== null && year > Number(period.validTo.slice(0, 4))) break;
      for (const b of await personBills(tx, psnNo, year)) {
        const decoded = decodeAcceptedDischarge(b.payload);
        const day = decoded.ok ? decoded.bill.dischargeDate : null;
        const inPeriod =
          day !== null &&
          period.validFrom <= day &&
          (period.validTo === null || day <= period.validTo);
        const used = b.effectiveIdentities;
        const topupIds = topups.filter((t) => t.setlId === b.setlId).map((t) => t.topupId);
        const withCategory = inPeriod && used !== null && used.includes(period.category);
        if (!withCategory && topupIds.length === 0) continue;
        out.push({
          setlId: b.setlId,
          fixmedinsCode: b.fixmedinsCode,
          mdtrtId: b.mdtrtId,
          dischargeDate: day,
          identitiesUsed: used,
          topupIds,
          why:
            topupIds.length > 0
              ? `topped up on account of the withdrawn period (${topupIds.join(', ')})`
              : `settled with ${period.category} from the registry on ${day}`,
        });
      }
    }
    return out;
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
   * Recomputes the person's settled bills year by year from the year of `valid_from`
   * (topups.ts, recomputeYear): a bill in the window whose funds would pay more gets a top-up;
   * nothing is clawed back; the person's position is rebuilt from the bills still settled.
   */
  private async retroactive(
    tx: Queryable,
    change: IdentityChangeRow,
    c: IdentityChange,
    correlationId: string,
  ): Promise<TopupOut[]> {
    const periods = await identityPeriods(tx, c.psn_no);
    const out: TopupOut[] = [];
    const now = this.now();
    const firstYear = Number(c.valid_from.slice(0, 4));
    for (const year of await personYears(tx, c.psn_no, firstYear)) {
      const { topups, events, accumulators } = await recomputeYear(tx, this.rules, {
        psnNo: c.psn_no,
        year,
        change,
        periods,
        correlationId,
        setlTime: formatTime(now),
        now,
      });
      // a top-up lowers the person's cash self-pay: the high-burden alert may change
      if (topups.length > 0)
        events.push(
          ...(await reviewAlert(tx, c.psn_no, year, accumulators.cashSelfPay, {
            correlationId,
            now,
          })),
        );
      if (events.length > 0) await insertOutboxMany(tx, events);
      out.push(...topups);
    }
    return out;
  }
}
