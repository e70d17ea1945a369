/**
 * The gateway's one Kafka client and producer, as a Nest provider (null members in embedded mode,
 * without KAFKA_BROKERS). `onModuleInit` creates the topics, binds the database to the broker's
 * cluster (a database holds one cluster's record positions: docs/adr/0022) and hands the admin to
 * the health monitor; `onApplicationShutdown` closes the producer and the client, after the relay and the
 * sealer (which depend on it) have stopped, and before the store closes (which it depends on, by
 * way of the monitor). docs/adr/0018-nest-runtime-and-kafka-transport.md.
 */
import { bindKafkaCluster } from '@onebill/ledger';
import {
  KafkaClient,
  type KafkaLogSink,
  type KafkaProducer,
  TOPIC_SPECS,
} from '@onebill/messaging';
import type { GatewayConfig } from './config';
import type { HealthMonitor } from './health.monitor';
import type { Logger } from './log';
import type { GatewayMetrics } from './metrics';
import type { GatewayStore } from './store';

export class KafkaConnection {
  readonly client: KafkaClient | null;
  readonly producer: KafkaProducer | null;

  constructor(
    config: GatewayConfig,
    private readonly log: Logger,
    private readonly store: GatewayStore,
    private readonly monitor: HealthMonitor,
    metrics: GatewayMetrics,
  ) {
    const brokers = config.kafkaBrokers;
    if (brokers === null) {
      this.client = null;
      this.producer = null;
      return;
    }
    const sink: KafkaLogSink = {
      error: (m) => log.error(m),
      warn: (m) => log.warn(m),
      log: (m) => log.debug(m),
      debug: (m) => log.debug(m),
    };
    this.client = new KafkaClient({
      brokers,
      clientId: config.kafkaClientId,
      logLevel: 'warn',
      logSink: sink,
    });
    const producer = this.client.producer({ sendTimeoutMs: config.kafkaSendTimeoutMs });
    this.producer = producer;
    metrics.watchProducer(() => producer.resets);
  }

  async onModuleInit(): Promise<void> {
    if (this.client === null) return;
    const admin = this.client.admin();
    await admin.ensureTopics(TOPIC_SPECS);
    // before any record is read or any event published: the database's Kafka positions must be
    // this cluster's (docs/adr/0022); another cluster's throws KafkaClusterMismatchError
    const clusterId = await admin.clusterId();
    const { boundNow } = await bindKafkaCluster(this.store.db, clusterId);
    if (boundNow) this.log.info('database bound to the Kafka cluster', { cluster: clusterId });
    this.monitor.attachKafka(admin);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producer?.disconnect();
    await this.client?.close();
  }
}
