/**
 * A test's view of output topics: a consumer in a fresh group that starts at the current end of
 * the topics (so messages of earlier runs on a reused broker are not seen) and keeps every
 * message it reads.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaClient, TOPIC_SPECS } from '@onebill/messaging';

export interface Tapped {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

function kafka(): Kafka {
  const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter((b) => b !== '');
  if (brokers.length === 0) throw new Error('KAFKA_BROKERS is not set (global-setup provides it)');
  return new Kafka({
    clientId: `tap-${randomUUID().slice(0, 8)}`,
    brokers,
    logLevel: logLevel.NOTHING,
  });
}

/** A new topic's partitions may answer NOT_LEADER for a moment after creation: retry for 30 s. */
async function withRetry<T>(f: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await f();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Commits the group's offsets at the current end of each topic, before the group first joins. */
export async function positionGroupAtEnd(groupId: string, topics: string[]): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    for (const topic of topics) {
      const offsets = await withRetry(() => admin.fetchTopicOffsets(topic));
      await admin.setOffsets({
        groupId,
        topic,
        partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })),
      });
    }
  } finally {
    await admin.disconnect();
  }
}

export class KafkaTap {
  readonly messages: Tapped[] = [];
  private readonly consumer;

  private constructor(private readonly groupId: string) {
    this.consumer = kafka().consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  }

  static async open(topics: string[]): Promise<KafkaTap> {
    const tap = new KafkaTap(`tap-${randomUUID()}`);
    const setup = new KafkaClient({
      brokers: (process.env.KAFKA_BROKERS ?? '').split(','),
      clientId: `${tap.groupId}-admin`,
      logLevel: 'nothing',
    });
    try {
      await setup.admin().ensureTopics(TOPIC_SPECS.filter((spec) => topics.includes(spec.topic)));
    } finally {
      await setup.close();
    }
    await positionGroupAtEnd(tap.groupId, topics);
    await tap.consumer.connect();
    await tap.consumer.subscribe({ topics, fromBeginning: false });
    const joined = new Promise<void>((resolve) => {
      tap.consumer.on(tap.consumer.events.GROUP_JOIN, () => resolve());
    });
    await tap.consumer.run({
      eachMessage: ({ topic, partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) {
          if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : v.toString();
        }
        tap.messages.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? '',
          headers,
        });
        return Promise.resolve();
      },
    });
    await joined;
    return tap;
  }

  on(topic: string): Tapped[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  async close(): Promise<void> {
    await this.consumer.disconnect();
  }
}
