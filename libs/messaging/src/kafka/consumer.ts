/**
 * Our batch consumer over kafkajs `eachBatch`, with the commit rule of the gateway: the offset of a
 * batch is committed only after the handler's promise resolved, i.e. after the handler's database
 * transaction committed. kafkajs runs with `autoCommit: false` and `eachBatchAutoResolve: false`,
 * so nothing else moves the group's offsets.
 *
 * - A handler that throws leaves the batch uncommitted: kafkajs retries it with back-off in this
 *   process, then restarts the consumer, and after a rebalance or restart the group gets it again.
 *   Handlers therefore throw only for transient failures (database down); a message that can never
 *   be processed must be turned into a reject by the handler, or its partition stops.
 * - Long batches: the consumer heartbeats on a timer while the handler runs, so the group does not
 *   evict it.
 * - `stop()` lets in-flight batches finish and commit (up to `drainTimeoutMs`), hands out no new
 *   batch, then leaves the group. A batch still running at the deadline is abandoned uncommitted
 *   (its AbortSignal fires) and will be redelivered; the database makes that harmless.
 * - `gate` (the store's state, docs/adr/0010): a batch waits for it before its handler runs, and
 *   a handler calls `batch.whenReady()` to wait again when the store goes away mid-batch. While it
 *   waits the consumer heartbeats, so the group keeps the partition; `stop()` or a rebalance ends
 *   the wait at once and the batch is abandoned uncommitted. Nothing is retried into a reject and
 *   kafkajs does not restart the consumer over an outage.
 */
import {
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  type Kafka,
  type KafkaMessage,
  type RetryOptions,
} from 'kafkajs';
import type { KafkaLogSink } from './config';

export interface InboundMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Header values as bytes; a repeated header keeps its last value. */
  headers: Record<string, Buffer>;
  /** Milliseconds since the epoch, as the broker or producer stamped it. */
  timestamp: string;
}

export interface InboundBatch {
  topic: string;
  partition: number;
  messages: readonly InboundMessage[];
  highWatermark: string;
  /** Fires when `stop()` gives up waiting for this batch: its offsets will not be committed. */
  signal: AbortSignal;
  /** Heartbeats now (the consumer also does it on a timer while the handler runs). */
  heartbeat(): Promise<void>;
  /**
   * Resolves when the consumer's gate is open (at once without a gate). If the consumer stops or
   * loses the partition meanwhile, the batch is abandoned (`signal` fires) and this rejects.
   */
  whenReady(): Promise<void>;
}

/** What the batches of a consumer need before they run (e.g. the database being up). */
export interface ReadinessGate {
  isReady(): boolean;
  /** Resolves when ready; rejects with the signal's reason if it fires first. */
  whenReady(signal: AbortSignal): Promise<void>;
}

export type BatchHandler = (batch: InboundBatch) => Promise<void>;

export interface BatchConsumerOptions {
  groupId: string;
  topics: readonly string[];
  handler: BatchHandler;
  /** Where a group with no committed offset starts (default true: nothing is skipped). */
  fromBeginning?: boolean;
  /** Partitions handled at the same time (default 1). */
  partitionsConsumedConcurrently?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Upper bound of a fetch per partition, bytes (default 1 MiB). */
  maxBytesPerPartition?: number;
  /** How long a fetch waits for data, ms (default 500). */
  maxWaitTimeMs?: number;
  /** How long `stop()` waits for in-flight batches (default 30 000 ms). */
  drainTimeoutMs?: number;
  /** kafkajs's retry of a failing batch before it restarts the consumer. */
  retry?: RetryOptions;
  /** Called when kafkajs gives up on the consumer (`willRestart` false: it stays down). */
  onCrash?: (error: Error, willRestart: boolean) => void;
  /** Batches wait for this before (and, via `whenReady`, during) their handler. */
  gate?: ReadinessGate;
  /** Called once when batches start waiting for the gate, and once when they go on. */
  onGateWait?: (waiting: boolean) => void;
}

export interface Assignment {
  topic: string;
  partitions: number[];
}

function headerBytes(headers: IHeaders | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value !== undefined) out[name] = typeof value === 'string' ? Buffer.from(value) : value;
  }
  return out;
}

