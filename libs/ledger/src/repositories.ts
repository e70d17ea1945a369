/**
 * The ledger's queries. Each takes the `Queryable` to run on: inside a transaction, pass the
 * transaction's handle. Money columns are numeric(14,2) and travel as strings; the full engine
 * result is kept as JSONB beside them so a settlement can be explained and replayed.
 */
import { createHash } from 'node:crypto';
import type { Accumulators, Bill, SettlementResult } from '@onebill/engine';
import { traceHeaders } from '@onebill/observability/tracing';
import type { Queryable } from './db';
import { type BodyHashForm, canonicalBill } from './bill-identity';

export function sha256(text: string | Uint8Array): string {
  return typeof text === 'string'
    ? createHash('sha256').update(text, 'utf8').digest('hex')
    : createHash('sha256').update(text).digest('hex');
}

/** A transport's text (Kafka key, header) as `text` can hold it: U+0000 becomes U+FFFD. */
function noNul(text: string | null): string | null {
  return text === null ? null : text.replace(/\u0000/g, '\uFFFD');
}

/** Text PostgreSQL can store as `text`: anything but U+0000 (invalid UTF-8 never reaches here). */
export function storableText(text: string | null): string | null {
  return text === null || text.includes('\u0000') ? null : text;
}

// ---------------------------------------------------------------- inbox

// a bill's identity (body_hash and its form): bill-identity.ts, docs/adr/0017

export type InboxSource = 'kafka' | 'http';
export type InboxStatus =
  | 'received'
  | 'settled'
  | 'reversed'
  | 'rejected'
  | 'conflict'
  | 'duplicate'
  | 'admitted'
  /** an identity change (identity.changes.v1) recorded in the registry */
  | 'recorded';

export interface NewInbox {
  source: InboxSource;
  topic?: string | null;
  partition?: number | null;
  offset?: string | null;
  key?: string | null;
  /**
   * The message's text where its bytes decode to text; null (or text with U+0000, stored as
   * NULL) where they do not (docs/adr/0012-hostile-input.md).
   */
  payload: string | null;
  /** the bytes as they came (or their first bytes, for a message far over the size cap); by default the UTF-8 of `payload` */
  payloadBytes?: Uint8Array;
  /** the whole message's size and SHA-256, when payloadBytes is only a prefix */
  payloadSize?: number;
  payloadSha256?: string;
  status: InboxStatus;
  correlationId?: string | null;
  /** the hospital the message names, read from the raw text (may not decode) */
  fixmedinsCode?: string | null;
  /** the credential that submitted it over HTTP or the console */
  submittedBy?: string | null;
  /** the reject this message is a fixed resubmission of */
  resubmissionOf?: string | null;
}

export interface InboxRef {
  id: string;
  /** false when this Kafka position was already recorded (a redelivery); id is then the first row's */
  inserted: boolean;
  status: InboxStatus;
  /** for a redelivery: what the first delivery became */
  setlId: string | null;
  rejectId: string | null;
  correlationId: string | null;
}

/** Records a consumed or received message. A Kafka position is recorded once. */
export async function insertInbox(q: Queryable, message: NewInbox): Promise<InboxRef> {
  const bytes = Buffer.from(message.payloadBytes ?? Buffer.from(message.payload ?? '', 'utf8'));
  const params = [
    message.source,
    message.topic ?? null,
    message.partition ?? null,
    message.offset ?? null,
    noNul(message.key ?? null),
    storableText(message.payload),
    bytes,
    message.payloadSize ?? bytes.length,
    message.payloadSha256 ?? sha256(bytes),
    message.status,
    noNul(message.correlationId ?? null),
    message.fixmedinsCode ?? null,
    message.submittedBy ?? null,
    message.resubmissionOf ?? null,
  ];
  const inserted = await q.query<{ id: string; status: InboxStatus }>(
    `INSERT INTO inbox (source, topic, partition, "offset", key, payload, payload_bytes,
                        payload_size, payload_sha256, status, correlation_id, fixmedins_code,
                        submitted_by, resubmission_of)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     ON CONFLICT (topic, partition, "offset") WHERE source = 'kafka' DO NOTHING
     RETURNING id::text AS id, status`,
    params,
  );
  const row = inserted.rows[0];
  if (row) return insertedRef(row, message);
  const existing = await q.query<FirstDeliveryRow>(
    `SELECT id::text AS id, status, setl_id, reject_id::text AS reject_id, correlation_id FROM inbox
     WHERE source = 'kafka' AND topic = $1 AND partition = $2 AND "offset" = $3`,
    [message.topic, message.partition, message.offset],
  );
  return redeliveryRef(existing.rows[0]);
}

