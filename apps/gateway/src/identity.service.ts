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
  identityPeriods,
  insertIdentityChange,
  insertInbox,
  insertOutboxMany,
  insertReject,
  personYears,
  setInboxStatus,
  sha256,
} from '@onebill/ledger';
import {
  type IdentityChange,
  type IdentityProblem,
  decodeIdentityMessage,
} from '@onebill/messaging';

/** An identity change decoded once into the canonical message, or its problems. */
export type IdentityDecoded = ReturnType<typeof decodeIdentityMessage>;
import type { RuleBook } from '@onebill/rules';
import { formatTime } from './intake.service';
import type { Logger } from './log';
import { type TopupOut, recomputeYear } from './topups';
import { reviewAlert } from './alerts';

export type { TopupOut };

export interface IdentitySource {
  kind: 'kafka' | 'http';
  topic?: string;
  partition?: number;
  offset?: string;
  key?: string | null;
  correlationId?: string;
  submittedBy?: string;
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
