/**
 * The gateway's one Kafka client and producer, as a Nest provider (null members in embedded mode,
 * without KAFKA_BROKERS). `onModuleInit` creates the topics and hands the admin to the health
 * monitor; `onApplicationShutdown` closes the producer and the client, after the relay and the
 * sealer (which depend on it) have stopped, and before the store closes (which it depends on, by
 * way of the monitor). docs/adr/0018-nest-runtime-and-kafka-transport.md.
 */
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

export class KafkaConnection {
  readonly client: KafkaClient | null;
  readonly producer: KafkaProducer | null;

  constructor(
    config: GatewayConfig,
    log: Logger,
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
    await this.client.admin().ensureTopics(TOPIC_SPECS);
    this.monitor.attachKafka(this.client.admin());
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producer?.disconnect();
    await this.client?.close();
  }
}
