import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { Topics } from '@onebill/messaging';
import { RuleBook } from '@onebill/rules';
import { AlertsController } from './alerts.controller';
import { ApiErrorsFilter } from './api-errors.filter';
import { ArchiveSealing } from './archive-sealing';
import { AuditController } from './audit.controller';
import { AuthGuard, Authenticator } from './auth';
import { GATEWAY_CONFIG, type GatewayConfig } from './config';
import { ConsoleController } from './console.controller';
import { ConsoleStateController } from './console-state.controller';
import { HealthController } from './health.controller';
import { HealthMonitor } from './health.monitor';
import { HttpController } from './http.controller';
import { IdentityController } from './identity.controller';
import { IdentityService } from './identity.service';
import { IntakeService } from './intake.service';
import { KafkaConnection } from './kafka.connection';
import { KafkaIntakeController } from './kafka.controller';
import { INTAKE_CHUNK, laneOf } from './kafka.ingress';
import { type IngressGroup, KafkaIngressTransport } from './kafka.transport';
import { Logger } from './log';
import { GatewayMetrics } from './metrics';
import { OutboxController } from './outbox.controller';
import { OutboxRelay } from './outbox.relay';
import { GatewayCredentials, GatewayRuntime, gatewayMetricsOf, healthMonitorOf } from './runtime';
import { GatewayStore } from './store';

/**
 * The Kafka transport's consumer groups: the intake (INTAKE_LANES lanes by person, each cut into
 * chunks of INTAKE_BATCH_SIZE settled in one transaction: group commit, docs/adr/0020) and the
 * identity feed.
 */
export function ingressGroups(
  config: GatewayConfig,
  log: Logger,
  intake: IntakeService,
): IngressGroup[] {
  return [
    {
      groupId: config.kafkaGroupId,
      topics: [Topics.hisDischarge, Topics.hisAdmission],
      lanes: config.intakeLanes,
      laneOf: laneOf(intake),
      chunks: { pattern: INTAKE_CHUNK, size: config.intakeBatchSize },
      partitionsConcurrently: config.kafkaPartitionsConcurrently,
      onGateWait: (waiting) =>
        waiting
          ? log.warn('kafka intake paused: waiting for the database')
          : log.info('kafka intake resumed: the database is back'),
    },
    {
      // issue 6: its own group; a partition's changes one after another (keyed by psn_no)
      groupId: `${config.kafkaGroupId}-identity`,
      topics: [Topics.identityChanges],
      lanes: 1,
      partitionsConcurrently: 3,
    },
  ];
}

/**
 * Every part of the gateway as a Nest provider, built from the one validated configuration
 * (GATEWAY_CONFIG) in the order of their dependencies, and stopped by Nest in the reverse order
 * (docs/adr/0018-nest-runtime-and-kafka-transport.md): on `app.close()` the HTTP server and the
 * Kafka transport close first (consumers stop, in-flight batches drain and commit), then the
 * `onApplicationShutdown` hooks run from the most dependent provider down: the runtime's last
 * flow line, the sealer, the outbox relay, the Kafka producer and client, and the store last.
 */