/** The InboxRef of a message just recorded (nothing it became yet). */
export function insertedRef(
  row: { id: string; status: InboxStatus },
  message: Pick<NewInbox, 'correlationId'>,
): InboxRef {
  return {
    id: row.id,
    inserted: true,
    status: row.status,
    setlId: null,
    rejectId: null,
    correlationId: message.correlationId ?? null,
  };
}

/** The inbox row first recorded at a Kafka position, as a redelivery reads it. */
export interface FirstDeliveryRow {
  id: string;
  status: InboxStatus;
  setl_id: string | null;
  reject_id: string | null;
  correlation_id: string | null;
}

/** The InboxRef of a redelivery: the first delivery's row and what it became. */
export function redeliveryRef(first: FirstDeliveryRow | undefined): InboxRef {
  if (!first) throw new Error('inbox conflict without an existing row');
  return {
    id: first.id,
    inserted: false,
    status: first.status,
    setlId: first.setl_id,
    rejectId: first.reject_id,
    correlationId: first.correlation_id,
  };
}

export async function setInboxStatus(
  q: Queryable,
  id: string,
  status: InboxStatus,
  ref: { setlId?: string | null; rejectId?: string | null } = {},
): Promise<void> {
  await q.query(
    `UPDATE inbox SET status = $2, setl_id = coalesce($3, setl_id), reject_id = coalesce($4::bigint, reject_id)
     WHERE id = $1`,
    [id, status, ref.setlId ?? null, ref.rejectId ?? null],
  );
}

// ---------------------------------------------------------------- settlements

export type SettlementStatus = 'settled' | 'reversed';

export interface SettlementRow {
  setlId: string;
  fixmedinsCode: string;
  mdtrtId: string;
  psnNo: string;
  year: number;
  bodyHash: string;
  /** the canonical form body_hash is in: c0 before migration 0012, c1 since (docs/adr/0017) */
  bodyHashForm: BodyHashForm;
  ruleSetVersion: string;
  categoryUsed: string | null;
  clrOptins: string;
  inboxId: string | null;
  setlTime: string;
  eventId: string;
  accumulatorsBefore: Accumulators;
  result: SettlementResult;
  status: SettlementStatus;
  createdAt: Date;
  reversedAt: Date | null;
}

export interface SettlementDbRow {
  setl_id: string;
  fixmedins_code: string;
  mdtrt_id: string;
  psn_no: string;
  year: number;
  body_hash: string;
  body_hash_form: BodyHashForm;
  rule_set_version: string;
  category_used: string | null;
  clr_optins: string;
  inbox_id: string | null;
  setl_time: string;
  event_id: string;
  accumulators_before: Accumulators | string;
  result: SettlementResult | string;
  status: SettlementStatus;
  created_at: Date;
  reversed_at: Date | null;
}

export const SETTLEMENT_COLUMNS = `setl_id, fixmedins_code, mdtrt_id, psn_no, year, body_hash, body_hash_form, rule_set_version,
  category_used, clr_optins, inbox_id::text AS inbox_id, setl_time, event_id::text AS event_id,
  accumulators_before, result, status, created_at, reversed_at`;

/** A json/jsonb column as the driver hands it: parsed (pg) or text (some PGlite paths). */
export function json<T>(v: T | string): T {
  return typeof v === 'string' ? (JSON.parse(v) as T) : v;
}

export function toSettlement(row: SettlementDbRow): SettlementRow {
  return {
    setlId: row.setl_id,
    fixmedinsCode: row.fixmedins_code,
    mdtrtId: row.mdtrt_id,
    psnNo: row.psn_no,
    year: row.year,
    bodyHash: row.body_hash,
    bodyHashForm: row.body_hash_form,
    ruleSetVersion: row.rule_set_version,
    categoryUsed: row.category_used,
    clrOptins: row.clr_optins,
    inboxId: row.inbox_id,
    setlTime: row.setl_time,
    eventId: row.event_id,
    accumulatorsBefore: json(row.accumulators_before),
    result: json(row.result),
    status: row.status,
    createdAt: row.created_at,
    reversedAt: row.reversed_at,
  };
}

