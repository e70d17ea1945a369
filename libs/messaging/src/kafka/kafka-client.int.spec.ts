/**
 * Our Kafka interface against a real broker (KAFKA_BROKERS, set by test/support/global-setup.ts):
 * batches flow, and a group's offset moves only after the handler resolved.
 */
import { randomUUID } from 'node:crypto';
import { KafkaClient } from './kafka-client';
import { kafkaSettingsFromEnv, type KafkaLogSink } from './config';
import type { BatchHandler, InboundMessage, KafkaBatchConsumer } from './consumer';
import type { KafkaProducer } from './producer';

// jest reads testTimeout only at the top level of its config, not per project.
jest.setTimeout(120_000);

/** Log lines of our client and kafkajs, kept for assertions; echoed with KAFKA_TEST_VERBOSE=1. */
const logLines: string[] = [];
const record = (line: string): void => {
  logLines.push(line);
  if (process.env.KAFKA_TEST_VERBOSE === '1') console.error(line);
};
const logSink: KafkaLogSink = { error: record, warn: record, log: record, debug: record };
const settings = kafkaSettingsFromEnv(process.env, {
  clientId: 'messaging-int',
  logLevel: 'error',
});
const client = new KafkaClient({ ...settings, logSink });
let producer: KafkaProducer;
const consumers: KafkaBatchConsumer[] = [];
const topics: string[] = [];

