/**
 * The one entry point to Kafka for the rest of the project. Nothing outside libs/messaging imports
 * kafkajs: apps get producers, batch consumers and topic admin from here.
 */
import { Kafka } from 'kafkajs';
import { TopicAdmin } from './admin';
import {
  consoleLogSink,
  kafkaJsLogCreator,
  toKafkaJsLogLevel,
  type KafkaLogSink,
  type KafkaSettings,
} from './config';
import { KafkaBatchConsumer, type BatchConsumerOptions } from './consumer';
import { KafkaProducer, type ProducerOptions } from './producer';
import { type RangeBounds, type RangeResult, readRange } from './range-reader';
import type { InboundMessage } from './consumer';

export class KafkaClient {
  private readonly kafka: Kafka;
  private readonly sink: KafkaLogSink;
  private topicAdmin: TopicAdmin | undefined;

  constructor(readonly settings: KafkaSettings) {
    if (settings.brokers.length === 0) throw new Error('KafkaClient needs at least one broker');
    this.sink = settings.logSink ?? consoleLogSink;
    this.kafka = new Kafka({
      clientId: settings.clientId,
      brokers: settings.brokers,
      logLevel: toKafkaJsLogLevel(settings.logLevel),
      logCreator: kafkaJsLogCreator(this.sink),
      connectionTimeout: settings.connectionTimeoutMs ?? 3_000,
      requestTimeout: settings.requestTimeoutMs ?? 30_000,
    });
  }

  producer(options?: ProducerOptions): KafkaProducer {
    return new KafkaProducer(this.kafka, options);
  }

  batchConsumer(options: BatchConsumerOptions): KafkaBatchConsumer {
    return new KafkaBatchConsumer(this.kafka, options, this.sink);
  }

  /** Reads a topic between offsets or timestamps with a group of its own (audit). */
  readRange(
    bounds: RangeBounds,
    onMessages: (messages: InboundMessage[]) => Promise<void>,
  ): Promise<RangeResult> {
    return readRange(this.kafka, bounds, onMessages);
  }

  /** The shared admin connection (opened on first use, closed by `close()`). */
  admin(): TopicAdmin {
    this.topicAdmin ??= new TopicAdmin(this.kafka, this.sink);
    return this.topicAdmin;
  }

  /** Closes the shared admin connection. Producers and consumers are closed by their owners. */
  async close(): Promise<void> {
    const admin = this.topicAdmin;
    this.topicAdmin = undefined;
    if (admin) await admin.close();
  }
}
