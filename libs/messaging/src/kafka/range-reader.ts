/**
 * Reads a topic between offsets or timestamps, once, for audit (issue 5 item 3): its own
 * consumer group (never the gateway's), no offset ever committed, the group deleted at the end.
 * Production offsets are not touched.
 */
import type { Kafka } from 'kafkajs';
import type { InboundMessage } from './consumer';

export interface RangeBounds {
  topic: string;
  /** a group id of the audit's own; default onebill-audit-<time>-<random> */
  groupId?: string;
  /** first offset to read (inclusive), per partition or for all; default the log start */
  fromOffset?: string | Record<number, string>;
  /** last offset to read (inclusive), per partition or for all; default the end at the start */
  toOffset?: string | Record<number, string>;
  /** read messages stamped at or after this time (ms since the epoch) */
  fromTimestamp?: number;
  /** read messages stamped before this time (ms since the epoch) */
  toTimestamp?: number;
  /** give up when nothing arrives for this long (ms); default 30 000 */
  idleTimeoutMs?: number;
}

export interface PartitionRange {
  partition: number;
  /** inclusive */
  start: string;
  /** exclusive */
  end: string;
}

export interface RangeResult {
  groupId: string;
  ranges: PartitionRange[];
  read: number;
}

const pick = (v: string | Record<number, string> | undefined, p: number): string | undefined =>
  v === undefined ? undefined : typeof v === 'string' ? v : v[p];

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** Resolves the bounds to offsets per partition: [start, end) within what the log holds now. */
export async function resolveRange(kafka: Kafka, b: RangeBounds): Promise<PartitionRange[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const marks = await admin.fetchTopicOffsets(b.topic);
    const fromTs =
      b.fromTimestamp === undefined
        ? undefined
        : await admin.fetchTopicOffsetsByTimestamp(b.topic, b.fromTimestamp);
    const toTs =
      b.toTimestamp === undefined
        ? undefined
        : await admin.fetchTopicOffsetsByTimestamp(b.topic, b.toTimestamp);
    return marks
      .map((m) => {
        const low = BigInt(m.low);
        const high = BigInt(m.high);
        let start = low;
        const from = pick(b.fromOffset, m.partition);
        if (from !== undefined) start = max(start, BigInt(from));
        const ts = fromTs?.find((x) => x.partition === m.partition)?.offset;
        if (ts !== undefined && ts !== '-1') start = max(start, BigInt(ts));
        let end = high;
        const to = pick(b.toOffset, m.partition);
        if (to !== undefined) end = min(end, BigInt(to) + 1n);
        const te = toTs?.find((x) => x.partition === m.partition)?.offset;
        if (te !== undefined && te !== '-1') end = min(end, BigInt(te));
        return { partition: m.partition, start: start.toString(), end: max(end, start).toString() };
      })
      .sort((x, y) => x.partition - y.partition);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Calls `onMessages` with the messages of the range, partition by partition in offset order, and
 * resolves when every partition reached its end.
 */
export async function readRange(
  kafka: Kafka,
  bounds: RangeBounds,
  onMessages: (messages: InboundMessage[]) => Promise<void>,
): Promise<RangeResult> {
  const groupId =
    bounds.groupId ?? `onebill-audit-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const ranges = await resolveRange(kafka, bounds);
  const pending = new Map(
    ranges.filter((r) => BigInt(r.start) < BigInt(r.end)).map((r) => [r.partition, r]),
  );
  // the next offset wanted per partition: a batch fetched before the seek took effect may come
  // again after it, and nothing is delivered twice
  const next = new Map([...pending.values()].map((r) => [r.partition, BigInt(r.start)]));
  let read = 0;
  if (pending.size === 0) return { groupId, ranges, read };
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 200 });
  const idleMs = bounds.idleTimeoutMs ?? 30_000;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [bounds.topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      let idle = setTimeout(onIdle, idleMs);
      function onIdle(): void {
        reject(
          new Error(
            `no message of ${bounds.topic} for ${idleMs} ms; still to read: ${[...pending.values()]
              .map((r) => `partition ${r.partition} up to ${r.end}`)
              .join(', ')}`,
          ),
        );
      }
      consumer
        .run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch }) => {
            const range = pending.get(batch.partition);
            if (range === undefined) return;
            clearTimeout(idle);
            idle = setTimeout(onIdle, idleMs);
            const from = next.get(batch.partition) ?? BigInt(range.start);
            const end = BigInt(range.end);
            const inRange = batch.messages
              .filter((m) => BigInt(m.offset) >= from && BigInt(m.offset) < end)
              .map((m): InboundMessage => ({
                topic: batch.topic,
                partition: batch.partition,
                offset: m.offset,
                key: m.key,
                value: m.value,
                headers: {},
                timestamp: m.timestamp,
              }));
            if (inRange.length > 0) {
              await onMessages(inRange);
              read += inRange.length;
              next.set(batch.partition, BigInt(inRange.at(-1)!.offset) + 1n);
            }
            const last = batch.messages.at(-1);
            if (last !== undefined && BigInt(last.offset) >= end - 1n) {
              pending.delete(batch.partition);
              consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
              if (pending.size === 0) {
                clearTimeout(idle);
                resolve();
              }
            }
          },
        })
        .then(() => {
          // run() resolves once fetching started: position every partition at its start
          for (const r of pending.values()) {
            consumer.seek({ topic: bounds.topic, partition: r.partition, offset: r.start });
          }
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups([groupId]);
    } catch {
      // the group expires by itself; nothing was committed to it
    } finally {
      await admin.disconnect();
    }
  }
  return { groupId, ranges, read };
}
