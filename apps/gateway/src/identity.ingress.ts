/**
 * Kafka intake of identity.changes.v1 (issue 6): its own consumer group (`<KAFKA_GROUP_ID>-identity`),
 * messages of a partition one after another (the topic is keyed by psn_no, so one person's
 * changes keep their order), offsets committed after each batch's transactions. A message that
 * keeps failing is kept as a reject and never blocks the partition.
 */
import {
  type InboundBatch,
  type KafkaBatchConsumer,
  type KafkaClient,
  Topics,
} from '@onebill/messaging';
import type { IdentityOutcome, IdentityService } from './identity.service';
import type { Logger } from './log';

export class IdentityIngress {
  private consumer: KafkaBatchConsumer | null = null;

  constructor(
    private readonly client: KafkaClient,
    private readonly identities: IdentityService,
    private readonly log: Logger,
    readonly groupId: string,
    private readonly onOutcome: (o: IdentityOutcome) => void = () => undefined,
  ) {}

  async start(): Promise<void> {
    this.consumer = this.client.batchConsumer({
      groupId: this.groupId,
      topics: [Topics.identityChanges],
      handler: (batch) => this.handle(batch),
      partitionsConsumedConcurrently: 3,
      onCrash: (error, willRestart) =>
        this.log.error('identity consumer crashed', { error: error.message, willRestart }),
    });
    await this.consumer.start();
  }

  waitForJoin(timeoutMs?: number): Promise<void> {
    if (this.consumer === null) return Promise.reject(new Error('identity ingress not started'));
    return this.consumer.waitForJoin(timeoutMs);
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = null;
  }

  private async handle(batch: InboundBatch): Promise<void> {
    for (const m of batch.messages) {
      if (batch.signal.aborted) return;
      const raw = m.value?.toString('utf8') ?? '';
      const correlation = m.headers['correlation-id']?.toString('utf8');
      const source = {
        kind: 'kafka' as const,
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        key: m.key?.toString('utf8') ?? null,
        ...(correlation === undefined ? {} : { correlationId: correlation }),
      };
      let lastError: unknown;
      let done = false;
      for (let attempt = 1; attempt <= 3 && !done; attempt++) {
        try {
          this.onOutcome(await this.identities.process(raw, source));
          done = true;
        } catch (e) {
          lastError = e;
          this.log.warn('identity change failed, retrying', {
            partition: m.partition,
            offset: m.offset,
            attempt,
            error: e instanceof Error ? e.message : String(e),
          });
          await new Promise((r) => setTimeout(r, 100 * attempt));
        }
      }
      // kept with the reason; a database outage throws here and the batch comes again
      if (!done) this.onOutcome(await this.identities.internalReject(raw, source, lastError));
    }
  }
}
