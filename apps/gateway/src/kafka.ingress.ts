/**
 * Kafka intake: his.discharge.v1 (discharge and reversal XML) and his.admission.v1. Batches come from our
 * KafkaBatchConsumer, which commits a batch's offsets only after this handler resolves — that is,
 * after every message of the batch has its outcome committed in the database.
 *
 * Messages of one batch run in parallel lanes; the lane is chosen by the person (psn_no), so one
 * person's bills are settled in the order they were published. A message that fails for an
 * unexpected reason is retried; if it keeps failing it is recorded as a reject (INTERNAL_ERROR)
 * so that it never blocks its partition. The database being unavailable is not the message's
 * fault (docs/adr/0010): the batch waits (the consumer heartbeating) until the store is back and
 * goes on; no retry is spent and no reject written. A stop during the wait abandons the batch
 * uncommitted, and Kafka delivers it again.
 */
import { isStoreUnavailable } from '@onebill/ledger';
import type {
  InboundBatch,
  InboundMessage,
  KafkaBatchConsumer,
  KafkaClient,
  ReadinessGate,
} from '@onebill/messaging';
import { Topics } from '@onebill/messaging';
import type { Arrival, IntakeService, Outcome } from './intake.service';
import { namedPersonOf } from './intake/arrival';
import type { Logger } from './log';

export interface IngressStats {
  consumed: number;
  byStatus: Record<string, number>;
}

/**
 * The lane of a message: by the person the decoder read in it (a reversal names none: by its
 * offset), so one person's bills are settled in the order they were published.
 */
function laneOf(arrival: Arrival, m: InboundMessage, lanes: number): number {
  const key = namedPersonOf(arrival) ?? m.offset;
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) >>> 0;
  return h % lanes;
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
  const waitForStore = async (): Promise<void> => {
    await whenReady();
    await new Promise((r) => setTimeout(r, AFTER_OUTAGE_MS));
  };
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3;) {
    try {
      return await run();
    } catch (e) {
      if (isStoreUnavailable(e)) {
        await waitForStore();
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
      await waitForStore();
    }
  }
}

export class KafkaIngress {
  private consumer: KafkaBatchConsumer | null = null;
  readonly stats: IngressStats = { consumed: 0, byStatus: {} };

  constructor(
    private readonly client: KafkaClient,
    private readonly intake: IntakeService,
    private readonly log: Logger,
    private readonly groupId: string,
    private readonly lanes = 8,
    /** every outcome, with the seconds from taking the message to its commit */
    private readonly onOutcome: (o: Outcome, m: InboundMessage, seconds: number) => void = () =>
      undefined,
    private readonly partitionsConcurrently = 6,
    /** the store's state: batches wait while it is down */
    private readonly gate?: ReadinessGate,
  ) {}

  async start(): Promise<void> {
    this.consumer = this.client.batchConsumer({
      groupId: this.groupId,
      topics: [Topics.hisDischarge, Topics.hisAdmission],
      handler: (batch) => this.handle(batch),
      partitionsConsumedConcurrently: this.partitionsConcurrently,
      ...(this.gate === undefined
        ? {}
        : {
            gate: this.gate,
            onGateWait: (waiting: boolean) =>
              waiting
                ? this.log.warn('kafka intake paused: waiting for the database')
                : this.log.info('kafka intake resumed: the database is back'),
          }),
      onCrash: (error, willRestart) =>
        this.log.error('kafka consumer crashed', { error: error.message, willRestart }),
    });
    await this.consumer.start();
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = null;
  }

  waitForJoin(timeoutMs?: number): Promise<void> {
    if (this.consumer === null) return Promise.reject(new Error('ingress not started'));
    return this.consumer.waitForJoin(timeoutMs);
  }

  private async handle(batch: InboundBatch): Promise<void> {
    const lanes: { m: InboundMessage; arrival: Arrival }[][] = Array.from(
      { length: this.lanes },
      () => [],
    );
    for (const m of batch.messages) {
      // decoded once, here (docs/adr/0012-hostile-input.md): the lane and the intake use it
      const arrival = this.intake.decode(m.value ?? Buffer.alloc(0));
      lanes[laneOf(arrival, m, this.lanes)]?.push({ m, arrival });
    }
    await Promise.all(
      lanes.map(async (lane) => {
        for (const { m, arrival } of lane) {
          if (batch.signal.aborted) return;
          await this.one(m, arrival, batch);
        }
      }),
    );
  }

  private async one(m: InboundMessage, arrival: Arrival, batch: InboundBatch): Promise<void> {
    const started = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    const source = kafkaSource(m);
    const outcome = await processWithRetries(
      this.log,
      m,
      () => this.intake.submitDecoded(arrival, source),
      (error) => this.intake.internalRejectDecoded(arrival, source, error),
      () => batch.whenReady(),
    );
    this.stats.consumed += 1;
    this.stats.byStatus[outcome.status] = (this.stats.byStatus[outcome.status] ?? 0) + 1;
    this.onOutcome(outcome, m, seconds());
  }
}
