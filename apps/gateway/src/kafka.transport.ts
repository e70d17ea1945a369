/**
 * The Kafka ingress as a Nest microservice transport (`CustomTransportStrategy`, a `Server` of
 * @nestjs/microservices): the handlers are `@EventPattern(topic)` methods of a controller
 * (kafka.controller.ts), found by Nest and registered here; this transport runs our
 * KafkaBatchConsumer (libs/messaging) under them and keeps the gateway's rules
 * (docs/adr/0005, 0010, 0018):
 *
 * - a batch's offsets are committed only after every message of it was handled, i.e. after each
 *   message's database transaction committed: the consumer commits when the batch handler
 *   resolves, and the batch handler resolves when every `@EventPattern` handler's result did;
 * - within a batch, messages run in parallel lanes; the group's `laneOf` picks the lane (by
 *   person), so the messages of one key keep their order; `lanes: 1` handles a batch in order;
 * - a group with `chunks` (the intake, group commit: docs/adr/0020) hands each lane's messages to
 *   ONE `@EventPattern(chunks.pattern)` handler, `chunks.size` at a time, in order (a chunk's
 *   payload is its messages, `@Ctx()` a KafkaChunkContext); the handler settles a chunk in one
 *   transaction and makes each message's span itself. Without `chunks`, each message goes to the
 *   `@EventPattern(topic)` handler inside a CONSUMER span of its own;
 * - a handler that fails fails its batch: nothing is committed and Kafka delivers it again. The
 *   handlers turn a message that keeps failing into a reject themselves (processWithRetries in
 *   kafka.ingress.ts), so a poison message never blocks its partition;
 * - the store gate: a batch waits for the store before it runs, and a handler waits again with
 *   `ctx.whenReady()` (docs/adr/0010);
 * - `close()` (Nest calls it when the application closes, before any `onApplicationShutdown`
 *   hook): no new batch, in-flight batches finish and commit, the members leave their groups.
 */
import { BaseRpcContext, type CustomTransportStrategy, Server } from '@nestjs/microservices';
import { extractContext, inSpan, SpanKind } from '@onebill/observability/tracing';
import { isObservable, lastValueFrom } from 'rxjs';
import type {
  InboundBatch,
  InboundMessage,
  KafkaBatchConsumer,
  KafkaClient,
  ReadinessGate,
} from '@onebill/messaging';
import type { Logger } from './log';

/** The transport's identifier (`transportId`), for `@EventPattern(topic, KAFKA_INGRESS)` if needed. */
export const KAFKA_INGRESS = Symbol('onebill-kafka-ingress');

/** The lane of a message among `lanes`: messages of one key must get the same lane. */
export type LaneOf = (m: InboundMessage, lanes: number) => number;

/** One consumer group of the transport. */
export interface IngressGroup {
  groupId: string;
  topics: readonly string[];
  /** parallel lanes within a batch; 1 = the batch's messages one after another */
  lanes: number;
  /** the lane of a message (required when lanes > 1) */
  laneOf?: LaneOf;
  /**
   * Group commit: each lane cut into chunks of at most `size` messages, each chunk handed to the
   * `@EventPattern(pattern)` handler at once (instead of one handler call per message by topic).
   */
  chunks?: { pattern: string; size: number };
  /** partitions handled at the same time */
  partitionsConcurrently: number;
  /** called once when batches start waiting for the store, and once when they go on */
  onGateWait?: (waiting: boolean) => void;
}

export interface KafkaTransportOptions {
  /** the client the consumers are made from (the application's one Kafka client) */
  client: KafkaClient;
  groups: readonly IngressGroup[];
  /** the store's state: batches wait while it is down */
  gate?: ReadinessGate;
  log: Logger;
  /** listen() fails when a group has not joined by then (default 60 s) */
  joinTimeoutMs?: number;
  /** how long close() lets in-flight batches finish (the consumer's default otherwise) */
  drainTimeoutMs?: number;
}

/** What an `@EventPattern` handler gets with `@Ctx()`: the message, its batch, the store gate. */
export class KafkaBatchContext extends BaseRpcContext<[InboundMessage, InboundBatch]> {
  getMessage(): InboundMessage {
    return this.args[0];
  }

  getBatch(): InboundBatch {
    return this.args[1];
  }

  getTopic(): string {
    return this.args[0].topic;
  }

  /** Waits for the store; rejects when the batch is abandoned (stop, rebalance). */
  whenReady(): Promise<void> {
    return this.args[1].whenReady();
  }
}

/**
 * What a chunk's `@EventPattern` handler gets with `@Ctx()`: the chunk (one lane's messages, in
 * offset order per partition), its batch, the store gate.
 */
export class KafkaChunkContext extends BaseRpcContext<[readonly InboundMessage[], InboundBatch]> {
  getMessages(): readonly InboundMessage[] {
    return this.args[0];
  }

  getBatch(): InboundBatch {
    return this.args[1];
  }

  /** A context for one of the chunk's messages (the per-message path, when a chunk falls back). */
  forMessage(m: InboundMessage): KafkaBatchContext {
    return new KafkaBatchContext([m, this.args[1]]);
  }

  /** Waits for the store; rejects when the batch is abandoned (stop, rebalance). */
  whenReady(): Promise<void> {
    return this.args[1].whenReady();
  }
}

type Status = 'listening' | 'closed';

/**
 * The transport's events (`on`): a consumer kafkajs gave up on. A type, not an interface: Server's
 * EventsMap is a Record.
 */
type TransportEvents = {
  crash: (error: Error, willRestart: boolean) => void;
};

