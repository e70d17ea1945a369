/**
 * Reading settlements back for audit: the stored row, its archived inbound message, in
 * settlement order, a page at a time (keyset pagination, so a million rows never sit in memory).
 * Read-only: nothing here writes.
 */
import {
  type Accumulators,
  type SetlDetail,
  emptyAccumulators,
  withoutContribution,
} from '@onebill/engine';
import { type BodyHashForm, type Queryable, json } from '@onebill/ledger';

export interface ReplayFilter {
  /** settled at or after (ISO date or timestamp; Beijing time when no zone is given) */
  from?: string;
  /** settled before (exclusive) */
  to?: string;
  hospital?: string;
  county?: string;
  person?: string;
  /** a visit (mdtrt_id) or a settlement (setl_id) */
  bill?: string;
  /** default 'all': reversed settlements were computed under the rules too */
  status?: 'settled' | 'reversed' | 'all';
  /** exactly these settlements (Kafka-range replay looks them up by message) */
  setlIds?: readonly string[];
}

/** The money columns of settlements, as the engine's setlinfo names them. */
export const SETLINFO_COLUMNS = {
  medfeeSumamt: 'medfee_sumamt',
  fulamtOwnpayAmt: 'fulamt_ownpay_amt',
  overlmtSelfpay: 'overlmt_selfpay',
  preselfpayAmt: 'preselfpay_amt',
  inscpScpAmt: 'inscp_scp_amt',
  actPayDedc: 'act_pay_dedc',
  hifpPay: 'hifp_pay',
  hifmiPay: 'hifmi_pay',
  mafPay: 'maf_pay',
  othPay: 'oth_pay',
  fundPaySumamt: 'fund_pay_sumamt',
  psnPartAmt: 'psn_part_amt',
  acctPay: 'acct_pay',
  psnCashPay: 'psn_cash_pay',
  inscpPsnPart: 'inscp_psn_part',
} as const;
export type SetlInfoKey = keyof typeof SETLINFO_COLUMNS;

export interface StoredSettlement {
  setlId: string;
  fixmedinsCode: string;
  mdtrtId: string;
  psnNo: string;
  year: number;
  clrOptins: string;
  ruleSetVersion: string;
  categoryUsed: string | null;
  status: 'settled' | 'reversed';
  createdAt: string;
  /** the write order (settlements.seq, migration 0014) */
  seq: string;
  setlTime: string;
  bodyHash: string;
  /** the canonical form of body_hash (docs/adr/0017) */
  bodyHashForm: BodyHashForm;
  /** the bill in canonical form c1, as stored with the settlement (null before migration 0012) */
  bodyCanonical: string | null;
  /** SHA-256 of the inbound message's bytes as received (the inbox's) */
  payloadSha256: string | null;
  accumulatorsBefore: Accumulators;
  accumulatorsAfter: Accumulators;
  setldetail: SetlDetail[];
  /** snake_case column → amount text */
  amounts: Record<SetlInfoKey, string>;
  /** the archived inbound message the settlement was computed from; null when none */
  payload: string | null;
  /** the registry's identities the bill was computed with, when they replaced the message's */
  identitiesUsed: string[] | null;
  /**
   * Where the ledger says this bill must have started: where the person's previous bill of the
   * year ended, less the reversals since (or, after a top-up, the position archived then); zero
   * for the first bill of the year. null when it cannot be told (no archive entry).
   */
  startsFrom: Accumulators | null;
}

interface Continuity {
  /** the previous bill's accumulators after it; absent for the first bill of the year */
  prev?: Accumulators;
  /** reversals since, in order: the reversed bill's before and after */
  reversals?: { before: Accumulators; after: Accumulators }[];
  /** top-ups since: the position is the one archived just before this bill */
  topups?: number;
  archived?: { data: Accumulators } | null;
}

function startsFromOf(year: number, c: Continuity | string | null): Accumulators | null {
  if (c === null) return null;
  const k = json<Continuity>(c);
  if ((k.topups ?? 0) > 0) return k.archived?.data ?? null;
  let p = k.prev ?? emptyAccumulators(year);
  for (const r of k.reversals ?? []) p = withoutContribution(p, r.before, r.after);
  return p;
}

