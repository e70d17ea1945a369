/**
 * Our producer: `send` resolves only when the broker has acknowledged the messages on all in-sync
 * replicas (acks = -1). It is idempotent by default (the broker drops a retried duplicate within a
 * producer session), without Kafka transactions (see DESIGN.md, known traps).
 *
 * kafkajs 2.2.4's idempotent producer keeps one sequence number per partition and is known to lose
 * or reject messages when several `send` calls run at once (kafkajs issues #598 and #1005,
 * OUT_OF_ORDER_SEQUENCE_NUMBER). So: `maxInFlightRequests: 1`, and this wrapper queues its sends so
 * that one request is in flight at a time. Put many messages in one `send` for throughput.
 * Delivery to consumers is still at-least-once across producer restarts: consumers dedupe by the
 * event id that the outbox puts in the `event-id` header.
 */
import {
  Partitioners,
  type Kafka,
  type Message,
  type Producer,
  type RecordMetadata,
} from 'kafkajs';

export type MessageBody = Buffer | string;

export interface OutboundMessage {
  key?: MessageBody | null;
  value: MessageBody;
  headers?: Record<string, MessageBody>;
  /** Pins a partition; normally left out so the key decides (murmur2, as the Java client). */
  partition?: number;
  /** Milliseconds since the epoch, as a string; default: now. */
  timestamp?: string;
}

export interface TopicBatch {
  topic: string;
  messages: readonly OutboundMessage[];
}

export interface DeliveredBatch {
  topic: string;
  partition: number;
  /** Offset of the first message of this topic-partition in the request. */
  baseOffset: string;
}

export interface ProducerOptions {
  /** Default true. */
  idempotent?: boolean;
  /**
   * kafkajs retries of a failed request. The idempotent default is unbounded (KIP-98): a send then
   * waits for the broker to come back rather than fail. Set a bound to surface outages (kafkajs
   * then warns that duplicates become possible; our consumers dedupe anyway).
   */
  retries?: number;
  /** Broker-side timeout of a produce request, ms (default 30 000). */
  timeoutMs?: number;
  /** Create topics on first use (default false: topics are created by ensureTopics). */
  allowAutoTopicCreation?: boolean;
}

function toKafkaMessage(message: OutboundMessage): Message {
  return {
    key: message.key ?? null,
    value: message.value,
    ...(message.headers ? { headers: { ...message.headers } } : {}),
    ...(message.partition === undefined ? {} : { partition: message.partition }),
    ...(message.timestamp === undefined ? {} : { timestamp: message.timestamp }),
  };
}

export class KafkaProducer {
  private readonly producer: Producer;
  private readonly idempotent: boolean;
  private readonly timeoutMs: number;
  private connecting: Promise<void> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(kafka: Kafka, options: ProducerOptions = {}) {
    this.idempotent = options.idempotent ?? true;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.producer = kafka.producer({
      idempotent: this.idempotent,
      maxInFlightRequests: this.idempotent ? 1 : undefined,
      allowAutoTopicCreation: options.allowAutoTopicCreation ?? false,
      // The Java client's partitioner: the same key lands on the same partition as from Java.
      createPartitioner: Partitioners.DefaultPartitioner,
      ...(options.retries === undefined ? {} : { retry: { retries: options.retries } }),
    });
  }

  /** Connects once; `send` also connects on first use. */
  connect(): Promise<void> {
    this.connecting ??= this.producer.connect().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  /** Sends to one topic and resolves once the broker acknowledged every message. */
  async send(topic: string, messages: readonly OutboundMessage[]): Promise<DeliveredBatch[]> {
    return this.sendBatch([{ topic, messages }]);
  }

  /** Sends to several topics in one request (one request per broker). */
  async sendBatch(batches: readonly TopicBatch[]): Promise<DeliveredBatch[]> {
    const topicMessages = batches
      .filter((batch) => batch.messages.length > 0)
      .map((batch) => ({ topic: batch.topic, messages: batch.messages.map(toKafkaMessage) }));
    if (topicMessages.length === 0) return [];
    await this.connect();
    const run = (): Promise<RecordMetadata[]> =>
      this.producer.sendBatch({ acks: -1, timeout: this.timeoutMs, topicMessages });
    // Serialise: one produce request in flight per idempotent producer (see the header comment).
    const result = this.idempotent ? this.queue.then(run, run) : run();
    this.queue = result.catch(() => undefined);
    const metadata = await result;
    return metadata.map((m) => ({
      topic: m.topicName,
      partition: m.partition,
      baseOffset: m.baseOffset ?? m.offset ?? '-1',
    }));
  }

  async disconnect(): Promise<void> {
    if (!this.connecting) return;
    await this.queue;
    this.connecting = undefined;
    await this.producer.disconnect();
  }
}
