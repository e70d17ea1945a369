/**
 * The gateway without HTTP: database (PostgreSQL or the embedded PGlite, migrated), rule book,
 * intake, and — when KAFKA_BROKERS is set — the Kafka ingress and the outbox relay. main.ts puts
 * the HTTP API in front of it; the end-to-end tests run main.ts as a process.
 */
import { Gauge } from 'prom-client';
import { HeadPublisher } from '@onebill/audit';
import {
  ArchiveSealer,
  type Db,
  failAbandonedAuditJobs,
  lastSeenByHospital,
  loadHeadSigningKey,
  migrate,
  openDb,
  outboxBacklog,
  outboxStatus,
  recordOperatorAction,
} from '@onebill/ledger';
import {
  KafkaClient,
  type KafkaLogSink,
  type KafkaProducer,
  type ReadinessGate,
  TOPIC_SPECS,
  Topics,
} from '@onebill/messaging';
import { RuleBook } from '@onebill/rules';
import { Authenticator, type Credential, hashToken, newToken } from './credentials';
import type { GatewayConfig } from './config';
import { IntakeService, type Outcome, type Source } from './intake.service';
import { COMPONENTS, HealthMonitor, type Readiness } from './health.monitor';
import { GatewayMetrics } from './metrics';
import { KafkaIngress } from './kafka.ingress';
import { IdentityIngress } from './identity.ingress';
import { IdentityService } from './identity.service';
import type { Logger } from './log';
import { OutboxRelay, type OutboxRelayStatus } from './outbox.relay';
import type { FeedStatus } from './self-feed';

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
  private sealFailing = false;
  readonly metrics: GatewayMetrics;
  readonly identities: IdentityService;
  /** the embedded simulator's state, when it runs (main.ts sets it) */
  feedStatus: () => FeedStatus | null = () => null;
  readonly monitor: HealthMonitor;
  /** Kafka batches wait while the store is down (docs/adr/0010) */
  private readonly gate: ReadinessGate;

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
    this.monitor = new HealthMonitor(
      db,
      null,
      {
        intervalMs: config.healthIntervalMs,
        consumerStallMs: config.consumerStallMs,
        relayStallMs: config.relayStallMs,
        groups: [
          { group: config.kafkaGroupId, topics: [Topics.hisDischarge, Topics.hisAdmission] },
          { group: `${config.kafkaGroupId}-identity`, topics: [Topics.identityChanges] },
        ],
      },
      log,
    );
    // /metrics answers from the monitor's last figures: a scrape never waits on the broker or store
    this.metrics = new GatewayMetrics(
      new Map(rules.allHospitals().map((h) => [h.fixmedins_code, h.admdvs])),
      {
        lag: () => this.lag(),
        backlog: () => Promise.resolve(this.monitor.backlog()),
        parked: async () => (await outboxStatus(this.db)).parked,
        lastSeen: () =>
          lastSeenByHospital(
            this.db,
            rules.allHospitals().map((h) => h.fixmedins_code),
          ),
      },
    );
    const registers = [this.metrics.registry];
    new Gauge({
      name: 'onebill_store_up',
      help: 'The ledger database answers (1) or is unavailable (0)',
      registers,
      collect() {
        this.set(db.health.up ? 1 : 0);
      },
    });
    const monitor = this.monitor;
    new Gauge({
      name: 'onebill_ready',
      help: 'Readiness of each component (1 up, 0 down), as /health/ready reports it',
      labelNames: ['component'],
      registers,
      collect() {
        const r = monitor.readiness();
        for (const c of COMPONENTS) this.set({ component: c }, r[c].status === 'up' ? 1 : 0);
      },
    });
    this.gate = {
      isReady: () => db.health.up,
      whenReady: (signal) => db.health.whenUp(signal),
    };
    db.health.onChange((state) => {
      if (state.status === 'down')
        log.error('database unavailable; pausing intake until it answers', {
          reason: state.reason,
        });
      else log.info('database available again; resuming');
    });
    this.identities = new IdentityService(db, rules, log);
  }

  static async open(config: GatewayConfig, log: Logger): Promise<GatewayRuntime> {
    const rules = RuleBook.load();
    const db = await openDb({
      ...(config.databaseUrl === null ? {} : { databaseUrl: config.databaseUrl }),
      poolSize: config.dbPoolSize,
      pg: {
        connectTimeoutMs: config.dbConnectTimeoutMs,
        queryTimeoutMs: config.dbQueryTimeoutMs,
        probeIntervalMs: config.dbProbeIntervalMs,
      },
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

  /** What the outbox relay has been doing (null without Kafka), for health; docs/adr/0011. */
  relayStatus(): OutboxRelayStatus | null {
    return this.relay?.status() ?? null;
  }

  /** Wakes the relay (e.g. after parked events were put back in its queue). */
  pokeRelay(): void {
    this.relay?.poke();
  }

  /** One message over HTTP or from the console, timed and counted like Kafka's. */
  async submit(raw: Buffer | string, source: Source, route: string): Promise<Outcome> {
    const started = process.hrtime.bigint();
    const outcome = await this.intake.submit(raw, source);
    this.record(outcome, 'http', route, Number(process.hrtime.bigint() - started) / 1e9);
    return outcome;
  }

  /** Consumer lag of the gateway's groups per topic and partition, as the monitor last saw it. */
  lag(): Promise<Lag[]> {
    return Promise.resolve(this.monitor.lag());
  }

  /** Every component's state, from the background monitor (answers at once). */
  readiness(): Readiness {
    return this.monitor.readiness();
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
      this.monitor.attachKafka(this.client.admin());
      this.producer = this.client.producer({ sendTimeoutMs: this.config.kafkaSendTimeoutMs });
      const producer = this.producer;
      this.metrics.watchProducer(() => producer.resets);
      this.relay = new OutboxRelay(this.db, this.producer, this.log, {
        batchSize: this.config.outboxBatch,
        maxBatchBytes: this.config.outboxMaxBatchBytes,
        idleMs: this.config.outboxPollMs,
        onPublished: (topics) => {
          for (const topic of topics) this.metrics.published.inc({ topic });
        },
        onParked: ({ topic }) => this.metrics.outboxParked.inc({ topic }),
      });
      this.relay.start();
      this.ingress = new KafkaIngress(
        this.client,
        this.intake,
        this.log,
        this.config.kafkaGroupId,
        8,
        (o, m, seconds) => this.record(o, 'kafka', m.topic, seconds),
        this.config.kafkaPartitionsConcurrently,
        this.gate,
      );
      await this.ingress.start();
      this.identityIngress = new IdentityIngress(
        this.client,
        this.identities,
        this.log,
        `${this.config.kafkaGroupId}-identity`,
        (o) => this.metrics.identityChanges.inc({ outcome: o.status }),
        this.gate,
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
        // during an outage the sealer waits quietly: the store's state is logged once
        if (!this.db.health.up) return;
        this.sealing = this.sealing.then(async () => {
          try {
            const n = await sealer.tick();
            if (n > 0) this.metrics.archiveSealed.inc(n);
            this.sealFailing = false;
          } catch (e) {
            // one line per run of failures, not one per tick
            if (!this.sealFailing)
              this.log.warn('archive sealing failed; retrying every tick', {
                error: e instanceof Error ? e.message : String(e),
              });
            this.sealFailing = true;
          }
        });
      }, this.config.archiveSealMs);
      this.sealTimer.unref();
    }
    this.monitor.start();
    if (this.config.statsIntervalMs > 0) {
      this.ticker = setInterval(() => void this.report(), this.config.statsIntervalMs);
      this.ticker.unref();
    }
  }

  private async report(): Promise<void> {
    if (!this.db.health.up) return;
    try {
      const backlog = await outboxBacklog(this.db);
      const feed = this.feedStatus();
      this.log.info('flow', {
        ...this.counters,
        outboxBacklog: backlog,
        ...(feed === null
          ? {}
          : { feed: feed.phase, feedRetries: feed.retries, feedLastError: feed.lastError }),
      });
    } catch (e) {
      this.log.warn('flow report failed', { error: e instanceof Error ? e.message : String(e) });
    }
  }

  /** Stops taking messages (in-flight batches commit), drains the relay, closes everything. */
  async stop(): Promise<void> {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.monitor.stop();
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