interface Row {
  setl_id: string;
  fixmedins_code: string;
  mdtrt_id: string;
  psn_no: string;
  year: number;
  clr_optins: string;
  rule_set_version: string;
  category_used: string | null;
  status: 'settled' | 'reversed';
  created_at: string;
  seq: string;
  setl_time: string;
  body_hash: string;
  body_hash_form: BodyHashForm;
  body_canonical: string | null;
  payload_sha256: string | null;
  accumulators_before: Accumulators | string;
  acc_after: Accumulators | string;
  setldetail: SetlDetail[] | string;
  payload: string | null;
  identities_used: string[] | string | null;
  continuity: Continuity | string | null;
  [column: string]: unknown;
}

const AMOUNTS = Object.entries(SETLINFO_COLUMNS)
  .map(([, c]) => `s.${c}::text AS ${c}`)
  .join(', ');

/**
 * What the person's ledger holds between the previous bill of the year and this one, in archive
 * order (the order of the person's row lock): the previous bill's position after it, the
 * reversals since, the top-ups since and the position archived last before this bill. NULL when
 * the bill has no archive entry.
 */
const CONTINUITY = `(
  SELECT CASE WHEN me.seq IS NULL THEN NULL ELSE jsonb_build_object(
    'prev', prev.after,
    'reversals', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                           'before', x.accumulators_before,
                           'after', x.result -> 'accumulators') ORDER BY ra.seq), '[]'::jsonb)
                  FROM settlements x
                  JOIN archive ra ON ra.kind = 'reversal' AND ra.ref = x.setl_id
                  WHERE x.psn_no = s.psn_no AND x.year = s.year
                    AND ra.seq > coalesce(prev.seq, 0) AND ra.seq < me.seq),
    'topups', (SELECT count(*) FROM topups t
               JOIN archive ta ON ta.kind = 'topup' AND ta.ref = t.topup_id
               WHERE t.psn_no = s.psn_no AND t.year = s.year
                 AND ta.seq > coalesce(prev.seq, 0) AND ta.seq < me.seq),
    'archived', (SELECT jsonb_build_object('data', a.content::jsonb -> 'data') FROM archive a
                 WHERE a.kind = 'accumulators' AND a.ref = s.psn_no || '/' || s.year
                   AND a.seq < me.seq ORDER BY a.seq DESC LIMIT 1)) END
  FROM (SELECT min(a.seq) AS seq FROM archive a
        WHERE a.kind = 'settlement' AND a.ref = s.setl_id) me
  LEFT JOIN LATERAL (
    SELECT pa.seq, p.result -> 'accumulators' AS after FROM settlements p
    JOIN archive pa ON pa.kind = 'settlement' AND pa.ref = p.setl_id
    WHERE p.psn_no = s.psn_no AND p.year = s.year AND pa.seq < me.seq
    ORDER BY pa.seq DESC LIMIT 1) prev ON true)`;

/** A timestamp as PostgreSQL should read it: a bare date or time is Beijing time. */
export function beijing(ts: string): string {
  const t = ts.trim();
  if (/(Z|[+-]\d\d(:?\d\d)?)$/.test(t)) return t;
  return /^\d{4}-\d\d-\d\d$/.test(t) ? `${t} 00:00:00+08` : `${t}+08`;
}

export function whereOf(filter: ReplayFilter, params: unknown[]): string[] {
  const where: string[] = [];
  const add = (sql: (p: string) => string, v: unknown): void => {
    params.push(v);
    where.push(sql(`$${params.length}`));
  };
  if (filter.from) add((p) => `s.created_at >= ${p}::timestamptz`, beijing(filter.from));
  if (filter.to) add((p) => `s.created_at < ${p}::timestamptz`, beijing(filter.to));
  if (filter.hospital) add((p) => `s.fixmedins_code = ${p}`, filter.hospital);
  if (filter.county) add((p) => `s.clr_optins = ${p}`, filter.county);
  if (filter.person) add((p) => `s.psn_no = ${p}`, filter.person);
  if (filter.bill) add((p) => `(s.mdtrt_id = ${p} OR s.setl_id = ${p})`, filter.bill);
  if (filter.setlIds) add((p) => `s.setl_id = ANY(${p}::text[])`, filter.setlIds);
  const status = filter.status ?? 'all';
  if (status !== 'all') add((p) => `s.status = ${p}`, status);
  return where;
}

