/**
 * Kafka intake: his.discharge.v1 (discharge and reversal XML) and his.admission.v1. Batches come from our
 * KafkaBatchConsumer, which commits a batch's offsets only after this handler resolves — that is,
 * after every message of the batch has its outcome committed in the database.
 *
 * Messages of one batch run in parallel lanes; the lane is chosen by the person (psn_no), so one
 * person's bills are settled in the order they were published. A message that fails for an
 * unexpected reason is retried; if it keeps failing it is recorded as a reject (INTERNAL_ERROR)
 * so that it never blocks its partition. If even that cannot be written (the database is down),
 * the batch fails, is not committed, and Kafka delivers it again.
 */
import type {
  InboundBatch,
  InboundMessage,
  KafkaBatchConsumer,
  KafkaClient,
} from '@onebill/messaging';
import { Topics } from '@onebill/messaging';
import type { IntakeService, Outcome } from './intake.service';
import type { Logger } from './log';

export interface IngressStats {
  consumed: number;
  byStatus: Record<string, number>;
}

const PSN = /<psn_no>\s*([^<\s]{1,64})\s*<\/psn_no>/;

function laneOf(m: InboundMessage, lanes: number): number {
  const text = m.value?.subarray(0, 4096).toString('utf8') ?? '';
  const key = PSN.exec(text)?.[1] ?? m.offset;
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

/**
 * Runs `run` up to three times; a message that keeps failing for an unexpected reason is
 * kept by `keep` with the reason, so it never blocks its partition. A database outage makes
 * `keep` throw too, and the whole batch is delivered again.
 */
export async function processWithRetries<T>(
  log: Logger,
  m: InboundMessage,
  run: () => Promise<T>,
  keep: (error: unknown) => Promise<T>,
): Promise<T> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await run();
    } catch (e) {
      lastError = e;
      log.warn('message failed, retrying', {
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        attempt,
        error: e instanceof Error ? e.message : String(e),
      });
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
  return keep(lastError);
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
  ) {}

  async start(): Promise<void> {
    this.consumer = this.client.batchConsumer({
      groupId: this.groupId,
      topics: [Topics.hisDischarge, Topics.hisAdmission],
      handler: (batch) => this.handle(batch),
      partitionsConsumedConcurrently: this.partitionsConcurrently,
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
    const lanes: InboundMessage[][] = Array.from({ length: this.lanes }, () => []);
    for (const m of batch.messages) lanes[laneOf(m, this.lanes)]?.push(m);
    await Promise.all(
      lanes.map(async (lane) => {
        for (const m of lane) {
          if (batch.signal.aborted) return;
          await this.one(m);
        }
      }),
    );
  }

  private async one(m: InboundMessage): Promise<void> {
    const started = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    // the bytes as they came: the intake decodes them (docs/adr/0012-hostile-input.md)
    const raw = m.value ?? Buffer.alloc(0);
    const source = kafkaSource(m);
    const outcome = await processWithRetries(
      this.log,
      m,
      () => this.intake.submit(raw, source),
      (error) => this.intake.internalReject(raw, source, error),
    );
    this.stats.consumed += 1;
    this.stats.byStatus[outcome.status] = (this.stats.byStatus[outcome.status] ?? 0) + 1;
    this.onOutcome(outcome, m, seconds());
  }
}
