/**
 * Reads for the operator console and the API's lists: the latest messages with their outcome,
 * the reject queue, settlements of a person, and the message flow per minute. Read-only, no locks.
 * A `fixmedinsCode` filter is how a hospital credential is held to its own rows.
 */
import type { Queryable } from './db';
import {
  REJECT_SUMMARY_COLUMNS,
  type RejectDbRow,
  type RejectRow,
  SETTLEMENT_COLUMNS,
  type SettlementDbRow,
  type SettlementRow,
  rejectFromDb,
  toSettlement,
} from './repositories';

export interface MessageRow {
  id: string;
  source: string;
  topic: string | null;
  partition: number | null;
  offset: string | null;
  receivedAt: Date;
  /** what the message became; a settled bill later reversed shows 'reversed' */
  status: string;
  correlationId: string | null;
  fixmedinsCode: string | null;
  /** the settlement's visit; for a message that did not settle, what its text names (if any) */
  mdtrtId: string | null;
  setlId: string | null;
  rejectId: string | null;
  reasonCode: string | null;
  submittedBy: string | null;
  resubmissionOf: string | null;
  /** the settled person's number (whole: the caller masks it where it is shown) */
  psnNo: string | null;
}

/** A time range: received (messages) or recorded (rejects) at or after `from`, before `to`. */
export interface TimeRange {
  from?: Date | undefined;
  to?: Date | undefined;
}

export interface MessageFilter extends TimeRange {
  status?: string | undefined;
  fixmedinsCode?: string | undefined;
  /** rows with a smaller id only (paging backwards) */
  beforeId?: string | undefined;
  limit: number;
}

export async function listMessages(q: Queryable, f: MessageFilter): Promise<MessageRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, v: unknown): void => {
    params.push(v);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (f.fixmedinsCode !== undefined) add('i.fixmedins_code = ?', f.fixmedinsCode);
  if (f.beforeId !== undefined) add('i.id < ?', f.beforeId);
  if (f.from !== undefined) add('i.received_at >= ?', f.from);
  if (f.to !== undefined) add('i.received_at < ?', f.to);
  if (f.status !== undefined) {
    if (f.status === 'reversed') where.push(`(i.status = 'reversed' OR s.status = 'reversed')`);
    else if (f.status === 'settled') where.push(`i.status = 'settled' AND s.status = 'settled'`);
    else add('i.status = ?', f.status);
  }
  params.push(f.limit);
  const { rows } = await q.query<{
    id: string;
    source: string;
    topic: string | null;
    partition: number | null;
    offset: string | null;
    received_at: Date;
    status: string;
    settlement_status: string | null;
    correlation_id: string | null;
    fixmedins_code: string | null;
    mdtrt_id: string | null;
    setl_id: string | null;
    reject_id: string | null;
    reason_code: string | null;
    submitted_by: string | null;
    resubmission_of: string | null;
    psn_no: string | null;
  }>(
    `SELECT i.id::text AS id, i.source, i.topic, i.partition, i."offset"::text AS offset,
            i.received_at, i.status, s.status AS settlement_status, i.correlation_id,
            i.fixmedins_code,
            COALESCE(s.mdtrt_id,
                     substring(left(i.payload, 4096) FROM '<mdtrt_id>[[:space:]]*([^<[:space:]]{1,64})[[:space:]]*</mdtrt_id>'))
              AS mdtrt_id,
            i.setl_id, i.reject_id::text AS reject_id,
            r.reason_code, i.submitted_by, i.resubmission_of::text AS resubmission_of,
            s.psn_no
       FROM inbox i
       LEFT JOIN settlements s ON s.setl_id = i.setl_id
       LEFT JOIN rejects r ON r.id = i.reject_id
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY i.id DESC
      LIMIT $${params.length}`,
    params,
  );
  return rows.map((r) => ({
    id: r.id,
    source: r.source,
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    receivedAt: r.received_at,
    status: r.status === 'settled' && r.settlement_status === 'reversed' ? 'reversed' : r.status,
    correlationId: r.correlation_id,
    fixmedinsCode: r.fixmedins_code,
    mdtrtId: r.mdtrt_id,
    setlId: r.setl_id,
    rejectId: r.reject_id,
    reasonCode: r.reason_code,
    submittedBy: r.submitted_by,
    resubmissionOf: r.resubmission_of,
    psnNo: r.psn_no,
  }));
}

export interface RejectFilter extends TimeRange {
  fixmedinsCode?: string | undefined;
  /** only rejects nobody has resubmitted yet */
  open?: boolean | undefined;
  reasonCode?: string | undefined;
  limit: number;
}

/** A reject in a list: the row, and the visit and person its message names (if it does). */
export type RejectListRow = RejectRow & { mdtrtId: string | null; psnNo: string | null };

/** An element's text in the first 4 KiB of a message, read without parsing (lists only). */
const named = (element: string): string =>
  `substring(left(r.payload, 4096) FROM '<${element}>[[:space:]]*([^<[:space:]]{1,64})[[:space:]]*</${element}>')`;

