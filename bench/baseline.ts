/**
 * The bare pipeline (issue 17 item 2): what the stack itself — this broker, this PostgreSQL, this
 * machine — allows, with no parsing and no computing in between, so that the gateway's throughput
 * can be read as a share of it.
 *
 *   Kafka in (a topic of the run's own, as many partitions as his.discharge.v1)
 *   → per fetched batch, one transaction: every message into an inbox table with one multi-row
 *     `INSERT … SELECT FROM unnest(…)`, and an outbox row for each (same statement)
 *   → a relay claims unpublished outbox rows in batches (`FOR UPDATE SKIP LOCKED`), sends them to
 *     an output topic of the run's own and marks them published in the same transaction
 *   → a consumer of the output topic counts them.
 *
 * messages/s = N / (first message published → last output message consumed), as the gateway's
 * throughput phase measures bills/s. Its tables and topics carry the run id and are dropped at the
 * end. Used by bench/e2e.bench.ts (`--skip-baseline` leaves it out); asserts nothing.
 */
import { type Consumer, type Kafka, type Producer } from 'kafkajs';
import { Pool } from 'pg';

export interface BaselineMessage {
  key: string;
  value: string;
}

export interface BaselineOptions {
  kafka: Kafka;
  databaseUrl: string;
  /** the run id: names the topics, tables and groups */
  run: string;
  messages: readonly BaselineMessage[];
  partitions: number;
  /** the pipeline's pool (default 10) and partitions consumed at once (default all) */
  poolSize?: number;
  /** outbox rows a relay claims at once (default 1000) and relays running (default 2) */
  relayBatch?: number;
  relays?: number;
  /** stop waiting when nothing came out for this long (default 30 s) */
  stallMs?: number;
  signal: AbortSignal;
  onProgress?: (published: number, delivered: number) => void;
}

export interface BaselineResult {
  messages: number;
  delivered: number;
  publishSeconds: number;
  /** first message published → last output message consumed */
  seconds: number;
  messagesPerSecond: number;
  /** between 10 % and 90 % of the deliveries */
  steadyMessagesPerSecond: number | null;
  transactions: number;
  meanMessagesPerTransaction: number;
  relayBatches: number;
  meanRelayBatch: number;
}

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function joined(consumer: Consumer): Promise<void> {
  return new Promise((resolve) => {
    consumer.on(consumer.events.GROUP_JOIN, () => resolve());
  });
}

