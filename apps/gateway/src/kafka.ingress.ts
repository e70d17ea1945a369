/**
 * The Kafka intake's rules, used by the Kafka transport (kafka.transport.ts) and its
 * `@EventPattern` handlers (kafka.controller.ts): his.discharge.v1 (discharge and reversal XML),
 * his.admission.v1 and identity.changes.v1. The transport's KafkaBatchConsumer commits a batch's
 * offsets only after every handler of the batch resolved — that is, after every message of the
 * batch has its outcome committed in the database.
 *
 * Messages of one batch run in parallel lanes; `laneOf` (the transport is given it) chooses the
 * lane by the person the one decoder read in the message, so one person's bills are settled in the order they were published.
 * A message that fails for an unexpected reason is retried; if it keeps failing it is recorded as
 * a reject (INTERNAL_ERROR) so that it never blocks its partition. The database being unavailable is not the message's
 * fault (docs/adr/0010): the batch waits (the consumer heartbeating) until the store is back and
 * goes on; no retry is spent and no reject written. A stop during the wait abandons the batch
 * uncommitted, and Kafka delivers it again.
 */
import { isStoreUnavailable } from '@onebill/ledger';
import type { InboundMessage } from '@onebill/messaging';
import type { Arrival, IntakeService } from './intake.service';
import { namedPersonOf } from './intake/arrival';
import type { Logger } from './log';

/**
 * Each Kafka message decoded once (docs/adr/0012, issue 12): the transport's `laneOf` decodes it
 * to pick the lane, and its handler reads the same decoded message back; a retry reuses it.
 */
const arrivals = new WeakMap<InboundMessage, Arrival>();

/** The message decoded by the one decoder, once per record. */
export function arrivalOf(intake: IntakeService, m: InboundMessage): Arrival {
  let arrival = arrivals.get(m);
  if (arrival === undefined) {
    arrival = intake.decode(m.value ?? Buffer.alloc(0));
    arrivals.set(m, arrival);
  }
  return arrival;
}

/**
 * The lane of a message: by the person the decoder read in it (a reversal names none: by its
 * offset), so one person's bills are settled in the order they were published.
 */
export function laneOfArrival(arrival: Arrival, m: InboundMessage, lanes: number): number {
  const key = namedPersonOf(arrival) ?? m.offset;
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) >>> 0;
  return h % lanes;
}

/** The transport's lane function for the intake's group: decodes once, lanes by person. */
export function laneOf(intake: IntakeService): (m: InboundMessage, lanes: number) => number {
  return (m, lanes) => laneOfArrival(arrivalOf(intake, m), m, lanes);
}

/** Where a Kafka message came from, as the intake and the identity service record it. */
export function kafkaSource(m: InboundMessage): {
  kind: 'kafka';
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  correlationId?: string;
} {
  const correlation = m.headers['correlation-id']?.toString('utf8');
  return {
    kind: 'kafka',
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    key: m.key?.toString('utf8') ?? null,
    ...(correlation === undefined ? {} : { correlationId: correlation }),
  };
}

/** After the store is back, a short pause before the message is tried again. */
const AFTER_OUTAGE_MS = 100;

/**
 * The intake's chunk pattern (group commit, docs/adr/0020): the transport hands each lane's
 * messages of a fetched batch, `INTAKE_BATCH_SIZE` at a time, to the one `@EventPattern` handler
 * of this pattern (kafka.controller.ts), which settles them in one transaction.
 */
export const INTAKE_CHUNK = 'onebill.intake.chunk';

async function waitForStore(whenReady: () => Promise<void>): Promise<void> {
  await whenReady();
  await new Promise((r) => setTimeout(r, AFTER_OUTAGE_MS));
}

/**
 * A chunk of messages settled together (`batch`: one transaction, IntakeService.submitBatch).
 * A store outage is not the chunk's fault: wait for the store (`whenReady`, rejects when the
 * batch is abandoned) and run the chunk again, no retry spent. Any other failure of the whole
 * chunk (a bug, a failure outside any message, a deadlock) runs its messages one by one through
 * the per-message path (`one`: processWithRetries → a reject at worst), so a bad chunk never
 * blocks its partition. `batched` says which path gave the outcomes.
 */
export async function processChunk<T>(
  log: Logger,
  chunk: readonly InboundMessage[],
  batch: () => Promise<T[]>,
  one: (m: InboundMessage) => Promise<T>,
  whenReady: () => Promise<void>,
): Promise<{ outcomes: T[]; batched: boolean }> {
  for (;;) {
    try {
      return { outcomes: await batch(), batched: true };
    } catch (e) {
      if (isStoreUnavailable(e)) {
        await waitForStore(whenReady);
        continue;
      }
      const first = chunk[0];
      log.warn('batch failed, settling its messages one by one', {
        topic: first?.topic,
        partition: first?.partition,
        from: first?.offset,
        messages: chunk.length,
        error: e instanceof Error ? e.message : String(e),
      });
      const outcomes: T[] = [];
      for (const m of chunk) outcomes.push(await one(m));
      return { outcomes, batched: false };
    }
  }
}

/**
 * Runs `run` up to three times; a message that keeps failing for an unexpected reason is
 * kept by `keep` with the reason, so it never blocks its partition. A store outage
 * (`StoreUnavailableError`) is not counted: `whenReady` waits until the store is back (it rejects
 * when the batch is abandoned), then the message is tried again.
 */
export async function processWithRetries<T>(
  log: Logger,
  m: InboundMessage,
  run: () => Promise<T>,
  keep: (error: unknown) => Promise<T>,
  whenReady: () => Promise<void>,
): Promise<T> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3;) {
    try {
      return await run();
    } catch (e) {
      if (isStoreUnavailable(e)) {
        await waitForStore(whenReady);
        continue;
      }
      lastError = e;
      log.warn('message failed, retrying', {
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        attempt,
        error: e instanceof Error ? e.message : String(e),
      });
      await new Promise((r) => setTimeout(r, 100 * attempt));
      attempt += 1;
    }
  }
  for (;;) {
    try {
      return await keep(lastError);
    } catch (e) {
      if (!isStoreUnavailable(e)) throw e;
      await waitForStore(whenReady);
    }
  }
}