export async function listRejects(q: Queryable, f: RejectFilter): Promise<RejectListRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.fixmedinsCode !== undefined) {
    params.push(f.fixmedinsCode);
    where.push(`r.fixmedins_code = $${params.length}`);
  }
  if (f.reasonCode !== undefined) {
    params.push(f.reasonCode);
    where.push(`r.reason_code = $${params.length}`);
  }
  if (f.from !== undefined) {
    params.push(f.from);
    where.push(`r.created_at >= $${params.length}`);
  }
  if (f.to !== undefined) {
    params.push(f.to);
    where.push(`r.created_at < $${params.length}`);
  }
  if (f.open === true) where.push('r.resubmitted_as IS NULL');
  params.push(f.limit);
  const { rows } = await q.query<RejectDbRow & { mdtrt_id: string | null; psn_no: string | null }>(
    `SELECT ${REJECT_SUMMARY_COLUMNS}, ${named('mdtrt_id')} AS mdtrt_id, ${named('psn_no')} AS psn_no
       FROM rejects r
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY r.id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map((r) => ({ ...rejectFromDb(r), mdtrtId: r.mdtrt_id, psnNo: r.psn_no }));
}

/** A person's settlements (newest first), optionally only at one hospital. */
export async function findSettlementsOfPerson(
  q: Queryable,
  psnNo: string,
  opts: { fixmedinsCode?: string | undefined; limit: number },
): Promise<SettlementRow[]> {
  const params: unknown[] = [psnNo];
  let hospital = '';
  if (opts.fixmedinsCode !== undefined) {
    params.push(opts.fixmedinsCode);
    hospital = ` AND fixmedins_code = $${params.length}`;
  }
  params.push(opts.limit);
  const { rows } = await q.query<SettlementDbRow>(
    `SELECT ${SETTLEMENT_COLUMNS} FROM settlements WHERE psn_no = $1${hospital}
      ORDER BY created_at DESC, setl_id LIMIT $${params.length}`,
    params,
  );
  return rows.map(toSettlement);
}

export interface FlowPoint {
  /** start of the minute, ISO 8601 */
  minute: string;
  topic: string;
  count: number;
}

export interface Flow {
  since: string;
  messagesIn: FlowPoint[];
  messagesOut: FlowPoint[];
  rejectsByReason: Array<{ reason: string; count: number }>;
  byHospital: Array<{ fixmedinsCode: string; status: string; count: number }>;
  byCounty: Array<{ clrOptins: string; settled: number; reversed: number; fundPaySum: string }>;
  outboxBacklog: number;
}

/** The message flow of the last `minutes` minutes, per topic per minute, and its breakdowns. */
export async function readFlow(
  q: Queryable,
  minutes: number,
  fixmedinsCode?: string,
): Promise<Flow> {
  const since = new Date(Date.now() - minutes * 60_000);
  const hospital = fixmedinsCode === undefined ? '' : ' AND fixmedins_code = $2';
  const params = fixmedinsCode === undefined ? [since] : [since, fixmedinsCode];
  const point = (r: { minute: Date; topic: string; n: number }): FlowPoint => ({
    minute: r.minute.toISOString(),
    topic: r.topic,
    count: r.n,
  });
  const inbound = await q.query<{ minute: Date; topic: string; n: number }>(
    `SELECT date_trunc('minute', received_at) AS minute, coalesce(topic, 'http') AS topic,
            count(*)::int AS n
       FROM inbox WHERE received_at >= $1${hospital} GROUP BY 1, 2 ORDER BY 1, 2`,
    params,
  );
  const outbound = await q.query<{ minute: Date; topic: string; n: number }>(
    `SELECT date_trunc('minute', published_at) AS minute, topic, count(*)::int AS n
       FROM outbox WHERE published_at >= $1
        ${fixmedinsCode === undefined ? '' : ` AND headers->>'fixmedins-code' = $2`}
      GROUP BY 1, 2 ORDER BY 1, 2`,
    params,
  );
  const reasons = await q.query<{ reason: string; n: number }>(
    `SELECT reason_code AS reason, count(*)::int AS n FROM rejects
      WHERE created_at >= $1${hospital} GROUP BY 1 ORDER BY 2 DESC, 1`,
    params,
  );
  const hospitals = await q.query<{ code: string; status: string; n: number }>(
    `SELECT coalesce(fixmedins_code, 'unknown') AS code, status, count(*)::int AS n FROM inbox
      WHERE received_at >= $1${hospital} GROUP BY 1, 2 ORDER BY 1, 2`,
    params,
  );
  const counties = await q.query<{
    county: string;
    settled: number;
    reversed: number;
    sum: string;
  }>(
    `SELECT clr_optins AS county,
            count(*) FILTER (WHERE status = 'settled')::int AS settled,
            count(*) FILTER (WHERE status = 'reversed')::int AS reversed,
            coalesce(sum(fund_pay_sumamt) FILTER (WHERE status = 'settled'), 0)::numeric(16, 2)::text AS sum
       FROM settlements WHERE created_at >= $1${hospital} GROUP BY 1 ORDER BY 1`,
    params,
  );
  const backlog = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL AND parked_at IS NULL',
  );
  return {
    since: since.toISOString(),
    messagesIn: inbound.rows.map(point),
    messagesOut: outbound.rows.map(point),
    rejectsByReason: reasons.rows.map((r) => ({ reason: r.reason, count: r.n })),
    byHospital: hospitals.rows.map((r) => ({
      fixmedinsCode: r.code,
      status: r.status,
      count: r.n,
    })),
    byCounty: counties.rows.map((r) => ({
      clrOptins: r.county,
      settled: r.settled,
      reversed: r.reversed,
      fundPaySum: r.sum,
    })),
    outboxBacklog: backlog.rows[0]?.n ?? 0,
  };
}
