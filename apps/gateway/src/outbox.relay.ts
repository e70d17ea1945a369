/**
 * Delivers the outbox to Kafka, at least once, with the stable event id each row got when it was
 * written (header `event-id`), so consumers dedupe. A batch of rows is claimed with
 * FOR UPDATE SKIP LOCKED (two gateways never send the same rows at the same time), sent and awaited,
 * and only then marked published in the same transaction; a crash in between sends them again.
 *
 * It never wedges (docs/adr/0011): a batch is bounded by bytes as well as rows, below the broker's
 * `message.max.bytes`; a batch the broker refuses for a record's sake (MESSAGE_TOO_LARGE, …) is
 * bisected until the guilty rows are alone, and those are parked (parked_at, park_reason) with an
 * error in the log while the rest are published; any other failure (broker down, producer in a
 * fatal state, which the producer answers with a new instance) is retried with back-off.
 */
import {
  claimOutboxBatch,
  type Db,
  markPublished,
  type OutboxRow,
  parkOutboxEvent,
  type Queryable,
} from '@onebill/ledger';
import { classifySendError, type KafkaProducer } from '@onebill/messaging';

/** The one producer call the relay makes (a KafkaProducer; a stand-in in unit specs). */
export type OutboxSender = Pick<KafkaProducer, 'sendBatch'>;
import type { Logger } from './log';

export interface OutboxRelayOptions {
  /** rows per batch at most */
  batchSize: number;
  /** bytes per batch at most (outboxRecordBytes of its rows); one row over it goes alone */
  maxBatchBytes: number;
  /** poll interval when idle (the relay is also poked after every commit) */
  idleMs: number;
  /** called after a batch is marked published, with its rows' topics */
  onPublished?: (topics: string[]) => void;
  /** called for each event parked */
  onParked?: (event: { topic: string; eventId: string; reason: string }) => void;
}

/** What the relay has been doing, for health. */
export interface OutboxRelayStatus {
  running: boolean;
  /** when a claim last succeeded (a batch sent, or nothing to send); null before the first */
  lastProgressAt: Date | null;
  /** failed attempts in a row (0 when the last one succeeded) */
  consecutiveFailures: number;
  lastError: string | null;
  published: number;
  parked: number;
}

interface BatchOutcome {
  published: OutboxRow[];
  parked: Array<{ row: OutboxRow; reason: string }>;
}

export class OutboxRelay {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private lastProgressAt: Date | null = null;
  private consecutiveFailures = 0;
  private lastError: string | null = null;
  published = 0;
  parked = 0;

  constructor(
    private readonly db: Db,
    private readonly producer: OutboxSender,
    private readonly log: Logger,
    private readonly options: OutboxRelayOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** nudges the relay after a commit so events leave without waiting for the next poll */
  poke(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.poke();
    await this.loop;
  }

  /** Nest (a provider, docs/adr/0018): publishing starts once the application is up. */
  onApplicationBootstrap(): void {
    this.start();
  }

  /**
   * Nest: after the Kafka transport closed (consumers drained, their events committed to the
   * outbox) and before the producer it sends with closes (the producer is a dependency).
   */
  onApplicationShutdown(): Promise<void> {
    return this.stop();
  }

  status(): OutboxRelayStatus {
    return {
      running: this.running,
      lastProgressAt: this.lastProgressAt,
      consecutiveFailures: this.consecutiveFailures,
      lastError: this.lastError,
      published: this.published,
      parked: this.parked,
    };
  }

  private async send(rows: OutboxRow[]): Promise<void> {
    const byTopic = new Map<string, OutboxRow[]>();
    for (const r of rows) {
      const list = byTopic.get(r.topic);
      if (list === undefined) byTopic.set(r.topic, [r]);
      else list.push(r);
    }
    await this.producer.sendBatch(
      [...byTopic.entries()].map(([topic, rs]) => ({
        topic,
        messages: rs.map((r) => ({
          key: r.key,
          value: r.payload,
          headers: { ...r.headers, 'event-id': r.eventId },
        })),
      })),
    );
  }

  /**
   * Sends the rows and marks them published; when the broker refuses a record, halves the batch
   * until each refused row is alone and parks it. Any other failure propagates: the caller's
   * transaction rolls back and the rows (those already sent too) go again later.
   */
  private async publish(tx: Queryable, rows: OutboxRow[]): Promise<BatchOutcome> {
    try {
      await this.send(rows);
    } catch (e) {
      const failure = classifySendError(e);
      if (failure.kind !== 'record') throw failure;
      if (rows.length > 1) {
        const half = Math.ceil(rows.length / 2);
        const first = await this.publish(tx, rows.slice(0, half));
        const second = await this.publish(tx, rows.slice(half));
        return {
          published: [...first.published, ...second.published],
          parked: [...first.parked, ...second.parked],
        };
      }
      const row = rows[0] as OutboxRow;
      const reason = `${failure.type ?? 'REFUSED'}: ${failure.message}`;
      await parkOutboxEvent(tx, row.eventId, reason);
      return { published: [], parked: [{ row, reason }] };
    }
    await markPublished(
      tx,
      rows.map((r) => r.eventId),
    );
    return { published: rows, parked: [] };
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      let claimed = 0;
      try {
        const outcome = await this.db.transaction(async (tx) => {
          const rows = await claimOutboxBatch(
            tx,
            this.options.batchSize,
            this.options.maxBatchBytes,
          );
          claimed = rows.length;
          if (rows.length === 0) return { published: [], parked: [] } satisfies BatchOutcome;
          return this.publish(tx, rows);
        });
        for (const { row, reason } of outcome.parked) {
          this.log.error('outbox event parked: the broker refuses it; the rest flow on', {
            eventId: row.eventId,
            topic: row.topic,
            outboxId: row.id,
            reason,
          });
          this.options.onParked?.({ topic: row.topic, eventId: row.eventId, reason });
        }
        if (outcome.published.length > 0)
          this.options.onPublished?.(outcome.published.map((r) => r.topic));
        this.published += outcome.published.length;
        this.parked += outcome.parked.length;
        failures = 0;
        this.lastProgressAt = new Date();
        this.lastError = null;
      } catch (e) {
        failures += 1;
        claimed = 0;
        const failure = classifySendError(e);
        this.lastError = failure.message;
        this.log.warn('outbox relay failed; will retry', {
          error: failure.message,
          kind: failure.kind,
          type: failure.type,
          failures,
        });
      }
      this.consecutiveFailures = failures;
      // a batch cut short by its byte bound is not a sign of an empty queue: go on at once
      if (claimed === 0 && this.running) {
        const delay = failures > 0 ? Math.min(5000, 100 * 2 ** failures) : this.options.idleMs;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = null;
      }
    }
  }
}
