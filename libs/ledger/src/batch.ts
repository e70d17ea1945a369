/**
 * Set-based writers for group commit (docs/adr/0020-group-commit.md): each writes the rows of a
 * whole batch in ONE statement, `INSERT … SELECT … FROM unnest($1::text[], …) WITH ORDINALITY`.
 *
 * Every array travels as `text[]` and is cast column by column in SQL: node-postgres and PGlite
 * serialise a `text[]` parameter the same way (NULL elements included), whereas their handling of
 * `jsonb[]`, `bytea[]` or `numeric[]` parameters differs. Bytes travel as hex and are decoded in
 * SQL. Rows are inserted in input order (`ORDER BY ord`; PostgreSQL evaluates the serial's
 * `nextval` after the sort), so ids follow the batch's message order and the archive triggers
 * copy the rows in that order, as one-by-one inserts would.
 *
 * The archive needs no writer of its own: its row triggers copy each inserted row within these
 * statements, server-side (no extra round trip), with the same content and content hash as a
 * one-row insert; the hash chain is computed by the sealer (archive.ts), in memory and in order,
 * and inserted one statement per sealed batch.
 */
import type { Accumulators } from '@onebill/engine';
import type { Queryable } from './db';
import { BODY_HASH_FORM } from './bill-identity';
import {
  type IdentityPeriod,
  type PeriodRow,
  currentPeriodsSql,
  periodsByPerson,
} from './identities';
import {
  type FirstDeliveryRow,
  type InboxRef,
  type InboxStatus,
  type LockedAccumulators,
  type NewInbox,
  type NewSettlement,
  type OutboxEvent,
  SETTLEMENT_COLUMNS,
  SETTLEMENT_INSERT_COLUMNS,
  type SettlementDbRow,
  type SettlementRow,
  insertedRef,
  redeliveryRef,
  settlementInsertValues,
  sha256,
  storableText,
  toSettlement,
  json,
  zeroAccumulators,
} from './repositories';

/** A value as an element of a `text[]` parameter. */
function t(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  throw new Error(`a batch column takes text and numbers, not ${typeof v}`);
}

/** A transport's text as `text` can hold it (U+0000 → U+FFFD), as insertInbox stores it. */
function noNul(text: string | null | undefined): string | null {
  return text === null || text === undefined ? null : text.replace(/\u0000/g, '\uFFFD');
}

/** Columns of `list` as text arrays: `columns(list, [r => r.a, r => r.b])`. */
function columns<T>(list: readonly T[], getters: Array<(row: T) => unknown>): (string | null)[][] {
  return getters.map((get) => list.map((row) => t(get(row))));
}

/** `unnest($1::text[], …, $n::text[]) WITH ORDINALITY AS u(c1, …, cn, ord)` */
function unnestOf(names: readonly string[], from = 1): string {
  const params = names.map((_n, i) => `$${from + i}::text[]`).join(', ');
  return `unnest(${params}) WITH ORDINALITY AS u(${names.join(', ')}, ord)`;
}

// ---------------------------------------------------------------- inbox

const INBOX_NAMES = [
  'source',
  'topic',
  'part',
  'off',
  'key',
  'payload',
  'bytes_hex',
  'size',
  'sha',
  'status',
  'corr',
  'fixmedins',
  'submitted_by',
  'resubmission_of',
] as const;

/**
 * Records many consumed or received messages in one statement (plus one to read the first rows of
 * redelivered Kafka positions, only when there are some). Returns one InboxRef per message, in
 * input order, exactly as insertInbox would for each: `inserted: false` with the first outcome for
 * a Kafka position already recorded. Resubmission links (markResubmitted) are the caller's, as
 * after insertInbox.
 */