/** Retries the assertion until it passes or the deadline expires (then rethrows its last error). */
async function eventually(
  assertion: () => void | Promise<void>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

async function newTopic(name: string, numPartitions: number): Promise<string> {
  const topic = `test.messaging.${name}.${randomUUID().slice(0, 8)}`;
  topics.push(topic);
  const result = await client.admin().ensureTopics([{ topic, numPartitions }]);
  expect(result.created).toEqual([topic]);
  return topic;
}

async function produce(topic: string, count: number, prefix = 'm'): Promise<string[]> {
  const values = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  await producer.send(
    topic,
    values.map((value, i) => ({
      key: `key-${i % 4}`,
      value,
      headers: { 'event-id': `${value}-id` },
    })),
  );
  return values;
}

function consumer(
  groupId: string,
  topic: string,
  handler: BatchHandler,
  extra: { drainTimeoutMs?: number } = {},
): KafkaBatchConsumer {
  const c = client.batchConsumer({
    groupId,
    topics: [topic],
    handler,
    maxWaitTimeMs: 100,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
    ...extra,
  });
  consumers.push(c);
  return c;
}

/** Committed offsets of a group on a topic, partition by partition (`-1` = none). */
async function committed(groupId: string, topic: string): Promise<string[]> {
  return (await client.admin().committedOffsets(groupId, topic)).map((p) => p.offset);
}

const valuesOf = (messages: readonly InboundMessage[]): string[] =>
  messages.map((m) => m.value?.toString() ?? '<null>');

beforeAll(async () => {
  producer = client.producer();
  await producer.connect();
});

afterAll(async () => {
  await Promise.allSettled(consumers.map((c) => c.stop()));
  await producer.disconnect();
  await client
    .admin()
    .deleteTopics(topics)
    .catch(() => undefined);
  await client.close();
});

describe('KafkaClient against a real broker', () => {
  it('creates topics idempotently and reports the existing ones', async () => {
    const topic = await newTopic('admin', 2);
    const again = await client.admin().ensureTopics([{ topic, numPartitions: 3 }]);
    expect(again.created).toEqual([]);
    expect(again.existing).toEqual([topic]);
    expect(again.fewerPartitions).toEqual([{ topic, expected: 3, actual: 2 }]);
    expect((await client.admin().watermarks(topic)).map((w) => w.partition)).toEqual([0, 1]);
  });

  it('delivers produced messages in batches with keys and headers, then commits them', async () => {
    const topic = await newTopic('batches', 3);
    const groupId = `g-${randomUUID()}`;
    const sent = await produce(topic, 40);
    const received: InboundMessage[] = [];
    const batchSizes: number[] = [];
    const c = consumer(groupId, topic, (batch) => {
      batchSizes.push(batch.messages.length);
      received.push(...batch.messages);
      return Promise.resolve();
    });
    await c.start();
    await eventually(() => expect(valuesOf(received).sort()).toEqual([...sent].sort()));
    expect(Math.max(...batchSizes)).toBeGreaterThan(1);
    const first = received.find((m) => m.value?.toString() === 'm-5');
    expect(first?.key?.toString()).toBe('key-1');
    expect(first?.headers['event-id']?.toString()).toBe('m-5-id');
    // Every partition committed up to its high watermark.
    const highs = (await client.admin().watermarks(topic)).map((w) => w.high);
    await eventually(async () => expect(await committed(groupId, topic)).toEqual(highs));
    expect(c.assignments()).toEqual([{ topic, partitions: [0, 1, 2] }]);
  });

  it('commits a batch only after the handler resolves', async () => {
    const topic = await newTopic('commit-after', 1);
    const groupId = `g-${randomUUID()}`;
    await produce(topic, 5);
    const gate = deferred();
    let entered = 0;
    const c = consumer(groupId, topic, async (batch) => {
      entered += batch.messages.length;
      await gate.promise;
    });
    await c.start();
    await eventually(() => expect(entered).toBe(5));
    // The handler holds the batch: nothing is committed, however long we look.
    expect(await committed(groupId, topic)).toEqual(['-1']);
    gate.resolve();
    await eventually(async () => expect(await committed(groupId, topic)).toEqual(['5']));
  });

  it('redelivers a batch whose handler threw to the next consumer of the group', async () => {
    const topic = await newTopic('throws', 1);
    const groupId = `g-${randomUUID()}`;
    const sent = await produce(topic, 3);
    let attempts = 0;
    const failing = consumer(groupId, topic, () => {
      attempts += 1;
      return Promise.reject(new Error('database unavailable (test)'));
    });
    await failing.start();
    // kafkajs retries the same uncommitted batch in-process before we stop it.
    await eventually(() => expect(attempts).toBeGreaterThanOrEqual(2));
    await failing.stop();
    expect(await committed(groupId, topic)).toEqual(['-1']);
    expect(logLines).toContainEqual(
      expect.stringContaining(`handler failed on ${topic}[0] offsets 0..2; not committed`),
    );

    const received: InboundMessage[] = [];
    const healthy = consumer(groupId, topic, (batch) => {
      received.push(...batch.messages);
      return Promise.resolve();
    });
    await healthy.start();
    await eventually(() => expect(valuesOf(received)).toEqual(sent));
    expect(received.map((m) => m.offset)).toEqual(['0', '1', '2']);
    await eventually(async () => expect(await committed(groupId, topic)).toEqual(['3']));
  });

  it('abandons uncommitted a batch still running when stop gives up, and redelivers it', async () => {
    const topic = await newTopic('abandoned', 1);
    const groupId = `g-${randomUUID()}`;
    const sent = await produce(topic, 4);
    let entered = false;
    let sawAbort = false;
    const stuck = consumer(
      groupId,
      topic,
      (batch) =>
        new Promise<void>((resolve) => {
          entered = true;
          batch.signal.addEventListener('abort', () => {
            sawAbort = true;
            resolve(); // resolving after the abort must not commit either
          });
        }),
      { drainTimeoutMs: 300 },
    );
    await stuck.start();
    await eventually(() => expect(entered).toBe(true));
    await stuck.stop();
    expect(sawAbort).toBe(true);
    expect(await committed(groupId, topic)).toEqual(['-1']);

    const received: InboundMessage[] = [];
    const next = consumer(groupId, topic, (batch) => {
      received.push(...batch.messages);
      return Promise.resolve();
    });
    await next.start();
    await eventually(() => expect(valuesOf(received)).toEqual(sent));
  });

  it('heartbeats while a batch takes longer than the session timeout', async () => {
    const topic = await newTopic('long-batch', 1);
    const groupId = `g-${randomUUID()}`;
    await produce(topic, 3);
    const sessionTimeoutMs = 6_000; // the broker's group.min.session.timeout.ms
    let calls = 0;
    const c = client.batchConsumer({
      groupId,
      topics: [topic],
      sessionTimeoutMs,
      heartbeatIntervalMs: 500,
      maxWaitTimeMs: 100,
      handler: async () => {
        calls += 1;
        // Busy for longer than the session: without heartbeats the group would evict us and
        // the commit below would fail, and the batch would come again.
        await new Promise((resolve) => setTimeout(resolve, sessionTimeoutMs + 2_500));
      },
    });
    consumers.push(c);
    await c.start();
    await eventually(async () => expect(await committed(groupId, topic)).toEqual(['3']), 60_000);
    expect(calls).toBe(1);
  });

  it('lets an in-flight batch finish and commit during a graceful stop', async () => {
    const topic = await newTopic('graceful', 1);
    const groupId = `g-${randomUUID()}`;
    await produce(topic, 6);
    const gate = deferred();
    let entered = false;
    let finished = false;
    const c = consumer(groupId, topic, async () => {
      entered = true;
      await gate.promise;
      finished = true;
    });
    await c.start();
    await eventually(() => expect(entered).toBe(true));
    const stopping = c.stop();
    gate.resolve();
    await stopping;
    expect(finished).toBe(true);
    expect(await committed(groupId, topic)).toEqual(['6']);
  });

  it('does not show committed messages again to a consumer restarted in the same group', async () => {
    const topic = await newTopic('restart', 2);
    const groupId = `g-${randomUUID()}`;
    const sent = await produce(topic, 10);
    const first: InboundMessage[] = [];
    const a = consumer(groupId, topic, (batch) => {
      first.push(...batch.messages);
      return Promise.resolve();
    });
    await a.start();
    await eventually(() => expect(valuesOf(first).sort()).toEqual([...sent].sort()));
    const highs = (await client.admin().watermarks(topic)).map((w) => w.high);
    await eventually(async () => expect(await committed(groupId, topic)).toEqual(highs));
    await a.stop();

    const second: InboundMessage[] = [];
    const b = consumer(groupId, topic, (batch) => {
      second.push(...batch.messages);
      return Promise.resolve();
    });
    await b.start();
    // A marker on every partition: once b has seen them all, anything older would have come first.
    await producer.send(topic, [
      { value: 'after-restart-0', partition: 0 },
      { value: 'after-restart-1', partition: 1 },
    ]);
    await eventually(() =>
      expect(valuesOf(second).sort()).toEqual(['after-restart-0', 'after-restart-1']),
    );
  });
});