export async function countSettlements(q: Queryable, filter: ReplayFilter): Promise<number> {
  const params: unknown[] = [];
  const where = whereOf(filter, params);
  const { rows } = await q.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM settlements s ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`,
    params,
  );
  // eslint-disable-next-line no-restricted-syntax -- a row count, not money
  return Number(rows[0]?.n ?? 0);
}

/**
 * Calls `onPage` with the matching settlements in settlement order (`seq`: the order the rows were
 * written in, under their person's lock; one transaction may write many), `pageSize` at a time.
 */
export async function scanSettlements(
  q: Queryable,
  filter: ReplayFilter,
  onPage: (page: StoredSettlement[]) => Promise<void> | void,
  pageSize = 2000,
): Promise<void> {
  // the next page is asked for before this one is handed over: the database reads while the
  // caller computes (a pool runs the two on separate connections)
  let pending = fetchPage(q, filter, null, pageSize);
  for (;;) {
    const page = await pending;
    if (page.length === 0) return;
    const last = page[page.length - 1]!;
    const more = page.length === pageSize;
    if (more) pending = fetchPage(q, filter, last.seq, pageSize);
    await onPage(page);
    if (!more) return;
  }
}

async function fetchPage(
  q: Queryable,
  filter: ReplayFilter,
  after: string | null,
  pageSize: number,
): Promise<StoredSettlement[]> {
  const params: unknown[] = [];
  const where = whereOf(filter, params);
  if (after !== null) {
    params.push(after);
    where.push(`s.seq > $${params.length}::bigint`);
  }
  params.push(pageSize);
  const { rows } = await q.query<Row>(
    `SELECT s.setl_id, s.fixmedins_code, s.mdtrt_id, s.psn_no, s.year, s.clr_optins,
            s.rule_set_version, s.category_used, s.status, s.created_at::text AS created_at, s.seq::text AS seq,
            s.setl_time, s.body_hash, s.body_hash_form, s.body_canonical, s.accumulators_before, s.identities_used,
            s.result -> 'accumulators' AS acc_after, s.result -> 'setldetail' AS setldetail,
            ${AMOUNTS},
            (SELECT a.content FROM archive a
             WHERE a.kind = 'in' AND a.ref = s.inbox_id::text ORDER BY a.seq LIMIT 1) AS payload,
            (SELECT i.payload_sha256 FROM inbox i WHERE i.id = s.inbox_id) AS payload_sha256,
            ${CONTINUITY} AS continuity
     FROM settlements s
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY s.seq
     LIMIT $${params.length}`,
    params,
  );
  return rows.map((r): StoredSettlement => {
    const amounts = {} as Record<SetlInfoKey, string>;
    for (const [k, c] of Object.entries(SETLINFO_COLUMNS)) {
      amounts[k as SetlInfoKey] = String(r[c]);
    }
    return {
      setlId: r.setl_id,
      fixmedinsCode: r.fixmedins_code,
      mdtrtId: r.mdtrt_id,
      psnNo: r.psn_no,
      year: r.year,
      clrOptins: r.clr_optins,
      ruleSetVersion: r.rule_set_version,
      categoryUsed: r.category_used,
      status: r.status,
      createdAt: r.created_at,
      seq: r.seq,
      setlTime: r.setl_time,
      bodyHash: r.body_hash,
      bodyHashForm: r.body_hash_form,
      bodyCanonical: r.body_canonical,
      payloadSha256: r.payload_sha256,
      accumulatorsBefore: json(r.accumulators_before),
      accumulatorsAfter: json(r.acc_after),
      setldetail: json(r.setldetail),
      amounts,
      payload: r.payload,
      identitiesUsed: r.identities_used === null ? null : json(r.identities_used),
      startsFrom: startsFromOf(r.year, r.continuity),
    };
  });
}
