/**
 * One message in, one outcome out: a settlement, a duplicate of one, a reversal, an admission, a
 * conflict or a reject with reasons. This is the intake's facade; the work is in `intake/`:
 * `arrival.ts` decodes a message once at the edge into the canonical message, `router.ts`
 * records it and routes it by kind to one handler each (`settle.ts`, `reverse.ts`, `admit.ts`,
 * `reject.ts`), every handler running in the transaction it is given.
 *
 * Whatever the transport (Kafka, HTTP, the console), the message and its outcome are written in
 * ONE database transaction together with the person's accumulators and the outbox events; the
 * caller acknowledges the message (commits the Kafka offset, answers the HTTP call) only after
 * that transaction has committed. A Kafka record is recognised by (topic, partition, offset): a
 * redelivery gets the first answer.
 *
 * Group commit (docs/adr/0020): `submitBatch` settles a chunk of Kafka messages in one
 * transaction (`intake/batch.ts`), each message with the outcome it would get alone.
 */
import type { Db } from '@onebill/ledger';
import type { RuleBook } from '@onebill/rules';
import type { Logger } from './log';
import {
  type Arrival,
  arriveJson,
  arriveStored,
  arriveXml,
  namedHospitalOf,
} from './intake/arrival';
import type { IntakeDeps } from './intake/context';
import { type BatchItem, retryable, settleBatch } from './intake/batch';
import {
  type Outcome,
  type PreviewOutcome,
  type Source,
  fromDecode,
  newCorrelationId,
  summary,
} from './intake/model';
import { recorded, route, routeInternalReject } from './intake/router';
import { previewBill } from './intake/settle';

export {
  AlreadyResubmitted,
  GatewayProblem,
  type Outcome,
  type PreviewOutcome,
  type Problem,
  type Received,
  type Source,
  formatTime,
  problemOf,
  receive,
  scopeProblem,
  waiverWire,
} from './intake/model';
export type { Arrival } from './intake/arrival';
export type { BatchItem } from './intake/batch';

export interface IntakeOptions {
  maxMessageBytes: number;
  /** the gateway's clock; settlement times and event times come from it */
  now?: () => Date;
}

export class IntakeService {
  private readonly deps: IntakeDeps;
  readonly maxBytes: number;

  constructor(
    private readonly db: Db,
    rules: RuleBook,
    private readonly log: Logger,
    options: IntakeOptions,
  ) {
    this.maxBytes = options.maxMessageBytes;
    this.deps = { rules, now: options.now ?? (() => new Date()) };
  }

  /** An XML message's bytes decoded once (Kafka, HTTP application/xml). */
  decode(message: Buffer | string): Arrival {
    return arriveXml(message, this.maxBytes);
  }

  /** A JSON message (the body parser's tree and the request's bytes) decoded once. */
  decodeJson(tree: unknown, bytes: Buffer): Arrival {
    return arriveJson(tree, bytes, this.maxBytes);
  }

  /** A stored message's text (XML or JSON) decoded once: the console's resubmission. */
  decodeStored(text: string): Arrival {
    return arriveStored(text, this.maxBytes);
  }

  /** Decode, validate and compute on the person's current position, storing nothing (2303). */
  async preview(message: Buffer | string | Arrival): Promise<PreviewOutcome> {
    const arrival = this.arrival(message);
    const d = arrival.decoded;
    if (!d.ok) return { ok: false, problems: fromDecode(d.errors) };
    if (d.message.kind !== 'discharge')
      return {
        ok: false,
        problems: [
          {
            code: 'WRONG_ROOT',
            field: null,
            rule: 'root:discharge',
            message: `expected one <discharge> root, got ${d.message.kind}`,
          },
        ],
      };
    return previewBill(this.deps, this.db, d.message);
  }

  /**
   * The hospital a message names as the decoder reads it (comments, odd spacing and CDATA
   * included), or null when it does not decode: then it is rejected, and recorded under the
   * sender's institution.
   */
  namedHospital(message: Buffer | string | Arrival): string | null {
    const arrival = this.arrival(message);
    return arrival.decoded.ok ? namedHospitalOf(arrival) : null;
  }

  /** Processes one inbound message to its outcome; resolves after the transaction committed. */
  submit(message: Buffer | string, given: Source): Promise<Outcome> {
    return this.submitDecoded(this.decode(message), given);
  }

  /** Processes a message decoded at the edge; resolves after the transaction committed. */
  async submitDecoded(arrival: Arrival, given: Source): Promise<Outcome> {
    const source = recorded(arrival, given);
    const correlationId = newCorrelationId(source);
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await this.db.transaction((tx) =>
          route(this.deps, tx, arrival, source, correlationId),
        );
        this.logOutcome(outcome, source);
        return outcome;
      } catch (e) {
        if (retryable(e) && attempt < 5) continue;
        throw e;
      }
    }
  }

  /**
   * Processes messages decoded at the edge in ONE transaction (group commit, docs/adr/0020):
   * resolves after it committed, with each message's outcome in order — the outcome each would
   * get alone. Rejects when the batch fails outside any message (the store gone:
   * StoreUnavailableError; anything else: the caller runs the messages one by one).
   */
  async submitBatch(items: readonly BatchItem[]): Promise<Outcome[]> {
    if (items.length === 0) return [];
    const outcomes = await settleBatch(this.db, this.deps, items, (source, error) =>
      this.log.warn('message failed in its batch, kept as a reject', {
        source: source.kind,
        ...(source.offset === undefined
          ? {}
          : { topic: source.topic, partition: source.partition, offset: source.offset }),
        error: error instanceof Error ? error.message : String(error),
      }),
    );
    outcomes.forEach((outcome, i) => {
      const item = items[i];
      if (item !== undefined) this.logOutcome(outcome, item.source);
    });
    return outcomes;
  }

  private logOutcome(outcome: Outcome, source: Source): void {
    this.log.debug(`message ${outcome.status}`, {
      correlationId: outcome.correlationId,
      source: source.kind,
      ...(source.offset === undefined
        ? {}
        : { partition: source.partition, offset: source.offset }),
      ...summary(outcome),
    });
  }

  /** Keeps a message that failed for an unexpected reason as a reject, so it blocks nothing. */
  internalReject(message: Buffer | string, given: Source, error: unknown): Promise<Outcome> {
    return this.internalRejectDecoded(this.decode(message), given, error);
  }

  /** internalReject for a message decoded at the edge. */
  internalRejectDecoded(arrival: Arrival, given: Source, error: unknown): Promise<Outcome> {
    const source = recorded(arrival, given);
    const correlationId = newCorrelationId(source);
    return this.db.transaction((tx) =>
      routeInternalReject(tx, this.deps, arrival, source, correlationId, error),
    );
  }

  private arrival(message: Buffer | string | Arrival): Arrival {
    return typeof message === 'string' || Buffer.isBuffer(message) ? this.decode(message) : message;
  }
}
