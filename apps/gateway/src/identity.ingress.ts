/**
 * Kafka intake of identity.changes.v1 (issue 6): its own consumer group (`<KAFKA_GROUP_ID>-identity`),
 * messages of a partition one after another (the topic is keyed by psn_no, so one person's
 * changes keep their order), offsets committed after each batch's transactions. A message that
 * keeps failing is kept as a reject and never blocks the partition; a database outage makes the
 * batch wait for the store instead (docs/adr/0010).
 */
import {
  type InboundBatch,
  type KafkaBatchConsumer,
  type KafkaClient,
  type ReadinessGate,
  Topics,
} from '@onebill/messaging';
import type { IdentityOutcome, IdentityService } from './identity.service';
import { kafkaSource, processWithRetries } from './kafka.ingress';
import type { Logger } from './log';

export class IdentityIngress {
  private consumer: KafkaBatchConsumer | null = null;

  constructor(
    private readonly client: KafkaClient,
    private readonly identities: IdentityService,
    private readonly log: Logger,
    readonly groupId: string,
    private readonly onOutcome: (o: IdentityOutcome) => void = () => undefined,
    /** the store's state: batches wait while it is down (docs/adr/0010) */
    private readonly gate?: ReadinessGate,
  ) {}

  async start(): Promise<void> {
    this.consumer = this.client.batchConsumer({
      groupId: this.groupId,
      topics: [Topics.identityChanges],
      handler: (batch) => this.handle(batch),
      partitionsConsumedConcurrently: 3,
      ...(this.gate === undefined ? {} : { gate: this.gate }),
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
      // decoded once, here; a retry runs on the same decoded change
      const decoded = this.identities.decode(raw);
      const source = kafkaSource(m);
      this.onOutcome(
        await processWithRetries(
          this.log,
          m,
          () => this.identities.processDecoded(raw, decoded, source),
          (error) => this.identities.internalReject(raw, source, error),
          () => batch.whenReady(),
        ),
      );
    }
  }
}