export async function runBaseline(o: BaselineOptions): Promise<BaselineResult> {
  const tag = o.run.toLowerCase();
  const inTopic = `bench.baseline.in.${tag}`;
  const outTopic = `bench.baseline.out.${tag}`;
  const inbox = `baseline_inbox_${tag}`; // the run id is [0-9a-z]: safe to interpolate
  const outbox = `baseline_outbox_${tag}`;
  const admin = o.kafka.admin();
  const pool = new Pool({ connectionString: o.databaseUrl, max: o.poolSize ?? 10 });
  // an idle session's connection dying (a restart) must fail the phase, not end the process
  pool.on('error', (e) => {
    console.error(`[baseline] idle database session lost: ${e.message}`);
  });
  let pipeline: Consumer | undefined;
  let counter: Consumer | undefined;
  let producer: Producer | undefined;
  let relaying = true;
  const relayLoops: Array<Promise<void>> = [];
  const stats = { transactions: 0, inserted: 0, relayBatches: 0, relayed: 0 };
  try {
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [inTopic, outTopic].map((topic) => ({ topic, numPartitions: o.partitions })),
    });
    await pool.query(`
      CREATE TABLE ${inbox} (
        id bigserial PRIMARY KEY,
        topic text NOT NULL,
        partition int NOT NULL,
        kafka_offset bigint NOT NULL,
        msg_key text,
        payload text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (topic, partition, kafka_offset)
      );
      CREATE TABLE ${outbox} (
        id bigserial PRIMARY KEY,
        inbox_id bigint NOT NULL REFERENCES ${inbox} (id),
        msg_key text,
        payload text NOT NULL,
        published_at timestamptz
      );
      CREATE INDEX ${outbox}_unpublished ON ${outbox} (id) WHERE published_at IS NULL;`);

    // out: count what the relay published
    const delivered: number[] = [];
    counter = o.kafka.consumer({ groupId: `bench-baseline-out-${tag}`, maxWaitTimeInMs: 10 });
    const counterJoined = joined(counter);
    await counter.connect();
    await counter.subscribe({ topics: [outTopic], fromBeginning: true });
    await counter.run({
      eachBatch: ({ batch }) => {
        const at = now();
        for (let i = 0; i < batch.messages.length; i++) delivered.push(at);
        return Promise.resolve();
      },
    });

    // the pipeline: one transaction per fetched batch, set-based writes
    pipeline = o.kafka.consumer({ groupId: `bench-baseline-in-${tag}`, maxWaitTimeInMs: 10 });
    const pipelineJoined = joined(pipeline);
    await pipeline.connect();
    await pipeline.subscribe({ topics: [inTopic], fromBeginning: true });
    await pipeline.run({
      partitionsConsumedConcurrently: o.partitions,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        if (batch.messages.length === 0) return;
        const offsets = batch.messages.map((m) => m.offset);
        const keys = batch.messages.map((m) => m.key?.toString('utf8') ?? null);
        const payloads = batch.messages.map((m) => m.value?.toString('utf8') ?? '');
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await client.query(
            `WITH i AS (
               INSERT INTO ${inbox} (topic, partition, kafka_offset, msg_key, payload)
               SELECT $1, $2, m.o, m.k, m.p FROM unnest($3::bigint[], $4::text[], $5::text[]) AS m(o, k, p)
               ON CONFLICT (topic, partition, kafka_offset) DO NOTHING
               RETURNING id, partition, kafka_offset, msg_key)
             INSERT INTO ${outbox} (inbox_id, msg_key, payload)
             SELECT id, msg_key,
                    json_build_object('inbox_id', id, 'partition', partition, 'offset', kafka_offset)::text
             FROM i`,
            [batch.topic, batch.partition, offsets, keys, payloads],
          );
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw e;
        } finally {
          client.release();
        }
        stats.transactions += 1;
        stats.inserted += batch.messages.length;
        const last = batch.messages[batch.messages.length - 1];
        if (last !== undefined) payload.resolveOffset(last.offset);
        await payload.commitOffsetsIfNecessary();
        await payload.heartbeat();
      },
    });

    // the relay: claim a batch, send it, mark it, commit
    const relayProducer = o.kafka.producer({ allowAutoTopicCreation: false });
    await relayProducer.connect();
    const relayOnce = async (): Promise<number> => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query<{
          id: string;
          msg_key: string | null;
          payload: string;
        }>(
          `SELECT id, msg_key, payload FROM ${outbox} WHERE published_at IS NULL
           ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [o.relayBatch ?? 1000],
        );
        if (rows.length > 0) {
          await relayProducer.send({
            topic: outTopic,
            messages: rows.map((r) => ({ key: r.msg_key, value: r.payload })),
          });
          await client.query(`UPDATE ${outbox} SET published_at = now() WHERE id = ANY($1)`, [
            rows.map((r) => r.id),
          ]);
        }
        await client.query('COMMIT');
        return rows.length;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    };
    for (let r = 0; r < (o.relays ?? 2); r++) {
      relayLoops.push(
        (async () => {
          while (relaying) {
            const n = await relayOnce();
            if (n > 0) {
              stats.relayBatches += 1;
              stats.relayed += n;
            } else await sleep(5);
          }
        })(),
      );
    }

    // both groups own their partitions before the clock starts
    await Promise.all([counterJoined, pipelineJoined]);

    // in: the messages, as the throughput phase publishes bills (500 a request, 4 in flight)
    producer = o.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const requests: BaselineMessage[][] = [];
    for (let i = 0; i < o.messages.length; i += 500) requests.push(o.messages.slice(i, i + 500));
    let published = 0;
    let next = 0;
    const progress = setInterval(() => o.onProgress?.(published, delivered.length), 250);
    const t0 = now();
    let tPublished = t0;
    try {
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < requests.length) {
            if (o.signal.aborted) throw new Error('interrupted');
            const chunk = requests[next++] ?? [];
            await producer?.send({ topic: inTopic, messages: chunk.map((m) => ({ ...m })) });
            published += chunk.length;
          }
        }),
      );
      tPublished = now();
      let seen = delivered.length;
      let movedAt = now();
      while (delivered.length < o.messages.length) {
        if (o.signal.aborted) throw new Error('interrupted');
        if (delivered.length !== seen) {
          seen = delivered.length;
          movedAt = now();
        } else if (now() - movedAt > (o.stallMs ?? 30_000)) break;
        await sleep(20);
      }
    } finally {
      clearInterval(progress);
    }
    relaying = false;
    await Promise.all(relayLoops);
    await relayProducer.disconnect();

    const times = [...delivered].sort((a, b) => a - b);
    const last = times[Math.min(times.length, o.messages.length) - 1] ?? Number.NaN;
    const seconds = (last - t0) / 1000;
    const at = (p: number): number => times[Math.max(0, Math.ceil(p * times.length) - 1)] ?? 0;
    const p10 = at(0.1);
    const p90 = at(0.9);
    return {
      messages: o.messages.length,
      delivered: Math.min(times.length, o.messages.length),
      publishSeconds: Math.round((tPublished - t0) / 10) / 100,
      seconds: Math.round(seconds * 100) / 100,
      messagesPerSecond: Math.round(Math.min(times.length, o.messages.length) / seconds),
      steadyMessagesPerSecond:
        times.length >= 100 && p90 > p10
          ? Math.round((Math.round(times.length * 0.8) * 1000) / (p90 - p10))
          : null,
      transactions: stats.transactions,
      meanMessagesPerTransaction:
        stats.transactions === 0 ? 0 : Math.round((10 * stats.inserted) / stats.transactions) / 10,
      relayBatches: stats.relayBatches,
      meanRelayBatch:
        stats.relayBatches === 0 ? 0 : Math.round((10 * stats.relayed) / stats.relayBatches) / 10,
    };
  } finally {
    relaying = false;
    await Promise.allSettled(relayLoops);
    await pipeline?.disconnect().catch(() => undefined);
    await counter?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [inTopic, outTopic] }).catch(() => undefined);
    await admin
      .deleteGroups([`bench-baseline-in-${tag}`, `bench-baseline-out-${tag}`])
      .catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await pool.query(`DROP TABLE IF EXISTS ${outbox}, ${inbox}`).catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}
