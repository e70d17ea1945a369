/**
 * The gateway without HTTP: database (PostgreSQL or the embedded PGlite, migrated), rule book,
 * intake, and — when KAFKA_BROKERS is set — the Kafka ingress and the outbox relay. main.ts puts
 * the HTTP API in front of it; the end-to-end tests run main.ts as a process.
 */
import { type Db, migrate, openDb, outboxBacklog } from '@onebill/ledger';
import {
  KafkaClient,
  type KafkaLogSink,
  type KafkaProducer,
  TOPIC_SPECS,
} from '@onebill/messaging';
import { RuleBook } from '@onebill/rules';
import type { GatewayConfig } from './config';
import { IntakeService, type Outcome } from './intake.service';
import { KafkaIngress } from './kafka.ingress';
import type { Logger } from './log';
import { OutboxRelay } from './outbox.relay';

export interface Counters {
  settled: number;
  duplicate: number;
  reversed: number;
  admitted: number;
  conflict: number;
  rejected: number;
}

export class GatewayRuntime {
  readonly counters: Counters = {
    settled: 0,
    duplicate: 0,
    reversed: 0,
    admitted: 0,
    conflict: 0,
    rejected: 0,
  };
  private client: KafkaClient | undefined;
  private producer: KafkaProducer | undefined;
  private relay: OutboxRelay | undefined;
  private ingress: KafkaIngress | undefined;
  private ticker: NodeJS.Timeout | undefined;

  private constructor(
    readonly config: GatewayConfig,
    readonly db: Db,
    readonly rules: RuleBook,
    readonly intake: IntakeService,
    private readonly log: Logger,
  ) {}

  static async open(config: GatewayConfig, log: Logger): Promise<GatewayRuntime> {
    const rules = RuleBook.load();
    const db = await openDb({
      ...(config.databaseUrl === null ? {} : { databaseUrl: config.databaseUrl }),
      dataDir: config.pgliteDir === ':memory:' ? null : config.pgliteDir,
    });
    try {
      const applied = await migrate(db);
      if (applied.length > 0) log.info('database migrated', { applied });
    } catch (error) {
      await db.close();
      throw error;
    }
    const intake = new IntakeService(db, rules, log, {
      maxMessageBytes: config.maxMessageBytes,
    });
    return new GatewayRuntime(config, db, rules, intake, log);
  }

  /** Counts an outcome and wakes the relay so its events leave at once. */
  record(outcome: Outcome): void {
    this.counters[outcome.status] += 1;
    if (outcome.status !== 'admitted') this.relay?.poke();
  }

  async start(): Promise<void> {
    const brokers = this.config.kafkaBrokers;
    if (brokers !== null) {
      const sink: KafkaLogSink = {
        error: (m) => this.log.error(m),
        warn: (m) => this.log.warn(m),
        log: (m) => this.log.debug(m),
        debug: (m) => this.log.debug(m),
      };
      this.client = new KafkaClient({
        brokers,
        clientId: this.config.kafkaClientId,
        logLevel: 'warn',
        logSink: sink,
      });
      await this.client.admin().ensureTopics(TOPIC_SPECS);
      this.producer = this.client.producer();
      this.relay = new OutboxRelay(
        this.db,
        this.producer,
        this.log,
        this.config.outboxBatch,
        this.config.outboxPollMs,
      );
      this.relay.start();
      this.ingress = new KafkaIngress(
        this.client,
        this.intake,
        this.log,
        this.config.kafkaGroupId,
        8,
        (o) => this.record(o),
      );
      await this.ingress.start();
      await this.ingress.waitForJoin();
    }
    if (this.config.statsIntervalMs > 0) {
      this.ticker = setInterval(() => void this.report(), this.config.statsIntervalMs);
      this.ticker.unref();
    }
  }

  private async report(): Promise<void> {
    try {
      const backlog = await outboxBacklog(this.db);
      this.log.info('flow', { ...this.counters, outboxBacklog: backlog });
    } catch (e) {
      this.log.warn('flow report failed', { error: e instanceof Error ? e.message : String(e) });
    }
  }

  /** Readiness: the database answers and, with Kafka, the consumer has joined its group. */
  async ready(): Promise<{ ok: boolean; checks: Record<string, string> }> {
    const checks: Record<string, string> = {};
    let ok = true;
    try {
      await this.db.query('SELECT 1');
      checks.database = `ok (${this.db.driver})`;
    } catch (e) {
      ok = false;
      checks.database = e instanceof Error ? e.message : String(e);
    }
    if (this.config.kafkaBrokers === null) checks.kafka = 'off (embedded mode)';
    else if (this.ingress === undefined) {
      ok = false;
      checks.kafka = 'not started';
    } else checks.kafka = 'ok';
    return { ok, checks };
  }

  /** Stops taking messages (in-flight batches commit), drains the relay, closes everything. */
  async stop(): Promise<void> {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    await this.ingress?.stop();
    this.ingress = undefined;
    await this.relay?.stop();
    this.relay = undefined;
    await this.producer?.disconnect();
    this.producer = undefined;
    await this.client?.close();
    this.client = undefined;
    await this.report();
    await this.db.close();
  }
}
