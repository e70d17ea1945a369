/**
 * Publishing the archive's head after each seal, and reading the published heads back
 * (docs/adr/0015-audit-trust.md). The head goes, signed, to three places the database's
 * administrator cannot rewrite: the Kafka topic audit.archive-heads.v1, the log, and a heads file
 * the auditor keeps. Each publication is independent: one failing (a broker down) does not stop
 * the others, and the next seal publishes a later head that covers this one.
 */
import type { KeyObject } from 'node:crypto';
import {
  type SealedHead,
  type SignedHead,
  appendHeadLine,
  parseHead,
  signHead,
} from '@onebill/ledger';
import { type KafkaClient, type KafkaProducer, Topics } from '@onebill/messaging';

export interface HeadLog {
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
}

export interface HeadPublisherOptions {
  log: HeadLog;
  /** signs every head; null: heads go out unsigned (no heads file then) */
  key: KeyObject | null;
  /** the heads file to append to; null: none */
  file: string | null;
  /** publishes to audit.archive-heads.v1; null: no Kafka */
  producer: KafkaProducer | null;
  /** another topic (tests) */
  topic?: string;
}

export class HeadPublisher {
  constructor(private readonly opts: HeadPublisherOptions) {}

  /** Signs the head and publishes it everywhere configured. Never throws. */
  async publish(head: SealedHead): Promise<SignedHead> {
    const signed = signHead(head, this.opts.key);
    this.opts.log.info('archive head', { ...signed });
    if (this.opts.file !== null) {
      try {
        appendHeadLine(this.opts.file, signed);
      } catch (e) {
        this.opts.log.warn('archive head not written to the heads file', {
          file: this.opts.file,
          seq: signed.seq,
          error: e instanceof Error ? e.message : String(e),
        });
      }
    }
    if (this.opts.producer !== null) {
      try {
        await this.opts.producer.send(this.opts.topic ?? Topics.archiveHeads, [
          { key: 'archive', value: JSON.stringify(signed) },
        ]);
      } catch (e) {
        this.opts.log.warn('archive head not published to Kafka', {
          topic: this.opts.topic ?? Topics.archiveHeads,
          seq: signed.seq,
          error: e instanceof Error ? e.message : String(e),
        });
      }
    }
    return signed;
  }
}

/** Every head on the topic, from the log's start to its end now. */
export async function readHeadsFromKafka(
  client: KafkaClient,
  topic: string = Topics.archiveHeads,
): Promise<SignedHead[]> {
  const heads: SignedHead[] = [];
  await client.readRange({ topic, idleTimeoutMs: 15_000 }, (messages) => {
    for (const m of messages) {
      heads.push(
        parseHead(
          m.value?.toString('utf8') ?? '',
          `${topic} partition ${m.partition} offset ${m.offset}`,
        ),
      );
    }
    return Promise.resolve();
  });
  return heads;
}
