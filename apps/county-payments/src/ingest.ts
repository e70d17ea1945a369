/**
 * One batch of `settlement.events.v1` → one database transaction. Offsets are committed by
 * KafkaBatchConsumer only after this resolves, i.e. after COMMIT; a redelivered batch finds its
 * event ids in `processed_events` and adds nothing.
 */
import type { Db, Queryable } from '@onebill/ledger';
import { decodeSettlementEvent, type InboundBatch } from '@onebill/messaging';
import { extractContext, inSpan, SpanKind } from '@onebill/observability/tracing';
import { addToPayables, recordEvent, recordReject } from './payables.repository';

export interface IngestLog {
  warn(message: string): void;
}

export interface IngestStats {
  applied: number;
  duplicates: number;
  skippedOtherCounty: number;
  rejected: number;
}

export class SettlementEventIngest {
  readonly stats: IngestStats = { applied: 0, duplicates: 0, skippedOtherCounty: 0, rejected: 0 };

  constructor(
    private readonly db: Db,
    private readonly counties: readonly string[] | '*',
    private readonly log: IngestLog,
  ) {}

  private ours(admdvs: string): boolean {
    return this.counties === '*' || this.counties.includes(admdvs);
  }

  async handleBatch(batch: InboundBatch): Promise<void> {
    const delta: IngestStats = { applied: 0, duplicates: 0, skippedOtherCounty: 0, rejected: 0 };
    await this.db.transaction(async (tx) => {
      for (const message of batch.messages) {
        // the event's traceparent (the gateway's intake span) is the parent: one trace from the
        // HIS message to this payable (tracing off: runs as it is)
        const outcome = await inSpan(
          `${batch.topic} process`,
          {
            tracer: 'county-payments',
            parent: extractContext(message.headers),
            kind: SpanKind.CONSUMER,
          },
          async (span) => {
            const o = await this.one(tx, batch, message);
            span?.setAttribute('county.outcome', o);
            return o;
          },
        );
        delta[outcome] += 1;
      }
    });
    // Counted only once the transaction committed.
    this.stats.applied += delta.applied;
    this.stats.duplicates += delta.duplicates;
    this.stats.skippedOtherCounty += delta.skippedOtherCounty;
    this.stats.rejected += delta.rejected;
  }

  /** One message of the batch, in the batch's transaction: what became of it. */
  private async one(
    tx: Queryable,
    batch: InboundBatch,
    message: InboundBatch['messages'][number],
  ): Promise<keyof IngestStats> {
    const at = { topic: batch.topic, partition: batch.partition, offset: message.offset };
    const key = message.key?.toString('utf8') ?? null;
    // Cheap pre-filter on the key: another county's event is neither parsed nor stored.
    if (key !== null && /^\d{6}$/.test(key) && !this.ours(key)) return 'skippedOtherCounty';
    const decoded = decodeSettlementEvent(message.value);
    if (!decoded.ok) {
      const reason = decoded.errors.join('; ');
      this.log.warn(
        `[county-payments] rejected ${at.topic}[${at.partition}]@${at.offset}: ${reason}`,
      );
      await recordReject(tx, at, {
        key,
        eventIdHeader: message.headers['event-id']?.toString('utf8') ?? null,
        reason,
        raw: message.value,
      });
      return 'rejected';
    }
    const event = decoded.value;
    if (!this.ours(event.clr_optins)) return 'skippedOtherCounty';
    if (await recordEvent(tx, event, at)) {
      await addToPayables(tx, event);
      return 'applied';
    }
    return 'duplicates';
  }
}
