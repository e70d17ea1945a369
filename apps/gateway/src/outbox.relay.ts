/**
 * Delivers the outbox to Kafka, at least once, with the stable event id each row got when it was
 * written (header `event-id`), so consumers dedupe. A batch of rows is claimed with
 * FOR UPDATE SKIP LOCKED (two gateways never send the same rows at the same time), sent and awaited,
 * and only then marked published in the same transaction; a crash in between sends them again.
 */
import { claimOutboxBatch, type Db, markPublished, type OutboxRow } from '@onebill/ledger';
import type { KafkaProducer } from '@onebill/messaging';
import type { Logger } from './log';

export class OutboxRelay {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  published = 0;

  constructor(
    private readonly db: Db,
    private readonly producer: KafkaProducer,
    private readonly log: Logger,
    private readonly batchSize: number,
    private readonly idleMs: number,
    /** called after a batch is marked published, with its rows' topics */
    private readonly onPublished: (topics: string[]) => void = () => undefined,
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

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      let sent = 0;
      try {
        const rows = await this.db.transaction(async (tx) => {
          const claimed = await claimOutboxBatch(tx, this.batchSize);
          if (claimed.length === 0) return claimed;
          await this.send(claimed);
          await markPublished(
            tx,
            claimed.map((r) => r.eventId),
          );
          return claimed;
        });
        sent = rows.length;
        if (sent > 0) this.onPublished(rows.map((r) => r.topic));
        this.published += sent;
        failures = 0;
      } catch (e) {
        failures += 1;
        this.log.warn('outbox relay failed; will retry', {
          error: e instanceof Error ? e.message : String(e),
          failures,
        });
      }
      if (sent < this.batchSize && this.running) {
        const delay = failures > 0 ? Math.min(5000, 100 * 2 ** failures) : this.idleMs;
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