/** The bill's current settlement (status settled), or null. */
export async function findSettlementByBill(
  q: Queryable,
  fixmedinsCode: string,
  mdtrtId: string,
): Promise<SettlementRow | null> {
  const { rows } = await q.query<SettlementDbRow>(
    `SELECT ${SETTLEMENT_COLUMNS} FROM settlements
     WHERE fixmedins_code = $1 AND mdtrt_id = $2 AND status = 'settled'`,
    [fixmedinsCode, mdtrtId],
  );
  return rows[0] ? toSettlement(rows[0]) : null;
}

/** The visit's latest settlement whatever its status (a reversed one included), or null. */
export async function findLatestSettlementOfBill(
  q: Queryable,
  fixmedinsCode: string,
  mdtrtId: string,
): Promise<SettlementRow | null> {
  const { rows } = await q.query<SettlementDbRow>(
    `SELECT ${SETTLEMENT_COLUMNS} FROM settlements
     WHERE fixmedins_code = $1 AND mdtrt_id = $2 ORDER BY seq DESC LIMIT 1`,
    [fixmedinsCode, mdtrtId],
  );
  return rows[0] ? toSettlement(rows[0]) : null;
}

export async function findSettlement(q: Queryable, setlId: string): Promise<SettlementRow | null> {
  const { rows } = await q.query<SettlementDbRow>(
    `SELECT ${SETTLEMENT_COLUMNS} FROM settlements WHERE setl_id = $1`,
    [setlId],
  );
  return rows[0] ? toSettlement(rows[0]) : null;
}

export interface NewSettlement {
  setlId: string;
  bill: Bill;
  /** sha256 of the canonical bill body: a redelivery has the same, a conflicting body differs */
  bodyHash: string;
  /** clr_optins: the county agency that pays (the settlement.events key) */
  clrOptins: string;
  inboxId?: string | null;
  /** when the gateway settled it, 'YYYY-MM-DD HH:mm:ss' (Beijing time) */
  setlTime: string;
  /** id of the settlement.events.v1 event written with it */
  eventId: string;
  /** the person's position the engine started from */
  accumulatorsBefore: Accumulators;
  result: SettlementResult;
  /** the registry's identities when they replaced the message's (docs/adr/0009); else null */
  identitiesUsed?: string[] | null;
}

const INSERT_COLUMNS = `setl_id, fixmedins_code, mdtrt_id, psn_no, year, body_hash, rule_set_version,
  category_used, clr_optins, inbox_id,
  medfee_sumamt, fulamt_ownpay_amt, overlmt_selfpay, preselfpay_amt, inscp_scp_amt,
  act_pay_dedc, hifp_pay, hifmi_pay, maf_pay, oth_pay, fund_pay_sumamt, psn_part_amt,
  acct_pay, psn_cash_pay, inscp_psn_part, result, setl_time, event_id, accumulators_before,
  identities_used, body_canonical`;
/** casts of the value placeholders, by position (0-based) */
const INSERT_CASTS: Record<number, string> = {
  9: '::bigint',
  25: '::jsonb',
  28: '::jsonb',
  29: '::jsonb',
};

function settlementValues(s: NewSettlement): unknown[] {
  const info = s.result.setlinfo;
  return [
    s.setlId,
    s.bill.fixmedinsCode,
    s.bill.mdtrtId,
    s.bill.psnNo,
    s.result.accumulators.year,
    s.bodyHash,
    s.result.ruleSetVersion,
    s.result.categoryUsed,
    s.clrOptins,
    s.inboxId ?? null,
    info.medfeeSumamt,
    info.fulamtOwnpayAmt,
    info.overlmtSelfpay,
    info.preselfpayAmt,
    info.inscpScpAmt,
    info.actPayDedc,
    info.hifpPay,
    info.hifmiPay,
    info.mafPay,
    info.othPay,
    info.fundPaySumamt,
    info.psnPartAmt,
    info.acctPay,
    info.psnCashPay,
    info.inscpPsnPart,
    JSON.stringify(s.result),
    s.setlTime,
    s.eventId,
    JSON.stringify(s.accumulatorsBefore),
    s.identitiesUsed ? JSON.stringify(s.identitiesUsed) : null,
    // the bill in canonical form c1 (docs/adr/0017): what replay and top-ups read back
    canonicalBill(s.bill),
  ];
}

/** The settlement columns and one settlement's values in their order (libs/ledger/src/batch.ts). */
export const SETTLEMENT_INSERT_COLUMNS = INSERT_COLUMNS;
export const settlementInsertValues = settlementValues;

