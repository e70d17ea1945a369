/**
 * The gateway without HTTP: database (PostgreSQL or the embedded PGlite, migrated), rule book,
 * intake, and — when KAFKA_BROKERS is set — the Kafka ingress and the outbox relay. main.ts puts
 * the HTTP API in front of it; the end-to-end tests run main.ts as a process.
 */
import { HeadPublisher } from '@onebill/audit';
import {
  ArchiveSealer,
  type Db,
  failAbandonedAuditJobs,
  loadHeadSigningKey,
  migrate,
  openDb,
  outboxBacklog,
  recordOperatorAction,
} from '@onebill/ledger';
import {
  KafkaClient,
  type KafkaLogSink,
  type KafkaProducer,
  TOPIC_SPECS,
  Topics,
} from '@onebill/messaging';
import { RuleBook } from '@onebill/rules';
import { Authenticator, type Credential, hashToken, newToken } from './credentials';
import type { GatewayConfig } from './config';
import { IntakeService, type Outcome, type Source } from './intake.service';
import { GatewayMetrics } from './metrics';
import { KafkaIngress } from './kafka.ingress';
import { IdentityIngress } from './identity.ingress';
import { IdentityService } from './identity.service';
import type { Logger } from './log';
import { OutboxRelay } from './outbox.relay';