export class KafkaIngressTransport
  extends Server<TransportEvents, Status>
  implements CustomTransportStrategy
{
  override readonly transportId = KAFKA_INGRESS;
  /** handler failures come back to this transport (which fails the batch), not to Nest's log */
  override readonly propagatesEventHandlerErrors = true;
  private consumers: KafkaBatchConsumer[] = [];
  private closing: Promise<void> | null = null;
  private readonly crashListeners: Array<TransportEvents['crash']> = [];

  constructor(private readonly options: KafkaTransportOptions) {
    super();
  }

  /** Nest: starts every group's consumer and calls back once each has joined its group. */
  listen(callback: (error?: unknown) => void): void {
    this.start().then(
      () => {
        this._status$.next('listening');
        callback();
      },
      (error: unknown) => callback(error),
    );
  }

  /** Nest: stops consuming, lets in-flight batches finish and commit, leaves the groups. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const consumers = this.consumers;
      this.consumers = [];
      await Promise.all(consumers.map((c) => c.stop()));
      this._status$.next('closed');
    })();
    return this.closing;
  }

  /** Nest: event listeners of the transport ('crash', with the error and whether it restarts). */
  on<
    EventKey extends keyof TransportEvents = keyof TransportEvents,
    EventCallback extends TransportEvents[EventKey] = TransportEvents[EventKey],
  >(event: EventKey, callback: EventCallback): void {
    this.crashListeners.push(callback);
  }

  /** Nest: the underlying consumers. */
  unwrap<T>(): T {
    return [...this.consumers] as T;
  }

  private async start(): Promise<void> {
    const missing = this.options.groups
      .flatMap((g) => (g.chunks === undefined ? g.topics : [g.chunks.pattern]))
      .filter((pattern) => this.getHandlerByPattern(pattern) === null);
    if (missing.length > 0)
      throw new Error(`no @EventPattern handler for ${missing.join(', ')}: nothing would read it`);
    for (const group of this.options.groups) {
      if (group.lanes > 1 && group.laneOf === undefined)
        throw new Error(`consumer group ${group.groupId}: ${group.lanes} lanes need a laneOf`);
      if (group.chunks !== undefined && !(group.chunks.size >= 1))
        throw new Error(`consumer group ${group.groupId}: chunks of ${group.chunks.size}`);
      const consumer = this.options.client.batchConsumer({
        groupId: group.groupId,
        topics: group.topics,
        handler: (batch) => this.handleBatch(group, batch),
        partitionsConsumedConcurrently: group.partitionsConcurrently,
        ...(this.options.drainTimeoutMs === undefined
          ? {}
          : { drainTimeoutMs: this.options.drainTimeoutMs }),
        ...(this.options.gate === undefined ? {} : { gate: this.options.gate }),
        ...(group.onGateWait === undefined ? {} : { onGateWait: group.onGateWait }),
        onCrash: (error, willRestart) => {
          this.options.log.error('kafka consumer crashed', {
            group: group.groupId,
            error: error.message,
            willRestart,
          });
          for (const cb of this.crashListeners) cb(error, willRestart);
        },
      });
      this.consumers.push(consumer);
      await consumer.start();
    }
    await Promise.all(this.consumers.map((c) => c.waitForJoin(this.options.joinTimeoutMs)));
  }

  private async handleBatch(group: IngressGroup, batch: InboundBatch): Promise<void> {
    const lanes: InboundMessage[][] = Array.from({ length: group.lanes }, () => []);
    for (const m of batch.messages) {
      const lane =
        group.lanes === 1 || group.laneOf === undefined ? 0 : group.laneOf(m, group.lanes);
      lanes[lane]?.push(m);
    }
    const chunks = group.chunks;
    if (chunks !== undefined) {
      await Promise.all(
        lanes.map(async (lane) => {
          for (let from = 0; from < lane.length; from += chunks.size) {
            if (batch.signal.aborted) return;
            await this.dispatchChunk(chunks.pattern, lane.slice(from, from + chunks.size), batch);
          }
        }),
      );
      return;
    }
    await Promise.all(
      lanes.map(async (lane) => {
        for (const m of lane) {
          if (batch.signal.aborted) return;
          // a span per message, a CONSUMER child of its traceparent; what the intake writes to
          // the outbox carries it (libs/ledger insertOutbox). Tracing off: runs as it is.
          await inSpan(
            `${m.topic} process`,
            { tracer: 'gateway', parent: extractContext(m.headers), kind: SpanKind.CONSUMER },
            () => this.dispatch(m, batch),
          );
        }
      }),
    );
  }

  /** Runs the message's `@EventPattern` handler and waits for its result (or its failure). */
  private async dispatch(m: InboundMessage, batch: InboundBatch): Promise<void> {
    const handler = this.getHandlerByPattern(m.topic);
    if (handler === null) throw new Error(`no @EventPattern handler for ${m.topic}`);
    await settled(await handler(m, new KafkaBatchContext([m, batch])));
  }

  /** Runs the chunk's `@EventPattern` handler and waits for its result (or its failure). */
  private async dispatchChunk(
    pattern: string,
    chunk: readonly InboundMessage[],
    batch: InboundBatch,
  ): Promise<void> {
    const handler = this.getHandlerByPattern(pattern);
    if (handler === null) throw new Error(`no @EventPattern handler for ${pattern}`);
    await settled(await handler(chunk, new KafkaChunkContext([chunk, batch])));
  }
}

/** A handler's result settled: an Observable to its last value (or its error). */
async function settled(result: unknown): Promise<void> {
  if (!isObservable(result)) return;
  try {
    await lastValueFrom(result, { defaultValue: undefined });
  } catch (error) {
    throw error instanceof Error ? error : new Error(describe(error));
  }
}

function describe(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error)
    return `handler failed: ${String(error.message)}`;
  return `handler failed: ${String(error)}`;
}