/** `($1, …, $31), ($32, …)` for `rows` settlements, pushing their values onto `params`. */
function settlementTuples(list: readonly NewSettlement[], params: unknown[]): string {
  return list
    .map((s) => {
      const values = settlementValues(s);
      const start = params.length;
      params.push(...values);
      return `(${values.map((_v, k) => `$${start + k + 1}${INSERT_CASTS[k] ?? ''}`).join(', ')})`;
    })
    .join(', ');
}

/**
 * Inserts the bill's settlement. Returns null when the bill is already settled: the partial
 * unique index settlements_one_settled_per_bill decides between concurrent duplicates, and the
 * loser's transaction should roll back and read the winner's row.
 */
export async function insertSettlement(
  q: Queryable,
  s: NewSettlement,
): Promise<SettlementRow | null> {
  const params: unknown[] = [];
  const { rows } = await q.query<SettlementDbRow>(
    `INSERT INTO settlements (${INSERT_COLUMNS}) VALUES ${settlementTuples([s], params)}
     ON CONFLICT (fixmedins_code, mdtrt_id) WHERE status = 'settled' DO NOTHING
     RETURNING ${SETTLEMENT_COLUMNS}`,
    params,
  );
  return rows[0] ? toSettlement(rows[0]) : null;
}

/**
 * Many settlements in one statement, for bulk loading (fixtures, benchmarks): no dedupe, a bill
 * already settled fails the statement. The intake settles one bill at a time with insertSettlement.
 */
export async function insertSettlementsMany(
  q: Queryable,
  list: readonly NewSettlement[],
): Promise<void> {
  if (list.length === 0) return;
  const params: unknown[] = [];
  await q.query(
    `INSERT INTO settlements (${INSERT_COLUMNS}) VALUES ${settlementTuples(list, params)}`,
    params,
  );
}

/**
 * Marks a settled bill reversed and records the reversal. Returns null when there is no settled
 * row with this id (already reversed or unknown). The caller restores the accumulators in the
 * same transaction.
 */
export async function reverseSettlement(
  q: Queryable,
  setlId: string,
  options: { inboxId?: string | null; reason?: string | null } = {},
): Promise<SettlementRow | null> {
  const { rows } = await q.query<SettlementDbRow>(
    `UPDATE settlements SET status = 'reversed', reversed_at = now()
     WHERE setl_id = $1 AND status = 'settled'
     RETURNING ${SETTLEMENT_COLUMNS}`,
    [setlId],
  );
  const row = rows[0];
  if (!row) return null;
  await q.query('INSERT INTO reversals (setl_id, inbox_id, reason) VALUES ($1, $2, $3)', [
    setlId,
    options.inboxId ?? null,
    options.reason ?? null,
  ]);
  return toSettlement(row);
}

// ---------------------------------------------------------------- accumulators

export interface LockedAccumulators {
  data: Accumulators;
  version: number;
}

/** A person's position at the start of a year: nothing consumed, nothing paid. */
export function zeroAccumulators(year: number): Accumulators {
  return {
    year,
    basicDeductibleUsed: {},
    basicPaid: {},
    criticalBase: '0.00',
    criticalPaid: '0.00',
    commercialBase: '0.00',
    commercialPaid: '0.00',
    assistanceDeductibleUsed: {},
    assistancePaid: {},
    tiltedBurden: '0.00',
    tiltedPaid: '0.00',
    inscpSelfPay: '0.00',
    cashSelfPay: '0.00',
  };
}

/**
 * Locks the person's row for the year until the transaction ends (creating it at zero first),
 * so two bills of one person settle one after the other, the second on the first's result.
 */
export async function lockAccumulators(
  q: Queryable,
  psnNo: string,
  year: number,
): Promise<LockedAccumulators> {
  // one round trip: the row is created if missing, and locked either way (ON CONFLICT DO UPDATE
  // takes the row lock and returns the row as it is; the no-op update leaves data and version)
  const { rows } = await q.query<{ data: Accumulators | string; version: number }>(
    `INSERT INTO accumulators (psn_no, year, data) VALUES ($1, $2, $3::jsonb)
     ON CONFLICT (psn_no, year) DO UPDATE SET psn_no = accumulators.psn_no
     RETURNING data, version`,
    [psnNo, year, JSON.stringify(zeroAccumulators(year))],
  );
  const row = rows[0];
  if (!row) throw new Error(`accumulators ${psnNo}/${year} vanished under lock`);
  const data = typeof row.data === 'string' ? (JSON.parse(row.data) as Accumulators) : row.data;
  return { data, version: row.version };
}