export async function insertInboxBatch(
  q: Queryable,
  messages: readonly NewInbox[],
): Promise<InboxRef[]> {
  if (messages.length === 0) return [];
  const prepared = messages.map((m) => {
    const bytes = Buffer.from(m.payloadBytes ?? Buffer.from(m.payload ?? '', 'utf8'));
    return { m, bytes };
  });
  const cols = columns(prepared, [
    ({ m }) => m.source,
    ({ m }) => m.topic ?? null,
    ({ m }) => m.partition ?? null,
    ({ m }) => m.offset ?? null,
    ({ m }) => noNul(m.key),
    ({ m }) => storableText(m.payload),
    ({ bytes }) => bytes.toString('hex'),
    ({ m, bytes }) => m.payloadSize ?? bytes.length,
    ({ m, bytes }) => m.payloadSha256 ?? sha256(bytes),
    ({ m }) => m.status,
    ({ m }) => noNul(m.correlationId),
    ({ m }) => m.fixmedinsCode ?? null,
    ({ m }) => m.submittedBy ?? null,
    ({ m }) => m.resubmissionOf ?? null,
  ]);
  const { rows } = await q.query<{
    id: string;
    source: string;
    topic: string | null;
    partition: number | null;
    offset: string | null;
    status: InboxStatus;
  }>(
    `INSERT INTO inbox (source, topic, partition, "offset", key, payload, payload_bytes,
                        payload_size, payload_sha256, status, correlation_id, fixmedins_code,
                        submitted_by, resubmission_of)
     SELECT u.source, u.topic, u.part::integer, u.off::bigint, u.key, u.payload,
            decode(u.bytes_hex, 'hex'), u.size::integer, u.sha, u.status, u.corr, u.fixmedins,
            u.submitted_by, u.resubmission_of::bigint
       FROM ${unnestOf(INBOX_NAMES)}
      ORDER BY u.ord
     ON CONFLICT (topic, partition, "offset") WHERE source = 'kafka' DO NOTHING
     RETURNING id::text AS id, source, topic, partition, "offset"::text AS "offset", status`,
    cols,
  );
  const position = (topic: unknown, partition: unknown, offset: unknown): string =>
    `${String(topic)}\u0000${String(partition)}\u0000${String(offset)}`;
  const byPosition = new Map<string, { id: string; status: InboxStatus }>();
  // rows without a Kafka position never conflict: their ids follow the input order
  const others: Array<{ id: string; status: InboxStatus }> = [];
  for (const r of rows) {
    if (r.source === 'kafka') byPosition.set(position(r.topic, r.partition, r.offset), r);
    else others.push(r);
  }
  others.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  const isKafka = (m: NewInbox): boolean => m.source === 'kafka';
  const missing = messages.filter(
    (m) => isKafka(m) && !byPosition.has(position(m.topic, m.partition, m.offset)),
  );
  const firstRows = new Map<string, FirstDeliveryRow>();
  if (missing.length > 0) {
    const { rows: found } = await q.query<
      FirstDeliveryRow & { topic: string; partition: number; offset: string }
    >(
      `SELECT i.id::text AS id, i.topic, i.partition, i."offset"::text AS "offset", i.status,
              i.setl_id, i.reject_id::text AS reject_id, i.correlation_id
         FROM inbox i JOIN ${unnestOf(['topic', 'part', 'off'])}
           ON i.source = 'kafka' AND i.topic = u.topic AND i.partition = u.part::integer
          AND i."offset" = u.off::bigint`,
      columns(missing, [(m) => m.topic, (m) => m.partition, (m) => m.offset]),
    );
    for (const r of found) firstRows.set(position(r.topic, r.partition, r.offset), r);
  }
  let other = 0;
  // two messages of one batch at one position: the first is inserted, the second answers it
  const seen = new Map<string, string | null>();
  return messages.map((m) => {
    if (!isKafka(m)) {
      const r = others[other++];
      if (!r) throw new Error('inbox batch returned fewer rows than it was given');
      return insertedRef(r, m);
    }
    const key = position(m.topic, m.partition, m.offset);
    const mine = byPosition.get(key);
    if (mine && !seen.has(key)) {
      seen.set(key, m.correlationId ?? null);
      return insertedRef(mine, m);
    }
    const first =
      firstRows.get(key) ??
      (mine
        ? { ...mine, setl_id: null, reject_id: null, correlation_id: seen.get(key) ?? null }
        : undefined);
    return redeliveryRef(first);
  });
}

export interface InboxStatusUpdate {
  id: string;
  status: InboxStatus;
  setlId?: string | null;
  rejectId?: string | null;
}

/** setInboxStatus for many rows in one statement (one update per id: the last one given wins). */
export async function setInboxStatusBatch(
  q: Queryable,
  updates: readonly InboxStatusUpdate[],
): Promise<number> {
  if (updates.length === 0) return 0;
  const last = new Map<string, InboxStatusUpdate>();
  for (const u of updates) last.set(u.id, u);
  const list = [...last.values()];
  const { rowCount } = await q.query(
    `UPDATE inbox i SET status = u.status, setl_id = coalesce(u.setl_id, i.setl_id),
            reject_id = coalesce(u.reject_id::bigint, i.reject_id)
       FROM ${unnestOf(['id', 'status', 'setl_id', 'reject_id'])}
      WHERE i.id = u.id::bigint`,
    columns(list, [(u) => u.id, (u) => u.status, (u) => u.setlId, (u) => u.rejectId]),
  );
  return rowCount;
}

// ---------------------------------------------------------------- settlements

