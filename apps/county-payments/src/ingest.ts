/**
 * One batch of `settlement.events.v1` → one database transaction. Offsets are committed by
 * KafkaBatchConsumer only after this resolves, i.e. after COMMIT; a redelivered batch finds its
 * event ids in `processed_events` and adds nothing.
 */
import type { Db } from '@onebill/ledger';
import { decodeSettlementEvent, type InboundBatch } from '@onebill/messaging';
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
        const at = { topic: batch.topic, partition: batch.partition, offset: message.offset };
        const key = message.key?.toString('utf8') ?? null;
        // Cheap pre-filter on the key: another county's event is neither parsed nor stored.
        if (key !== null && /^\d{6}$/.test(key) && !this.ours(key)) {
          delta.skippedOtherCounty += 1;
          continue;
        }
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
          delta.rejected += 1;
          continue;
        }
        const event = decoded.value;
        if (!this.ours(event.clr_optins)) {
          delta.skippedOtherCounty += 1;
          continue;
        }
        if (await recordEvent(tx, event, at)) {
          await addToPayables(tx, event);
          delta.applied += 1;
        } else {
          delta.duplicates += 1;
        }
      }
    });
    // Counted only once the transaction committed.
    this.stats.applied += delta.applied;
    this.stats.duplicates += delta.duplicates;
    this.stats.skippedOtherCounty += delta.skippedOtherCounty;
    this.stats.rejected += delta.rejected;
  }
}
