/**
 * The county payment service without HTTP: database (pg or PGlite, migrated) + the batch consumer
 * of `settlement.events.v1`. `start()` / `stop()` are what main.ts and the tests call.
 *
 * A PostgreSQL outage (docs/adr/0010) does not end it: the pool's errors are handled by
 * libs/ledger, which marks the store down and probes it; batches wait (heartbeating) until it is
 * back, then run — a batch cut off mid-transaction runs again whole (one batch, one transaction,
 * deduped by event id), and offsets are committed only after its commit.
 */
import { isStoreUnavailable, openDb, type Db } from '@onebill/ledger';
import {
  KafkaClient,
  Topics,
  TOPIC_SPECS,
  type KafkaBatchConsumer,
  type KafkaLogSink,
} from '@onebill/messaging';
import { lineSink, Logger } from '@onebill/observability/log';
import type { CountyPaymentsConfig } from './config';
import { SettlementEventIngest } from './ingest';
import { migrate } from './payables.repository';

export class CountyPaymentsRuntime {
  private consumer: KafkaBatchConsumer | undefined;
  private client: KafkaClient | undefined;
  ingest: SettlementEventIngest | undefined;

  private constructor(
    readonly config: CountyPaymentsConfig,
    readonly db: Db,
    private readonly log: KafkaLogSink,
  ) {}

  static async open(
    config: CountyPaymentsConfig,
    log: KafkaLogSink = lineSink(new Logger(config.logLevel, { service: 'county-payments' })),
  ): Promise<CountyPaymentsRuntime> {
    const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    db.health.onChange((state) =>
      state.status === 'down'
        ? log.error(`[county-payments] database unavailable, consumer paused: ${state.reason}`)
        : log.log('[county-payments] database available again, consumer resumes'),
    );
    try {
      await migrate(db);
    } catch (error) {
      await db.close();
      throw error;
    }
    return new CountyPaymentsRuntime(config, db, log);
  }

  /** Ensures the topic exists, joins the group and returns once partitions are assigned. */
  async start(): Promise<void> {
    this.client = new KafkaClient({ ...this.config.kafka, logSink: this.log });
    const spec = TOPIC_SPECS.filter((s) => s.topic === Topics.settlementEvents);
    await this.client.admin().ensureTopics(spec);
    const ingest = new SettlementEventIngest(this.db, this.config.counties, this.log);
    this.ingest = ingest;
    this.consumer = this.client.batchConsumer({
      groupId: this.config.groupId,
      topics: [Topics.settlementEvents],
      handler: async (batch) => {
        for (;;) {
          try {
            return await ingest.handleBatch(batch);
          } catch (error) {
            if (!isStoreUnavailable(error)) throw error;
            await batch.whenReady(); // rejects when the batch is abandoned (stop, rebalance)
          }
        }
      },
      gate: {
        isReady: () => this.db.health.up,
        whenReady: (signal) => this.db.health.whenUp(signal),
      },
      onCrash: (error, willRestart) =>
        this.log.error(
          `[county-payments] consumer crashed (${willRestart ? 'restarting' : 'stopped'}): ${error.message}`,
        ),
    });
    await this.consumer.start();
    await this.consumer.waitForJoin();
  }

  get consuming(): boolean {
    return this.consumer !== undefined;
  }

  /** Stops consuming (in-flight batches finish and commit), then closes Kafka and the database. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    if (consumer) await consumer.stop();
    if (this.client) await this.client.close();
    this.client = undefined;
    await this.db.close();
  }
}