/** SQL casts of settlementInsertValues' positions (0-based) from text. */
const SETTLEMENT_CASTS: Record<number, string> = {
  4: '::integer',
  9: '::bigint',
  25: '::jsonb',
  27: '::uuid',
  28: '::jsonb',
  29: '::jsonb',
};
for (let k = 10; k <= 24; k++) SETTLEMENT_CASTS[k] = '::numeric(14,2)';
const SETTLEMENT_WIDTH = 31;
const SETTLEMENT_NAMES = Array.from({ length: SETTLEMENT_WIDTH }, (_v, k) => `c${k}`);

/**
 * insertSettlement for many bills in one statement. Returns, per input, the stored row or null
 * where the bill was already settled (by another transaction, or earlier in this list): the
 * partial unique index decides, as for one row. Only the settlement time comes back from the
 * database (`created_at`, clock_timestamp() at insert); the rest of the row is what was given,
 * as insertSettlement would read it back (reading back and parsing every result's JSON took as
 * long as the insert itself).
 */
export async function insertSettlementsBatch(
  q: Queryable,
  list: readonly NewSettlement[],
): Promise<Array<SettlementRow | null>> {
  if (list.length === 0) return [];
  const values = list.map(settlementInsertValues);
  if (values[0]?.length !== SETTLEMENT_WIDTH) {
    throw new Error(
      `a settlement has ${values[0]?.length} columns, the batch writer expects ${SETTLEMENT_WIDTH}`,
    );
  }
  const cols = SETTLEMENT_NAMES.map((_n, k) => values.map((v) => t(v[k])));
  const select = SETTLEMENT_NAMES.map((n, k) => `u.${n}${SETTLEMENT_CASTS[k] ?? ''}`).join(', ');
  const { rows } = await q.query<{ setl_id: string; created_at: Date }>(
    `INSERT INTO settlements (${SETTLEMENT_INSERT_COLUMNS})
     SELECT ${select} FROM ${unnestOf(SETTLEMENT_NAMES)} ORDER BY u.ord
     ON CONFLICT (fixmedins_code, mdtrt_id) WHERE status = 'settled' DO NOTHING
     RETURNING setl_id, created_at`,
    cols,
  );
  const byId = new Map(rows.map((r) => [r.setl_id, r.created_at]));
  return list.map((s) => {
    const createdAt = byId.get(s.setlId);
    return createdAt === undefined ? null : { ...settlementRowOf(s), createdAt };
  });
}

/** The row insertSettlement returns for `s`, without reading it back (createdAt: now). */
export function settlementRowOf(s: NewSettlement): SettlementRow {
  return {
    setlId: s.setlId,
    fixmedinsCode: s.bill.fixmedinsCode,
    mdtrtId: s.bill.mdtrtId,
    psnNo: s.bill.psnNo,
    year: s.result.accumulators.year,
    bodyHash: s.bodyHash,
    // new rows are keyed in the current canonical form (migration 0012's default)
    bodyHashForm: BODY_HASH_FORM,
    ruleSetVersion: s.result.ruleSetVersion,
    categoryUsed: s.result.categoryUsed,
    clrOptins: s.clrOptins,
    inboxId: s.inboxId ?? null,
    setlTime: s.setlTime,
    eventId: s.eventId,
    // as read back from jsonb: copies, not the caller's objects
    accumulatorsBefore: structuredClone(s.accumulatorsBefore),
    result: structuredClone(s.result),
    status: 'settled',
    createdAt: new Date(),
    reversedAt: null,
  };
}

/** The bills' current settlements (status settled), keyed by `billKey`. */
export async function findSettlementsByBills(
  q: Queryable,
  bills: ReadonlyArray<{ fixmedinsCode: string; mdtrtId: string }>,
): Promise<Map<string, SettlementRow>> {
  const found = new Map<string, SettlementRow>();
  if (bills.length === 0) return found;
  const { rows } = await q.query<SettlementDbRow>(
    `SELECT ${SETTLEMENT_COLUMNS} FROM settlements s
       JOIN (SELECT DISTINCT u.code, u.visit FROM ${unnestOf(['code', 'visit'])}) b
         ON s.fixmedins_code = b.code AND s.mdtrt_id = b.visit
      WHERE s.status = 'settled'`,
    columns(bills, [(b) => b.fixmedinsCode, (b) => b.mdtrtId]),
  );
  for (const r of rows) found.set(billKey(r.fixmedins_code, r.mdtrt_id), toSettlement(r));
  return found;
}

export function billKey(fixmedinsCode: string, mdtrtId: string): string {
  return `${fixmedinsCode}\u0000${mdtrtId}`;
}

// ---------------------------------------------------------------- accumulators

export interface PersonYear {
  psnNo: string;
  year: number;
}

export function personKey(psnNo: string, year: number): string {
  return `${psnNo}\u0000${year}`;
}