/** Saves the new position; expectedVersion guards against a write without the lock. */
export async function saveAccumulators(
  q: Queryable,
  psnNo: string,
  data: Accumulators,
  expectedVersion: number,
): Promise<number> {
  const { rows } = await q.query<{ version: number }>(
    `UPDATE accumulators SET data = $3::jsonb, version = version + 1, updated_at = now()
     WHERE psn_no = $1 AND year = $2 AND version = $4
     RETURNING version`,
    [psnNo, data.year, JSON.stringify(data), expectedVersion],
  );
  const row = rows[0];
  if (!row) {
    throw new Error(`accumulators ${psnNo}/${data.year} are not at version ${expectedVersion}`);
  }
  return row.version;
}

// ---------------------------------------------------------------- outbox

export interface OutboxEvent {
  /** stable uuid: the consumers' dedupe key */
  eventId: string;
  topic: string;
  key: string | null;
  payload: string;
  headers: Record<string, string>;
}

export interface OutboxRow extends OutboxEvent {
  id: string;
  createdAt: Date;
}

/**
 * The headers a row is stored with: the event's, and — when tracing is on and a span is active
 * (the intake's, continuing the HIS message's or the request's `traceparent`) — that span's
 * `traceparent`, so the relay publishes the event as a child of it (libs/observability). An
 * event that names its own `traceparent` keeps it.
 */
function storedHeaders(headers: Record<string, string>): string {
  if (headers.traceparent !== undefined) return JSON.stringify(headers);
  return JSON.stringify({ ...headers, ...traceHeaders() });
}

/** Several events in one statement; how many were new (an event id already there is skipped). */
export async function insertOutboxMany(q: Queryable, events: OutboxEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const params: unknown[] = [];
  const rows = events.map((e) => {
    params.push(e.eventId, e.topic, e.key, e.payload, storedHeaders(e.headers));
    const n = params.length;
    return `($${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n}::jsonb)`;
  });
  const { rowCount } = await q.query(
    `INSERT INTO outbox (event_id, topic, key, payload, headers) VALUES ${rows.join(', ')}
     ON CONFLICT (event_id) DO NOTHING`,
    params,
  );
  return rowCount;
}

