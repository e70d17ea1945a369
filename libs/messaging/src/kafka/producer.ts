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
 *
 * A failed send retires the kafkajs producer instance (docs/adr/0011): kafkajs rolls back the
 * sequence numbers of every partition of a failed request, even of those the broker appended, and
 * after a broker restart under load it can stay in OUT_OF_ORDER_SEQUENCE_NUMBER for good; fenced or
 * unknown producer ids and invalid epochs are fatal too. The next send creates a new producer (a new
 * producer id, sequences from 0) and the outbox sends the rows again. A send also fails in bounded
 * time (`sendTimeoutMs`, with bounded kafkajs retries) instead of waiting for the broker for ever,
 * so the relay backs off and health sees the outage.
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
   * kafkajs retries of a failed request within one send (default 5). kafkajs's idempotent default
   * is unbounded (KIP-98): a send then waits for the broker for ever, holding the relay's
   * transaction. Bounded, kafkajs warns once per producer that duplicates become possible; our
   * consumers dedupe by event id anyway.
   */
  retries?: number;
  /** Broker-side timeout of a produce request, ms (default 30 000). */
  timeoutMs?: number;
  /**
   * Wall-clock bound of one send, connecting included, ms (default 30 000). Past it the send fails
   * with a `transient` KafkaSendError and the producer instance is retired.
   */
  sendTimeoutMs?: number;
  /** Create topics on first use (default false: topics are created by ensureTopics). */
  allowAutoTopicCreation?: boolean;
}

/**
 * What a failed send means for the caller:
 * - `record`: the broker refuses a record itself (too large, invalid); sending it again fails
 *   again. The outbox relay isolates and parks it.
 * - `producer`: the producer instance is in a fatal state (sequence, epoch, producer id); it has
 *   been retired and the next send uses a new one.
 * - `transient`: the broker is unreachable, slow or has no leader; try again later.
 */
export type SendFailureKind = 'record' | 'producer' | 'transient';

/** kafkajs protocol error types of a record the broker will never take, whatever the producer. */
const RECORD_ERRORS = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TIMESTAMP',
]);

/** kafkajs protocol error types that leave an idempotent producer unusable. */
const PRODUCER_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'DUPLICATE_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_TXN_STATE',
  // kafkajs 2.2.4 does not know PRODUCER_FENCED (code 90) and reports it as an unknown code
  'PRODUCER_FENCED',
  'KAFKAJS_UNKNOWN_ERROR_CODE',
]);

export class KafkaSendError extends Error {
  constructor(
    message: string,
    readonly kind: SendFailureKind,
    /** the kafkajs protocol error type found in the cause chain, e.g. MESSAGE_TOO_LARGE */
    readonly type: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KafkaSendError';
  }
}

/** The first kafkajs protocol error type in an error's cause chain (kafkajs wraps them). */
function protocolTypeOf(error: unknown): string | null {
  let e: unknown = error;
  for (let depth = 0; depth < 8 && typeof e === 'object' && e !== null; depth += 1) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string') return type;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/** Sorts any error of a send into what the caller should do about it. */
export function classifySendError(error: unknown): KafkaSendError {
  if (error instanceof KafkaSendError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const type = protocolTypeOf(error);
  const kind: SendFailureKind =
    type !== null && RECORD_ERRORS.has(type)
      ? 'record'
      : type !== null && PRODUCER_ERRORS.has(type)
        ? 'producer'
        : 'transient';
  return new KafkaSendError(message, kind, type, { cause: error });
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

/** One kafkajs producer instance and its connection. */
interface Instance {
  producer: Producer;
  connected: Promise<void> | undefined;
}

export class KafkaProducer {
  private readonly idempotent: boolean;
  private readonly timeoutMs: number;
  private readonly sendTimeoutMs: number;
  private instance: Instance | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private retiring: Promise<void>[] = [];
  /** kafkajs producer instances retired after a failed send (a metric, and for tests) */
  resets = 0;
  /** the last send's failure, null once a send succeeded again */
  lastError: KafkaSendError | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: ProducerOptions = {},
  ) {
    this.idempotent = options.idempotent ?? true;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 30_000;
  }

  private current(): Instance {
    this.instance ??= {
      producer: this.kafka.producer({
        idempotent: this.idempotent,
        maxInFlightRequests: this.idempotent ? 1 : undefined,
        allowAutoTopicCreation: this.options.allowAutoTopicCreation ?? false,
        // The Java client's partitioner: the same key lands on the same partition as from Java.
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { retries: this.options.retries ?? 5 },
      }),
      connected: undefined,
    };
    return this.instance;
  }

  private connectInstance(instance: Instance): Promise<void> {
    instance.connected ??= instance.producer.connect().catch((error: unknown) => {
      instance.connected = undefined;
      throw error;
    });
    return instance.connected;
  }

  /** Connects once; `send` also connects on first use. */
  connect(): Promise<void> {
    return this.connectInstance(this.current());
  }

  /**
   * Takes the instance out of use; it is disconnected once `pending` (its abandoned send, if any)
   * settled, so kafkajs's own retries cannot reconnect it behind our back.
   */
  private retire(instance: Instance, pending: Promise<unknown>): void {
    if (this.instance !== instance) return;
    this.instance = undefined;
    this.resets += 1;
    const done = pending
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => instance.producer.disconnect())
      .catch(() => undefined);
    this.retiring.push(done);
    void done.then(() => {
      this.retiring = this.retiring.filter((p) => p !== done);
    });
  }

  /** Sends to one topic and resolves once the broker acknowledged every message. */
  async send(topic: string, messages: readonly OutboundMessage[]): Promise<DeliveredBatch[]> {
    return this.sendBatch([{ topic, messages }]);
  }

  /**
   * Sends to several topics in one request (one request per broker). Fails with a KafkaSendError
   * within `sendTimeoutMs`; after a failure the next send uses a new producer instance.
   */
  async sendBatch(batches: readonly TopicBatch[]): Promise<DeliveredBatch[]> {
    const topicMessages = batches
      .filter((batch) => batch.messages.length > 0)
      .map((batch) => ({ topic: batch.topic, messages: batch.messages.map(toKafkaMessage) }));
    if (topicMessages.length === 0) return [];
    const run = (): Promise<RecordMetadata[]> => this.attempt(topicMessages);
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

  private async attempt(
    topicMessages: { topic: string; messages: Message[] }[],
  ): Promise<RecordMetadata[]> {
    const instance = this.current();
    const pending = this.connectInstance(instance).then(() =>
      instance.producer.sendBatch({ acks: -1, timeout: this.timeoutMs, topicMessages }),
    );
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new KafkaSendError(
            `Kafka send did not complete within ${this.sendTimeoutMs} ms`,
            'transient',
            null,
          ),
        );
      }, this.sendTimeoutMs);
    });
    try {
      const metadata = await Promise.race([pending, deadline]);
      this.lastError = null;
      return metadata;
    } catch (error) {
      const failure = classifySendError(error);
      this.lastError = failure;
      // every failure: the sequence numbers kafkajs kept for this instance can no longer be
      // trusted (see the header comment); a non-idempotent producer is retired only when fatal
      if (this.idempotent || failure.kind === 'producer') this.retire(instance, pending);
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  }

  async disconnect(): Promise<void> {
    await this.queue;
    const instance = this.instance;
    this.instance = undefined;
    if (instance?.connected !== undefined) {
      await instance.connected.catch(() => undefined);
      await instance.producer.disconnect();
    }
    await Promise.all(this.retiring);
  }
}