/**
 * lockAccumulators for many people in ONE statement: each (person, year) row is created at zero if
 * missing and row-locked until the transaction ends, in one fixed order — sorted by psn_no, then
 * year, by the database's collation — whatever the order given. Every batch, lane and gateway
 * instance takes its people's locks in that order, so none waits for another while holding a
 * lock that one needs (no deadlock between batches).
 *
 * As lockAccumulators: `INSERT … ON CONFLICT DO UPDATE` with a no-op update takes the row lock on
 * existing rows and returns them as they are; the archive's update trigger ignores it (data and
 * version unchanged); a created row is archived by the insert trigger, as one by one.
 */
export async function lockAccumulatorsBatch(
  q: Queryable,
  people: readonly PersonYear[],
): Promise<Map<string, LockedAccumulators>> {
  const unique = new Map<string, PersonYear>();
  for (const p of people) unique.set(personKey(p.psnNo, p.year), p);
  const locked = new Map<string, LockedAccumulators>();
  if (unique.size === 0) return locked;
  const list = [...unique.values()];
  const { rows } = await q.query<{
    psn_no: string;
    year: number;
    data: Accumulators | string;
    version: number;
  }>(
    `INSERT INTO accumulators (psn_no, year, data)
     SELECT u.psn_no, u.year::integer, u.data::jsonb FROM ${unnestOf(['psn_no', 'year', 'data'])}
      ORDER BY u.psn_no, u.year::integer
     ON CONFLICT (psn_no, year) DO UPDATE SET psn_no = accumulators.psn_no
     RETURNING psn_no, year, data, version`,
    columns(list, [(p) => p.psnNo, (p) => p.year, (p) => JSON.stringify(zeroAccumulators(p.year))]),
  );
  for (const r of rows) {
    locked.set(personKey(r.psn_no, r.year), { data: json(r.data), version: r.version });
  }
  if (locked.size !== unique.size) {
    throw new Error(`locked ${locked.size} accumulator rows of ${unique.size}`);
  }
  return locked;
}

export interface AccumulatorsWrite {
  psnNo: string;
  data: Accumulators;
  /** the version the row was locked at (or last written at) */
  expectedVersion: number;
  /** the version to write: expectedVersion + the number of bills applied since */
  version: number;
}

/**
 * saveAccumulators for many people in one statement: each row gets its new position and version,
 * if it is still at the version expected (a write without the lock fails, as one by one).
 */
export async function saveAccumulatorsBatch(
  q: Queryable,
  writes: readonly AccumulatorsWrite[],
): Promise<void> {
  if (writes.length === 0) return;
  const { rowCount } = await q.query(
    `UPDATE accumulators a SET data = u.data::jsonb, version = u.version::integer,
            updated_at = now()
       FROM ${unnestOf(['psn_no', 'year', 'data', 'expected', 'version'])}
      WHERE a.psn_no = u.psn_no AND a.year = u.year::integer AND a.version = u.expected::integer`,
    columns(writes, [
      (w) => w.psnNo,
      (w) => w.data.year,
      (w) => JSON.stringify(w.data),
      (w) => w.expectedVersion,
      (w) => w.version,
    ]),
  );
  if (rowCount !== writes.length) {
    throw new Error(
      `accumulators: ${writes.length - rowCount} of ${writes.length} rows are not at the version expected`,
    );
  }
}

// ---------------------------------------------------------------- outbox

/** insertOutboxMany as `INSERT … SELECT FROM unnest`: how many were new (known ids are skipped). */
export async function insertOutboxBatch(
  q: Queryable,
  events: readonly OutboxEvent[],
): Promise<number> {
  if (events.length === 0) return 0;
  const { rowCount } = await q.query(
    `INSERT INTO outbox (event_id, topic, key, payload, headers)
     SELECT u.event_id::uuid, u.topic, u.key, u.payload, u.headers::jsonb
       FROM ${unnestOf(['event_id', 'topic', 'key', 'payload', 'headers'])}
      ORDER BY u.ord
     ON CONFLICT (event_id) DO NOTHING`,
    columns(events, [
      (e) => e.eventId,
      (e) => e.topic,
      (e) => e.key,
      (e) => e.payload,
      (e) => JSON.stringify(e.headers),
    ]),
  );
  return rowCount;
}

// ---------------------------------------------------------------- identities

/**
 * identityPeriods for many people in one statement: the same query (currentPeriodsSql, withdrawn
 * periods left out), so the same periods in the same order per person.
 */
export async function identityPeriodsBatch(
  q: Queryable,
  psnNos: readonly string[],
): Promise<Map<string, IdentityPeriod[]>> {
  const people = [...new Set(psnNos)];
  const out = new Map<string, IdentityPeriod[]>(people.map((p) => [p, []]));
  if (people.length === 0) return out;
  const { rows } = await q.query<PeriodRow>(currentPeriodsSql('c.psn_no = ANY($1::text[])'), [
    people,
  ]);
  return periodsByPerson(rows, out);
}