/** Writes an event in the caller's transaction. The same event id is written once. */
export async function insertOutbox(q: Queryable, event: OutboxEvent): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO outbox (event_id, topic, key, payload, headers)
     VALUES ($1, $2, $3, $4, $5::jsonb)
     ON CONFLICT (event_id) DO NOTHING`,
    [event.eventId, event.topic, event.key, event.payload, storedHeaders(event.headers)],
  );
  return rowCount === 1;
}

/**
 * What one outbox row costs in a produce request, at most: payload, key and headers as stored (the
 * JSON text of the headers is a little longer than their wire form), plus the `event-id` header the
 * relay adds and the record's own framing (varint lengths, attributes, deltas: under 40 bytes).
 * kafkajs puts one record batch per partition in a request, and the broker refuses a batch over
 * `message.max.bytes` (1 MB by default): the relay keeps every send under its byte bound by this
 * count (docs/adr/0011).
 */
export const OUTBOX_RECORD_OVERHEAD_BYTES = 128;

/** The same count as the claim's SQL, for an event not yet written (tests, the relay's split). */
export function outboxRecordBytes(event: Pick<OutboxEvent, 'key' | 'payload' | 'headers'>): number {
  return (
    Buffer.byteLength(event.payload, 'utf8') +
    (event.key === null ? 0 : Buffer.byteLength(event.key, 'utf8')) +
    Buffer.byteLength(JSON.stringify(event.headers), 'utf8') +
    OUTBOX_RECORD_OVERHEAD_BYTES
  );
}

/** Default byte bound of one claim: half the broker's default `message.max.bytes`. */
export const OUTBOX_DEFAULT_MAX_BATCH_BYTES = 512 * 1024;

export interface ClaimedOutboxRow extends OutboxRow {
  /** outboxRecordBytes of the row, as the database counted it */
  bytes: number;
}

/**
 * Claims the oldest pending events (unpublished, not parked) for the rest of the caller's
 * transaction: at most `limit` rows and at most `maxBytes` bytes (outboxRecordBytes), always at
 * least one row, so a single event over the bound is claimed alone and its send decides. Rows
 * another relay holds are skipped, so concurrent relays get disjoint batches. The candidates are
 * locked before they are measured (a window function cannot take row locks), so rows past the byte
 * bound stay locked, unsent, until the caller's transaction ends; the next claim takes them.
 */
export async function claimOutboxBatch(
  q: Queryable,
  limit: number,
  maxBytes: number = OUTBOX_DEFAULT_MAX_BATCH_BYTES,
): Promise<ClaimedOutboxRow[]> {
  const { rows } = await q.query<{
    id: string;
    event_id: string;
    topic: string;
    key: string | null;
    payload: string;
    headers: Record<string, string> | string;
    created_at: Date;
    bytes: number;
  }>(
    `WITH claimed AS MATERIALIZED (
       SELECT id,
              octet_length(payload) + coalesce(octet_length(key), 0)
                + octet_length(headers::text) + ${OUTBOX_RECORD_OVERHEAD_BYTES} AS bytes
         FROM outbox
        WHERE published_at IS NULL AND parked_at IS NULL
        ORDER BY id
        LIMIT $1
          FOR UPDATE SKIP LOCKED
     ), sized AS (
       SELECT id, bytes,
              sum(bytes) OVER (ORDER BY id) AS running,
              row_number() OVER (ORDER BY id) AS n
         FROM claimed
     )
     SELECT o.id::text AS id, o.event_id::text AS event_id, o.topic, o.key, o.payload, o.headers,
            o.created_at, s.bytes::int AS bytes
       FROM sized s JOIN outbox o ON o.id = s.id
      WHERE s.running <= $2 OR s.n = 1
      ORDER BY o.id`,
    [limit, maxBytes],
  );
  return rows.map((row) => ({
    id: row.id,
    eventId: row.event_id,
    topic: row.topic,
    key: row.key,
    payload: row.payload,
    headers:
      typeof row.headers === 'string'
        ? (JSON.parse(row.headers) as Record<string, string>)
        : row.headers,
    createdAt: row.created_at,
    bytes: row.bytes,
  }));
}

export async function markPublished(q: Queryable, eventIds: string[]): Promise<number> {
  if (eventIds.length === 0) return 0;
  const { rowCount } = await q.query(
    `UPDATE outbox SET published_at = now()
     WHERE event_id = ANY($1::uuid[]) AND published_at IS NULL`,
    [eventIds],
  );
  return rowCount;
}

/**
 * Parks one event the broker refuses for itself (too large, invalid record): the relay skips it
 * from now on and the rest flow on. false when it was already published or parked.
 */
export async function parkOutboxEvent(
  q: Queryable,
  eventId: string,
  reason: string,
): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE outbox SET parked_at = now(), park_reason = $2
      WHERE event_id = $1 AND published_at IS NULL AND parked_at IS NULL`,
    [eventId, reason.slice(0, 1000)],
  );
  return rowCount === 1;
}

export interface ParkedOutboxRow {
  id: string;
  eventId: string;
  topic: string;
  key: string | null;
  /** outboxRecordBytes of the row */
  bytes: number;
  createdAt: Date;
  parkedAt: Date;
  parkReason: string;
}

