/**
 * The archive sealer's timer as a Nest provider (ARCHIVE_SEAL_MS; 0 = off): it starts when the
 * application has bootstrapped and, at shutdown, stops and waits for a seal under way, before the
 * producer (it publishes each head) and the store close. docs/adr/0008, 0015, 0018.
 */
import { HeadPublisher } from '@onebill/audit';
import { ArchiveSealer, loadHeadSigningKey } from '@onebill/ledger';
import type { GatewayConfig } from './config';
import type { KafkaConnection } from './kafka.connection';
import type { Logger } from './log';
import type { GatewayMetrics } from './metrics';
import type { GatewayStore } from './store';

export class ArchiveSealing {
  private timer: NodeJS.Timeout | undefined;
  private sealing: Promise<void> = Promise.resolve();
  private failing = false;

  constructor(
    private readonly config: GatewayConfig,
    private readonly store: GatewayStore,
    private readonly kafka: KafkaConnection,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.archiveSealMs <= 0) return;
    const db = this.store.db;
    // each seal's head leaves the database signed: Kafka, the log, the auditor's heads file
    const heads = new HeadPublisher({
      log: this.log,
      key:
        this.config.archiveHeadsKeyFile === null
          ? null
          : loadHeadSigningKey(this.config.archiveHeadsKeyFile),
      file: this.config.archiveHeadsFile,
      producer: this.kafka.producer,
    });
    const sealer = new ArchiveSealer(db, undefined, async (head) => {
      await heads.publish(head);
    });
    this.timer = setInterval(() => {
      // during an outage the sealer waits quietly: the store's state is logged once
      if (!db.health.up) return;
      this.sealing = this.sealing.then(async () => {
        try {
          const n = await sealer.tick();
          if (n > 0) this.metrics.archiveSealed.inc(n);
          this.failing = false;
        } catch (e) {
          // one line per run of failures, not one per tick
          if (!this.failing)
            this.log.warn('archive sealing failed; retrying every tick', {
              error: e instanceof Error ? e.message : String(e),
            });
          this.failing = true;
        }
      });
    }, this.config.archiveSealMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.sealing;
  }
}
