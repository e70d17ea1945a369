/**
 * What the controllers ask of the running gateway, as one Nest provider: the counters, a message
 * submitted over HTTP, readiness and lag, the operator's audit log, the relay's state. It owns
 * nothing it did not get from Nest: the store, the rule book, the intake, the monitor, the metrics
 * and the relay are providers of their own (app.module.ts), built and stopped by Nest in the order
 * of their dependencies (docs/adr/0018-nest-runtime-and-kafka-transport.md).
 */
import { Inject, Injectable, Optional } from '@nestjs/common';
import { Gauge } from 'prom-client';
import {
  type Db,
  lastSeenByHospital,
  outboxBacklog,
  outboxStatus,
  recordOperatorAction,
} from '@onebill/ledger';
import { Topics } from '@onebill/messaging';
import { RuleBook } from '@onebill/rules';
import { Authenticator, type Credential, hashToken, newToken } from './credentials';
import { GATEWAY_CONFIG, type GatewayConfig } from './config';
import { IntakeService, type Outcome, type Source } from './intake.service';
import { COMPONENTS, HealthMonitor, type Readiness } from './health.monitor';
import { GatewayMetrics } from './metrics';
import { IdentityService } from './identity.service';
import { Logger } from './log';
import { OutboxRelay, type OutboxRelayStatus } from './outbox.relay';
import type { FeedStatus } from './self-feed';
import { GatewayStore } from './store';

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

/** The credentials of this run: the configured ones, or a development one (embedded default). */
export class GatewayCredentials {
  private constructor(
    readonly auth: Authenticator,
    /** the token of the development credential, when one was created (embedded default) */
    readonly devToken: string | null,
    /** the embedded simulator's own credential (SIMULATOR_RATE > 0) */
    readonly simulatorToken: string | null,
  ) {}

  static fromConfig(config: GatewayConfig): GatewayCredentials {
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
    return new GatewayCredentials(new Authenticator(credentials), devToken, simulatorToken);
  }
}

/** The health monitor of the gateway's store and consumer groups (a provider's factory). */
export function healthMonitorOf(
  config: GatewayConfig,
  store: GatewayStore,
  log: Logger,
): HealthMonitor {
  return new HealthMonitor(
    store.db,
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
}

/**
 * The metrics (a provider's factory). /metrics answers from the monitor's last figures: a scrape
 * never waits on the broker or store.
 */
export function gatewayMetricsOf(
  store: GatewayStore,
  rules: RuleBook,
  monitor: HealthMonitor,
): GatewayMetrics {
  const db = store.db;
  const metrics = new GatewayMetrics(
    new Map(rules.allHospitals().map((h) => [h.fixmedins_code, h.admdvs])),
    {
      lag: () => Promise.resolve(monitor.lag()),
      backlog: () => Promise.resolve(monitor.backlog()),
      parked: async () => (await outboxStatus(db)).parked,
      lastSeen: () =>
        lastSeenByHospital(
          db,
          rules.allHospitals().map((h) => h.fixmedins_code),
        ),
    },
  );
  const registers = [metrics.registry];
  new Gauge({
    name: 'onebill_store_up',
    help: 'The ledger database answers (1) or is unavailable (0)',
    registers,
    collect() {
      this.set(db.health.up ? 1 : 0);
    },
  });
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
  return metrics;
}

@Injectable()
export class GatewayRuntime {
  readonly counters: Counters = {
    settled: 0,
    duplicate: 0,
    reversed: 0,
    admitted: 0,
    conflict: 0,
    rejected: 0,
  };
  private ticker: NodeJS.Timeout | undefined;
  /** the embedded simulator's state, when it runs (main.ts sets it) */
  feedStatus: () => FeedStatus | null = () => null;
  readonly db: Db;
  readonly auth: Authenticator;
  /** the token of the development credential, when one was created (embedded default) */
  readonly devToken: string | null;
  /** the embedded simulator's own credential (SIMULATOR_RATE > 0) */
  readonly simulatorToken: string | null;

  constructor(
    @Inject(GATEWAY_CONFIG) readonly config: GatewayConfig,
    @Inject(GatewayStore) store: GatewayStore,
    @Inject(RuleBook) readonly rules: RuleBook,
    @Inject(IntakeService) readonly intake: IntakeService,
    @Inject(IdentityService) readonly identities: IdentityService,
    @Inject(GatewayCredentials) credentials: GatewayCredentials,
    @Inject(GatewayMetrics) readonly metrics: GatewayMetrics,
    @Inject(HealthMonitor) readonly monitor: HealthMonitor,
    /** null without Kafka (embedded mode) */
    @Optional() @Inject(OutboxRelay) private readonly relay: OutboxRelay | null,
    @Inject(Logger) private readonly log: Logger,
  ) {
    this.db = store.db;
    this.auth = credentials.auth;
    this.devToken = credentials.devToken;
    this.simulatorToken = credentials.simulatorToken;
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

  /** Nest: the 'flow' line every STATS_INTERVAL_MS. */
  onApplicationBootstrap(): void {
    if (this.config.statsIntervalMs > 0) {
      this.ticker = setInterval(() => void this.report(), this.config.statsIntervalMs);
      this.ticker.unref();
    }
  }

  /** Nest: after the consumers drained (the transport closes first), the last 'flow' line. */
  async onApplicationShutdown(): Promise<void> {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
    await this.report();
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
}
