/**
 * Kafka-range replay (issue 5 item 3): re-reads a topic of discharge messages between offsets or
 * timestamps with a consumer group of its own (no offset committed, production untouched) and
 * feeds each message to the same audit comparison as the archive replay: the message is found in
 * the inbox by its position, and the settlement it became is recomputed from the bytes read from
 * Kafka now. Messages that became something else (a reject, a duplicate answer, an admission)
 * are counted by outcome; a message the gateway never took in is listed.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '@onebill/ledger';
import type { InboundMessage, KafkaClient, RangeBounds, PartitionRange } from '@onebill/messaging';
import type { RuleBook } from '@onebill/rules';
import type { FieldDiff } from './compare';
import {
  type BillDifference,
  type Progress,
  Meter,
  RuleCache,
  auditOne,
  differenceHead,
  message,
} from './replay';
import { type StoredSettlement, scanSettlements } from './stored';

export interface KafkaAuditReport {
  kind: 'kafka-audit';
  topic: string;
  groupId: string;
  ranges: PartitionRange[];
  startedAt: string;
  finishedAt: string;
  seconds: number;
  /** messages read from Kafka */
  read: number;
  /** what the messages became in the gateway (inbox status), 'not-consumed' when nothing */
  outcomes: Record<string, number>;
  /** settlements recomputed from the re-read messages */
  total: number;
  matched: number;
  differing: number;
  failed: number;
  differences: BillDifference[];
  notConsumed: { partition: number; offset: string }[];
  truncated: boolean;
}

interface InboxPos {
  partition: number;
  offset: string;
  status: string;
  setl_id: string | null;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export async function kafkaRangeAudit(
  q: Queryable,
  rules: RuleBook,
  kafka: KafkaClient,
  bounds: RangeBounds,
  opts: { maxListed?: number; onProgress?: (p: Progress) => void } = {},
): Promise<KafkaAuditReport> {
  const startedAt = new Date().toISOString();
  const maxListed = opts.maxListed ?? 1000;
  const cache = new RuleCache(rules);
  const meter = new Meter(0, 1000, opts.onProgress);
  const outcomes: Record<string, number> = {};
  const differences: BillDifference[] = [];
  const notConsumed: { partition: number; offset: string }[] = [];
  let total = 0;
  let matched = 0;
  let differing = 0;
  let failed = 0;
  let listedOver = false;
  const list = (d: BillDifference): void => {
    if (differences.length < maxListed) differences.push(d);
    else listedOver = true;
  };

  const onMessages = async (messages: InboundMessage[]): Promise<void> => {
    const { rows } = await q.query<InboxPos>(
      `SELECT i.partition, i."offset"::text AS offset, i.status, i.setl_id
       FROM inbox i
       WHERE i.source = 'kafka' AND i.topic = $1
         AND (i.partition, i."offset") IN (SELECT * FROM unnest($2::int[], $3::bigint[]))`,
      [bounds.topic, messages.map((m) => m.partition), messages.map((m) => m.offset)],
    );
    const byPos = new Map(rows.map((r) => [`${r.partition}:${r.offset}`, r]));
    const wanted = new Map<string, InboundMessage[]>();
    for (const m of messages) {
      const pos = byPos.get(`${m.partition}:${m.offset}`);
      const outcome = pos?.status ?? 'not-consumed';
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      if (pos === undefined) {
        if (notConsumed.length < maxListed)
          notConsumed.push({ partition: m.partition, offset: m.offset });
        continue;
      }
      // a settled message, or a redelivery answered with the settlement it duplicates
      if ((pos.status === 'settled' || pos.status === 'duplicate') && pos.setl_id !== null) {
        const list = wanted.get(pos.setl_id) ?? [];
        list.push(m);
        wanted.set(pos.setl_id, list);
      }
    }
    if (wanted.size > 0) {
      const stored: StoredSettlement[] = [];
      await scanSettlements(q, { setlIds: [...wanted.keys()] }, (page) => {
        stored.push(...page);
      });
      for (const s of stored) {
        for (const m of wanted.get(s.setlId) ?? []) {
          total += 1;
          const head = differenceHead(s);
          const value = m.value ?? Buffer.alloc(0);
          const extra: FieldDiff[] = [];
          // the bytes read now against the archived copy (equal bytes need no hashing)
          if (s.payload !== null && !Buffer.from(s.payload, 'utf8').equals(value)) {
            extra.push({
              field: 'message',
              stored: `archive sha256 ${sha(Buffer.from(s.payload, 'utf8'))}`,
              replayed: `kafka ${m.partition}:${m.offset} sha256 ${sha(value)}`,
            });
          }
          try {
            // the bill as read from Kafka now, by the one decoder (not the stored canonical bill)
            const fromKafka = { ...s, bodyCanonical: null, payload: value.toString('utf8') };
            const diffs = [...extra, ...auditOne(fromKafka, cache)];
            if (diffs.length === 0) matched += 1;
            else {
              differing += 1;
              list({ ...head, diffs });
            }
          } catch (e) {
            failed += 1;
            list({ ...head, diffs: extra, error: message(e) });
          }
        }
      }
    }
    meter.tick(messages.length);
  };

  const result = await kafka.readRange(bounds, onMessages);
  return {
    kind: 'kafka-audit',
    topic: bounds.topic,
    groupId: result.groupId,
    ranges: result.ranges,
    startedAt,
    finishedAt: new Date().toISOString(),
    seconds: meter.seconds(),
    read: result.read,
    outcomes,
    total,
    matched,
    differing,
    failed,
    differences,
    notConsumed,
    truncated: listedOver || notConsumed.length >= maxListed,
  };
}