/** Parked events, oldest first (without their payloads, which may be large). */
export async function listParkedOutbox(q: Queryable, limit = 100): Promise<ParkedOutboxRow[]> {
  const { rows } = await q.query<{
    id: string;
    event_id: string;
    topic: string;
    key: string | null;
    bytes: number;
    created_at: Date;
    parked_at: Date;
    park_reason: string;
  }>(
    `SELECT id::text AS id, event_id::text AS event_id, topic, key,
            (octet_length(payload) + coalesce(octet_length(key), 0)
              + octet_length(headers::text) + ${OUTBOX_RECORD_OVERHEAD_BYTES})::int AS bytes,
            created_at, parked_at, park_reason
       FROM outbox
      WHERE parked_at IS NOT NULL AND published_at IS NULL
      ORDER BY outbox.id
      LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    id: r.id,
    eventId: r.event_id,
    topic: r.topic,
    key: r.key,
    bytes: r.bytes,
    createdAt: r.created_at,
    parkedAt: r.parked_at,
    parkReason: r.park_reason,
  }));
}

/**
 * Puts parked events back in the relay's queue after the cause was fixed (e.g. the topic's
 * `max.message.bytes` raised): the named ones, or every parked one when `eventIds` is omitted.
 * Returns how many; an event that still cannot be sent is parked again by the relay.
 */
export async function republishParkedOutbox(q: Queryable, eventIds?: string[]): Promise<number> {
  const { rowCount } =
    eventIds === undefined
      ? await q.query(
          `UPDATE outbox SET parked_at = NULL, park_reason = NULL
            WHERE parked_at IS NOT NULL AND published_at IS NULL`,
        )
      : await q.query(
          `UPDATE outbox SET parked_at = NULL, park_reason = NULL
            WHERE event_id = ANY($1::uuid[]) AND parked_at IS NOT NULL AND published_at IS NULL`,
          [eventIds],
        );
  return rowCount;
}

// ---------------------------------------------------------------- rejects

export interface NewReject {
  inboxId: string | null;
  reasonCode: string;
  field?: string | null;
  message: string;
  /**
   * The message, for a reject without an inbox row. A reject of an inbox row keeps that row's
   * text and bytes, whatever is given here (docs/adr/0012-hostile-input.md).
   */
  payload: string | null;
  fixmedinsCode?: string | null;
}

export async function insertReject(q: Queryable, reject: NewReject): Promise<string> {
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO rejects (inbox_id, reason_code, field, message, payload, payload_bytes,
                          fixmedins_code)
     SELECT $1::bigint, $2, $3, $4, COALESCE(i.payload, $5), COALESCE(i.payload_bytes, $6), $7
       FROM (SELECT 1) one LEFT JOIN inbox i ON i.id = $1::bigint
     RETURNING id::text AS id`,
    [
      reject.inboxId,
      reject.reasonCode,
      reject.field ?? null,
      // a parser's message may quote the input
      reject.message.replace(/\u0000/g, '\uFFFD'),
      storableText(reject.payload),
      Buffer.from(reject.payload ?? '', 'utf8'),
      reject.fixmedinsCode ?? null,
    ],
  );
  const row = rows[0];
  if (!row) throw new Error('reject insert returned no row');
  return row.id;
}

/**
 * Links a fixed and resubmitted reject to the inbox row of its new attempt, with who did it.
 * false when the reject was already resubmitted (the first resubmission stays the link).
 */
export async function markResubmitted(
  q: Queryable,
  rejectId: string,
  inboxId: string,
  by: string | null = null,
): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE rejects SET resubmitted_as = $2, resubmitted_by = $3, resubmitted_at = now()
      WHERE id = $1 AND resubmitted_as IS NULL`,
    [rejectId, inboxId, by],
  );
  return rowCount === 1;
}

// ---------------------------------------------------------------- reads without locks

/** The person's position for the year as last committed, without a lock (pre-settlement). */
export async function readAccumulators(
  q: Queryable,
  psnNo: string,
  year: number,
): Promise<Accumulators | null> {
  const { rows } = await q.query<{ data: Accumulators | string }>(
    'SELECT data FROM accumulators WHERE psn_no = $1 AND year = $2',
    [psnNo, year],
  );
  const row = rows[0];
  return row ? json(row.data) : null;
}

/** Events written but not yet published, parked ones excepted (they wait for an operator). */
export async function outboxBacklog(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL AND parked_at IS NULL',
  );
  return rows[0]?.n ?? 0;
}

export interface OutboxStatus {
  /** unpublished, not parked: the relay's queue */
  pending: number;
  /** parked: waiting for an operator (listParkedOutbox, republishParkedOutbox) */
  parked: number;
  /** age in seconds of the oldest pending event (0 when none): a relay that stopped shows here */
  oldestPendingSeconds: number;
}

/** The relay's queue at a glance, for health and metrics. */
export async function outboxStatus(q: Queryable): Promise<OutboxStatus> {
  const { rows } = await q.query<{ pending: number; parked: number; oldest: number }>(
    `SELECT count(*) FILTER (WHERE parked_at IS NULL)::int AS pending,
            count(*) FILTER (WHERE parked_at IS NOT NULL)::int AS parked,
            coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE parked_at IS NULL)),
                     0)::float8 AS oldest
       FROM outbox WHERE published_at IS NULL`,
  );
  const row = rows[0];
  return {
    pending: row?.pending ?? 0,
    parked: row?.parked ?? 0,
    oldestPendingSeconds: Math.max(0, row?.oldest ?? 0),
  };
}

// ---------------------------------------------------------------- admissions

export interface NewAdmission {
  fixmedinsCode: string;
  mdtrtId: string;
  psnNo: string;
  medType: string;
  begntime: string;
  inboxId: string | null;
}

/** Records an open visit; false when the visit was already admitted (the first row stays). */
export async function insertAdmission(q: Queryable, a: NewAdmission): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO admissions (fixmedins_code, mdtrt_id, psn_no, med_type, begntime, inbox_id)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (fixmedins_code, mdtrt_id) DO NOTHING`,
    [a.fixmedinsCode, a.mdtrtId, a.psnNo, a.medType, a.begntime, a.inboxId],
  );
  return rowCount === 1;
}