function toInbound(topic: string, partition: number, message: KafkaMessage): InboundMessage {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers: headerBytes(message.headers),
    timestamp: message.timestamp,
  };
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('batch abandoned');
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

interface InFlight {
  done: Promise<void>;
  abort: AbortController;
  /** waiting for the gate: stop() abandons it at once */
  waiting: boolean;
}

export class KafkaBatchConsumer {
  private readonly consumer: Consumer;
  private readonly drainTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly inFlight = new Set<InFlight>();
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private assignment: Assignment[] = [];
  private joinWaiters: Array<() => void> = [];
  private joined = false;
  private gateWaiting = 0;

  constructor(
    kafka: Kafka,
    private readonly options: BatchConsumerOptions,
    private readonly sink: KafkaLogSink,
  ) {
    this.drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 3_000;
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: this.heartbeatIntervalMs,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 500,
      allowAutoTopicCreation: false,
      ...(options.retry ? { retry: options.retry } : {}),
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      this.assignment = Object.entries(event.payload.memberAssignment).map(
        ([topic, partitions]) => ({
          topic,
          partitions: [...partitions].sort((a, b) => a - b),
        }),
      );
      this.joined = true;
      const waiters = this.joinWaiters;
      this.joinWaiters = [];
      for (const wake of waiters) wake();
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      this.sink.error(
        `[kafka] consumer ${options.groupId} crashed (${restart ? 'restarting' : 'not restarting'}): ${describe(error)}`,
      );
      options.onCrash?.(error, restart);
    });
  }

  get groupId(): string {
    return this.options.groupId;
  }

  /** Topic-partitions this member holds since its last group join. */
  assignments(): Assignment[] {
    return this.assignment.map((a) => ({ topic: a.topic, partitions: [...a.partitions] }));
  }

  /** Connects, subscribes and starts fetching; resolves before the group join completes. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`consumer ${this.groupId} was already started`);
    this.state = 'running';
    await this.consumer.connect();
    await this.consumer.subscribe({
      topics: [...this.options.topics],
      fromBeginning: this.options.fromBeginning ?? true,
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /** Resolves once this member has joined the group (after `start()`), or rejects at the deadline. */
  waitForJoin(timeoutMs = 60_000): Promise<void> {
    if (this.joined) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.joinWaiters = this.joinWaiters.filter((w) => w !== wake);
        reject(new Error(`consumer ${this.groupId} did not join its group within ${timeoutMs} ms`));
      }, timeoutMs);
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.joinWaiters.push(wake);
    });
  }

  /**
   * Graceful stop: no new batch starts, in-flight batches finish and commit (up to
   * `drainTimeoutMs`, after which they are abandoned uncommitted), then the member leaves the group.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    const started = this.state === 'running';
    this.state = 'stopping';
    if (started) {
      try {
        this.consumer.pause(this.options.topics.map((topic) => ({ topic })));
      } catch (error) {
        this.sink.debug?.(`[kafka] pause before stop failed: ${describe(error)}`);
      }
      // batches waiting for the gate have done nothing since their last commit: leave them now
      for (const f of this.inFlight) if (f.waiting) f.abort.abort(new Error('consumer stopping'));
      await this.drain();
    }
    try {
      await this.consumer.disconnect();
    } finally {
      this.state = 'stopped';
    }
  }

  private async drain(): Promise<void> {
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.drainTimeoutMs);
    });
    const all = Promise.allSettled([...this.inFlight].map((f) => f.done)).then(
      () => 'drained' as const,
    );
    const outcome = await Promise.race([all, deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.sink.warn(
        `[kafka] consumer ${this.groupId}: ${this.inFlight.size} batch(es) still running after ${this.drainTimeoutMs} ms; abandoned uncommitted (they will be redelivered)`,
      );
      for (const f of this.inFlight) f.abort.abort(new Error('consumer stopping'));
      await Promise.allSettled([...this.inFlight].map((f) => f.done));
    }
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    // Not ours any more, or we are stopping: leave the batch unresolved; it will be fetched again.
    if (this.state !== 'running' || !payload.isRunning() || payload.isStale()) return;
    if (batch.messages.length === 0) return;
    const abort = new AbortController();
    const flight: InFlight = { abort, waiting: false, done: Promise.resolve() };
    flight.done = this.process(payload, flight);
    this.inFlight.add(flight);
    try {
      await flight.done;
    } finally {
      this.inFlight.delete(flight);
    }
  }

  /** Waits for the gate, heartbeating; a stop or a failed heartbeat (rebalance) abandons the batch. */
  private async whenReady(payload: EachBatchPayload, flight: InFlight): Promise<void> {
    const gate = this.options.gate;
    const { signal } = flight.abort;
    if (signal.aborted) throw abortError(signal);
    if (gate === undefined || gate.isReady()) return;
    if (this.state !== 'running') {
      flight.abort.abort(new Error('consumer stopping'));
      throw abortError(signal);
    }
    // process() heartbeats on its timer meanwhile, and abandons the batch if that fails
    flight.waiting = true;
    if (this.gateWaiting++ === 0) this.options.onGateWait?.(true);
    try {
      await gate.whenReady(signal);
    } finally {
      flight.waiting = false;
      if (--this.gateWaiting === 0) this.options.onGateWait?.(false);
    }
  }

  private async process(payload: EachBatchPayload, flight: InFlight): Promise<void> {
    const { abort } = flight;
    const { batch } = payload;
    const messages = batch.messages.map((m) => toInbound(batch.topic, batch.partition, m));
    const last = messages[messages.length - 1];
    if (!last) return;

    const heartbeat = async (): Promise<void> => {
      if (!abort.signal.aborted) await payload.heartbeat();
    };
    const timer = setInterval(() => {
      heartbeat().catch((error: unknown) => {
        // A rebalance is under way: the commit below will fail and kafkajs will rejoin.
        this.sink.debug?.(`[kafka] heartbeat during batch failed: ${describe(error)}`);
        // a batch that only waits for the gate gives its partition back rather than hold the
        // rejoin up
        if (flight.waiting) abort.abort(new Error(`heartbeat failed: ${describe(error)}`));
      });
    }, this.heartbeatIntervalMs);

    const aborted = new Promise<'aborted'>((resolve) => {
      if (abort.signal.aborted) resolve('aborted');
      abort.signal.addEventListener('abort', () => resolve('aborted'), { once: true });
    });
    const whenReady = (): Promise<void> => this.whenReady(payload, flight);
    let outcome: 'done' | 'aborted';
    try {
      const ready = whenReady().then(
        () => 'ready' as const,
        () => 'aborted' as const,
      );
      if ((await ready) === 'aborted') return;
      const handled = this.options.handler({
        topic: batch.topic,
        partition: batch.partition,
        messages,
        highWatermark: batch.highWatermark,
        signal: abort.signal,
        heartbeat,
        whenReady,
      });
      // If we give up on it, the handler's late failure must not become an unhandled rejection.
      handled.catch(() => undefined);
      outcome = await Promise.race([handled.then(() => 'done' as const), aborted]);
    } catch (error) {
      if (abort.signal.aborted) return; // abandoned (stop, rebalance): redelivered, not a failure
      this.sink.error(
        `[kafka] handler failed on ${batch.topic}[${batch.partition}] offsets ${messages[0]?.offset}..${last.offset}; not committed: ${describe(error)}`,
      );
      throw error;
    } finally {
      clearInterval(timer);
    }
    if (outcome === 'aborted') return;

    // The handler's work is durable: only now move and commit the group's offset.
    // resolveOffset also steps over trailing control records; read the result back from kafkajs.
    payload.resolveOffset(last.offset);
    const next = payload
      .uncommittedOffsets()
      .topics.find((t) => t.topic === batch.topic)
      // kafkajs reports partitions here as object keys, i.e. strings.
      // eslint-disable-next-line no-restricted-syntax -- a partition number, not money
      ?.partitions.find((p) => Number(p.partition) === batch.partition)?.offset;
    if (next === undefined) return;
    await payload.commitOffsetsIfNecessary({
      topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }],
    });
  }
}