export interface Lag {
  topic: string;
  partition: number;
  lag: number;
}

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
  private identityIngress: IdentityIngress | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private sealTimer: NodeJS.Timeout | undefined;
  private sealing: Promise<void> = Promise.resolve();
  private lagCache: { at: number; value: Lag[] } | undefined;
  readonly metrics: GatewayMetrics;
  readonly identities: IdentityService;

  private constructor(
    readonly config: GatewayConfig,
    readonly db: Db,
    readonly rules: RuleBook,
    readonly intake: IntakeService,
    readonly auth: Authenticator,
    /** the token of the development credential, when one was created (embedded default) */
    readonly devToken: string | null,
    /** the embedded simulator's own credential (SIMULATOR_RATE > 0) */
    readonly simulatorToken: string | null,
    private readonly log: Logger,
  ) {
    this.metrics = new GatewayMetrics(
      new Map(rules.allHospitals().map((h) => [h.fixmedins_code, h.admdvs])),
      { lag: () => this.lag(), backlog: () => outboxBacklog(this.db) },
    );
    this.identities = new IdentityService(db, rules, log);
  }

  static async open(config: GatewayConfig, log: Logger): Promise<GatewayRuntime> {
    const rules = RuleBook.load();
    const db = await openDb({
      ...(config.databaseUrl === null ? {} : { databaseUrl: config.databaseUrl }),
      poolSize: config.dbPoolSize,
      dataDir: config.pgliteDir === ':memory:' ? null : config.pgliteDir,
    });
    try {
      const applied = await migrate(db);
      if (applied.length > 0) log.info('database migrated', { applied });
      const abandoned = await failAbandonedAuditJobs(db);
      if (abandoned > 0) log.warn('audit jobs of an earlier run marked failed', { abandoned });
    } catch (error) {
      await db.close();
      throw error;
    }
    const intake = new IntakeService(db, rules, log, {
      maxMessageBytes: config.maxMessageBytes,
    });
    let credentials: Credential[] = [];
    let devToken: string | null = null;
    if (config.credentialsFile !== null) {
      credentials = [...Authenticator.fromFile(config.credentialsFile).credentials];
    } else if (config.devCredential === 'auto') {
      devToken = newToken('operator');
      credentials = [
        {
          name: 'dev-operator',
          role: 'operator',
          fixmedinsCode: null,
          tokenSha256: hashToken(devToken),
        },
      ];
    }
    // the embedded simulator posts to our own API as a cashier's desk would: it gets a credential
    // of its own, never printed, that lives as long as this process
    let simulatorToken: string | null = null;
    if (config.simulatorRate > 0) {
      simulatorToken = newToken('operator');
      credentials.push({
        name: 'embedded-simulator',
        role: 'operator',
        fixmedinsCode: null,
        tokenSha256: hashToken(simulatorToken),
      });
    }
    return new GatewayRuntime(
      config,
      db,
      rules,
      intake,
      new Authenticator(credentials),
      devToken,
      simulatorToken,
      log,
    );
  }

  /** Counts an outcome and wakes the relay so its events leave at once. */
  record(outcome: Outcome, source = 'http', topic = 'http', seconds = 0): void {
    this.counters[outcome.status] += 1;
    this.metrics.record(outcome, source, topic, seconds);
    this.relay?.poke();
  }

  /** One message over HTTP or from the console, timed and counted like Kafka's. */
  async submit(raw: string, source: Source, route: string): Promise<Outcome> {
    const started = process.hrtime.bigint();
    const outcome = await this.intake.submit(raw, source);
    this.record(outcome, 'http', route, Number(process.hrtime.bigint() - started) / 1e9);
    return outcome;
  }

  /**
   * Records an operator's action in the append-only, archived audit log (docs/adr/0015). The
   * action has happened by now: a failure to record it is logged, not thrown at the caller.
   */
  async recordAction(
    who: { name: string; role: string },
    action: string,
    target: string | null,
    outcome: string | null,
    detail: Record<string, unknown> = {},
  ): Promise<void> {
    try {
      await recordOperatorAction(this.db, {
        actor: who.name,
        role: who.role,
        action,
        target,
        outcome,
        detail,
      });
    } catch (e) {
      this.log.warn('operator action not recorded', {
        action,
        actor: who.name,
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }

  /** Consumer lag of the gateway's group per topic and partition (cached for 2 s). */
  async lag(): Promise<Lag[]> {
    const client = this.client;
    if (client === undefined) return [];
    if (this.lagCache !== undefined && Date.now() - this.lagCache.at < 2000)
      return this.lagCache.value;
    const admin = client.admin();
    const value: Lag[] = [];
    for (const topic of [Topics.hisDischarge, Topics.hisAdmission]) {
      const [marks, committed] = await Promise.all([
        admin.watermarks(topic),
        admin.committedOffsets(this.config.kafkaGroupId, topic),
      ]);
      for (const m of marks) {
        const c = committed.find((x) => x.partition === m.partition)?.offset ?? '-1';
        const from = c === '-1' ? BigInt(m.low) : BigInt(c);
        const lag = BigInt(m.high) - from;
        value.push({ topic, partition: m.partition, lag: Number(lag > 0n ? lag : 0n) });
      }
    }
    this.lagCache = { at: Date.now(), value };
    return value;
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
        (topics) => {
          for (const topic of topics) this.metrics.published.inc({ topic });
        },
      );
      this.relay.start();
      this.ingress = new KafkaIngress(
        this.client,
        this.intake,
        this.log,
        this.config.kafkaGroupId,
        8,
        (o, m, seconds) => this.record(o, 'kafka', m.topic, seconds),
        this.config.kafkaPartitionsConcurrently,
      );
      await this.ingress.start();
      this.identityIngress = new IdentityIngress(
        this.client,
        this.identities,
        this.log,
        `${this.config.kafkaGroupId}-identity`,
        (o) => this.metrics.identityChanges.inc({ outcome: o.status }),
      );
      await this.identityIngress.start();
      await this.ingress.waitForJoin();
      await this.identityIngress.waitForJoin();
    }
    if (this.config.archiveSealMs > 0) {
      // each seal's head leaves the database signed: Kafka, the log, the auditor's heads file
      const heads = new HeadPublisher({
        log: this.log,
        key:
          this.config.archiveHeadsKeyFile === null
            ? null
            : loadHeadSigningKey(this.config.archiveHeadsKeyFile),
        file: this.config.archiveHeadsFile,
        producer: this.producer ?? null,
      });
      const sealer = new ArchiveSealer(this.db, undefined, async (head) => {
        await heads.publish(head);
      });
      this.sealTimer = setInterval(() => {
        this.sealing = this.sealing.then(async () => {
          try {
            const n = await sealer.tick();
            if (n > 0) this.metrics.archiveSealed.inc(n);
          } catch (e) {
            this.log.warn('archive sealing failed', {
              error: e instanceof Error ? e.message : String(e),
            });
          }
        });
      }, this.config.archiveSealMs);
      this.sealTimer.unref();
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

  /** Readiness of the store: a query answers. */
  async checkDatabase(): Promise<{ ok: boolean; detail: string }> {
    try {
      await this.db.query('SELECT 1');
      return { ok: true, detail: this.db.driver };
    } catch (e) {
      return { ok: false, detail: e instanceof Error ? e.message : String(e) };
    }
  }

  /** Readiness of Kafka: the broker answers and the consumer has joined its group. */
  async checkKafka(): Promise<{ ok: boolean; detail: string }> {
    if (this.config.kafkaBrokers === null) return { ok: true, detail: 'off (embedded mode)' };
    if (this.client === undefined || this.ingress === undefined)
      return { ok: false, detail: 'consumer not started' };
    try {
      await this.client.admin().watermarks(Topics.hisDischarge);
      return { ok: true, detail: 'broker answers, consumer joined' };
    } catch (e) {
      return { ok: false, detail: e instanceof Error ? e.message : String(e) };
    }
  }

  /** Stops taking messages (in-flight batches commit), drains the relay, closes everything. */
  async stop(): Promise<void> {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    if (this.sealTimer !== undefined) clearInterval(this.sealTimer);
    await this.ingress?.stop();
    this.ingress = undefined;
    await this.identityIngress?.stop();
    this.identityIngress = undefined;
    await this.relay?.stop();
    this.relay = undefined;
    await this.producer?.disconnect();
    this.producer = undefined;
    await this.client?.close();
    this.client = undefined;
    await this.report();
    await this.sealing;
    await this.db.close();
  }
}