export interface RejectRow {
  id: string;
  inboxId: string | null;
  reasonCode: string;
  field: string | null;
  message: string;
  /** the message's text, null where its bytes are not text (then see payloadBytes) */
  payload: string | null;
  /** the bytes as they came (a prefix, for a message far over the size cap) */
  payloadBytes: Buffer;
  /** the whole message's size and SHA-256 (from its inbox row) */
  payloadSize: number;
  payloadSha256: string;
  createdAt: Date;
  fixmedinsCode: string | null;
  resubmittedAs: string | null;
  resubmittedBy: string | null;
  resubmittedAt: Date | null;
}

/**
 * The columns of a RejectRow without the message (lists): payload NULL, no bytes, the size and
 * hash kept.
 */
export const REJECT_SUMMARY_COLUMNS = `r.id::text AS id, r.inbox_id::text AS inbox_id, r.reason_code,
  r.field, r.message, NULL::text AS payload, ''::bytea AS payload_bytes,
  COALESCE((SELECT i.payload_size FROM inbox i WHERE i.id = r.inbox_id), octet_length(r.payload_bytes))
    AS payload_size,
  COALESCE((SELECT i.payload_sha256 FROM inbox i WHERE i.id = r.inbox_id),
           encode(sha256(r.payload_bytes), 'hex')) AS payload_sha256,
  r.created_at, r.fixmedins_code,
  r.resubmitted_as::text AS resubmitted_as, r.resubmitted_by, r.resubmitted_at`;

/** The columns of a RejectRow, for every query that reads one reject whole. */
export const REJECT_COLUMNS = `r.id::text AS id, r.inbox_id::text AS inbox_id, r.reason_code,
  r.field, r.message, r.payload, r.payload_bytes,
  COALESCE((SELECT i.payload_size FROM inbox i WHERE i.id = r.inbox_id), octet_length(r.payload_bytes))
    AS payload_size,
  COALESCE((SELECT i.payload_sha256 FROM inbox i WHERE i.id = r.inbox_id),
           encode(sha256(r.payload_bytes), 'hex')) AS payload_sha256,
  r.created_at, r.fixmedins_code,
  r.resubmitted_as::text AS resubmitted_as, r.resubmitted_by, r.resubmitted_at`;

export interface RejectDbRow {
  id: string;
  inbox_id: string | null;
  reason_code: string;
  field: string | null;
  message: string;
  payload: string | null;
  payload_bytes: Buffer | Uint8Array;
  payload_size: number;
  payload_sha256: string;
  created_at: Date;
  fixmedins_code: string | null;
  resubmitted_as: string | null;
  resubmitted_by: string | null;
  resubmitted_at: Date | null;
}

export function rejectFromDb(r: RejectDbRow): RejectRow {
  return {
    id: r.id,
    inboxId: r.inbox_id,
    reasonCode: r.reason_code,
    field: r.field,
    message: r.message,
    payload: r.payload,
    payloadBytes: Buffer.from(r.payload_bytes),
    payloadSize: r.payload_size,
    payloadSha256: r.payload_sha256,
    createdAt: r.created_at,
    fixmedinsCode: r.fixmedins_code,
    resubmittedAs: r.resubmitted_as,
    resubmittedBy: r.resubmitted_by,
    resubmittedAt: r.resubmitted_at,
  };
}

export async function findReject(q: Queryable, id: string): Promise<RejectRow | null> {
  if (!/^\d{1,18}$/.test(id)) return null;
  const { rows } = await q.query<RejectDbRow>(
    `SELECT ${REJECT_COLUMNS} FROM rejects r WHERE r.id = $1`,
    [id],
  );
  const r = rows[0];
  return r ? rejectFromDb(r) : null;
}