function providers(config: GatewayConfig): Provider[] {
  return [
    { provide: GATEWAY_CONFIG, useValue: config },
    {
      provide: Logger,
      useFactory: (c: GatewayConfig) => new Logger(c.logLevel, { service: 'gateway' }),
      inject: [GATEWAY_CONFIG],
    },
    {
      provide: GatewayStore,
      useFactory: (c: GatewayConfig, log: Logger) => GatewayStore.open(c, log),
      inject: [GATEWAY_CONFIG, Logger],
    },
    {
      provide: RuleBook,
      useFactory: (c: GatewayConfig) =>
        RuleBook.load({
          ...(c.figuresDir === null ? {} : { figuresDir: c.figuresDir }),
          ...(c.registryFile === null ? {} : { registryFile: c.registryFile }),
        }),
      inject: [GATEWAY_CONFIG],
    },
    {
      provide: IntakeService,
      useFactory: (store: GatewayStore, rules: RuleBook, log: Logger, c: GatewayConfig) =>
        new IntakeService(store.db, rules, log, { maxMessageBytes: c.maxMessageBytes }),
      inject: [GatewayStore, RuleBook, Logger, GATEWAY_CONFIG],
    },
    {
      provide: IdentityService,
      useFactory: (store: GatewayStore, rules: RuleBook, log: Logger) =>
        new IdentityService(store.db, rules, log),
      inject: [GatewayStore, RuleBook, Logger],
    },
    {
      provide: GatewayCredentials,
      useFactory: (c: GatewayConfig) => GatewayCredentials.fromConfig(c),
      inject: [GATEWAY_CONFIG],
    },
    {
      provide: Authenticator,
      useFactory: (credentials: GatewayCredentials) => credentials.auth,
      inject: [GatewayCredentials],
    },
    {
      provide: HealthMonitor,
      useFactory: healthMonitorOf,
      inject: [GATEWAY_CONFIG, GatewayStore, Logger],
    },
    {
      provide: GatewayMetrics,
      useFactory: gatewayMetricsOf,
      inject: [GatewayStore, RuleBook, HealthMonitor],
    },
    {
      provide: KafkaConnection,
      useFactory: (
        c: GatewayConfig,
        log: Logger,
        store: GatewayStore,
        monitor: HealthMonitor,
        m: GatewayMetrics,
      ) => new KafkaConnection(c, log, store, monitor, m),
      inject: [GATEWAY_CONFIG, Logger, GatewayStore, HealthMonitor, GatewayMetrics],
    },
    {
      // without Kafka (embedded mode) there is no relay: the outbox waits
      provide: OutboxRelay,
      useFactory: (
        store: GatewayStore,
        kafka: KafkaConnection,
        metrics: GatewayMetrics,
        log: Logger,
        c: GatewayConfig,
      ) =>
        kafka.producer === null
          ? null
          : new OutboxRelay(store.db, kafka.producer, log, {
              batchSize: c.outboxBatch,
              maxBatchBytes: c.outboxMaxBatchBytes,
              idleMs: c.outboxPollMs,
              onPublished: (topics) => {
                for (const topic of topics) metrics.published.inc({ topic });
              },
              onParked: ({ topic }) => metrics.outboxParked.inc({ topic }),
            }),
      inject: [GatewayStore, KafkaConnection, GatewayMetrics, Logger, GATEWAY_CONFIG],
    },
    {
      provide: ArchiveSealing,
      useFactory: (
        c: GatewayConfig,
        store: GatewayStore,
        kafka: KafkaConnection,
        metrics: GatewayMetrics,
        log: Logger,
      ) => new ArchiveSealing(c, store, kafka, metrics, log),
      inject: [GATEWAY_CONFIG, GatewayStore, KafkaConnection, GatewayMetrics, Logger],
    },
    GatewayRuntime,
    {
      // main.ts connects it (app.connectMicroservice({ strategy })); null in embedded mode
      provide: KafkaIngressTransport,
      useFactory: (
        c: GatewayConfig,
        kafka: KafkaConnection,
        store: GatewayStore,
        log: Logger,
        intake: IntakeService,
      ) =>
        kafka.client === null
          ? null
          : new KafkaIngressTransport({
              client: kafka.client,
              groups: ingressGroups(c, log, intake),
              gate: store.gate,
              log,
            }),
      inject: [GATEWAY_CONFIG, KafkaConnection, GatewayStore, Logger, IntakeService],
    },
    { provide: APP_GUARD, useClass: AuthGuard },
    {
      provide: APP_FILTER,
      useFactory: (c: GatewayConfig, log: Logger) =>
        new ApiErrorsFilter(c.maxMessageBytes, (e) =>
          log.error('unhandled error in an HTTP request', {
            error: e instanceof Error ? e.message : String(e),
          }),
        ),
      inject: [GATEWAY_CONFIG, Logger],
    },
  ];
}

/**
 * The gateway: HTTP API, Kafka handlers and every service behind them. Every HTTP route passes the
 * AuthGuard: it is @Public() or names its roles with @Allow(...); anything else is refused.
 */
@Module({})
export class GatewayModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [
        HttpController,
        ConsoleController,
        ConsoleStateController,
        HealthController,
        AuditController,
        IdentityController,
        OutboxController,
        AlertsController,
        KafkaIntakeController,
      ],
      providers: providers(config),
    };
  }
}
