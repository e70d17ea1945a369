/**
 * High-burden alerts that can be acted on (issue 15, docs/adr/0009 decision 7): raised once per
 * person and year, keyed to the person's county, acknowledged by a role, updated or withdrawn
 * when a reversal or a top-up changes the person's year (migrations/0007_topups_settlement.sql).
 */
import type { Queryable } from './db';
import { NOT_WITHDRAWN } from './identities';

export type AlertStatus = 'open' | 'acknowledged' | 'withdrawn';

export interface AlertRow {
  psnNo: string;
  year: number;
  setlId: string;
  cashSelfPay: string;
  threshold: string;
  eventId: string;
  admdvs: string | null;
  admdvsSource: 'registry' | 'hospital' | null;
  region: string | null;
  status: AlertStatus;
  acknowledgedBy: string | null;
  acknowledgedAt: Date | null;
  withdrawnAt: Date | null;
  createdAt: Date;
  updatedAt: Date | null;
}

const COLUMNS = `psn_no, year, setl_id, cash_self_pay::text AS cash_self_pay,
  threshold::text AS threshold, event_id::text AS event_id, admdvs, admdvs_source, region, status,
  acknowledged_by, acknowledged_at, withdrawn_at, created_at, updated_at`;

interface AlertDbRow {
  psn_no: string;
  year: number;
  setl_id: string;
  cash_self_pay: string;
  threshold: string;
  event_id: string;
  admdvs: string | null;
  admdvs_source: 'registry' | 'hospital' | null;
  region: string | null;
  status: AlertStatus;
  acknowledged_by: string | null;
  acknowledged_at: Date | null;
  withdrawn_at: Date | null;
  created_at: Date;
  updated_at: Date | null;
}

function alertOf(r: AlertDbRow): AlertRow {
  return {
    psnNo: r.psn_no,
    year: r.year,
    setlId: r.setl_id,
    cashSelfPay: r.cash_self_pay,
    threshold: r.threshold,
    eventId: r.event_id,
    admdvs: r.admdvs,
    admdvsSource: r.admdvs_source,
    region: r.region,
    status: r.status,
    acknowledgedBy: r.acknowledged_by,
    acknowledgedAt: r.acknowledged_at,
    withdrawnAt: r.withdrawn_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The person's county in the registry: the county of their latest change not withdrawn, or null. */
export async function personCounty(q: Queryable, psnNo: string): Promise<string | null> {
  const { rows } = await q.query<{ admdvs: string }>(
    `SELECT admdvs FROM identity_changes c WHERE psn_no = $1 AND ${NOT_WITHDRAWN}
     ORDER BY id DESC LIMIT 1`,
    [psnNo],
  );
  return rows[0]?.admdvs ?? null;
}

/**
 * Records the person-year's alert; false when one is in force already (once per person-year). A
 * withdrawn alert is raised again, with the new bill and event.
 */
export async function raiseHighBurdenAlert(
  q: Queryable,
  a: {
    psnNo: string;
    year: number;
    setlId: string;
    cashSelfPay: string;
    threshold: string;
    eventId: string;
    admdvs: string;
    admdvsSource: 'registry' | 'hospital';
    region: string;
  },
): Promise<boolean> {
  const { rows } = await q.query<{ psn_no: string }>(
    `INSERT INTO high_burden_alerts AS h
       (psn_no, year, setl_id, cash_self_pay, threshold, event_id, admdvs, admdvs_source, region)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (psn_no, year) DO UPDATE
       SET setl_id = EXCLUDED.setl_id, cash_self_pay = EXCLUDED.cash_self_pay,
           threshold = EXCLUDED.threshold, event_id = EXCLUDED.event_id,
           admdvs = EXCLUDED.admdvs, admdvs_source = EXCLUDED.admdvs_source,
           region = EXCLUDED.region, status = 'open', acknowledged_by = NULL,
           acknowledged_at = NULL, withdrawn_at = NULL, updated_at = clock_timestamp()
       WHERE h.status = 'withdrawn'
     RETURNING psn_no`,
    [
      a.psnNo,
      a.year,
      a.setlId,
      a.cashSelfPay,
      a.threshold,
      a.eventId,
      a.admdvs,
      a.admdvsSource,
      a.region,
    ],
  );
  return rows.length > 0;
}

export async function findAlert(
  q: Queryable,
  psnNo: string,
  year: number,
): Promise<AlertRow | null> {
  const { rows } = await q.query<AlertDbRow>(
    `SELECT ${COLUMNS} FROM high_burden_alerts WHERE psn_no = $1 AND year = $2`,
    [psnNo, year],
  );
  return rows[0] ? alertOf(rows[0]) : null;
}

export async function listAlerts(
  q: Queryable,
  filter: { status?: AlertStatus; admdvs?: string; year?: number; limit?: number },
): Promise<AlertRow[]> {
  const { rows } = await q.query<AlertDbRow>(
    `SELECT ${COLUMNS} FROM high_burden_alerts
     WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR admdvs = $2)
       AND ($3::int IS NULL OR year = $3)
     ORDER BY created_at DESC, psn_no LIMIT $4`,
    [filter.status ?? null, filter.admdvs ?? null, filter.year ?? null, filter.limit ?? 100],
  );
  return rows.map(alertOf);
}

/** An open alert acknowledged by `by`; null when there is no open alert for the person-year. */
export async function acknowledgeAlert(
  q: Queryable,
  psnNo: string,
  year: number,
  by: string,
): Promise<AlertRow | null> {
  const { rows } = await q.query<AlertDbRow>(
    `UPDATE high_burden_alerts
     SET status = 'acknowledged', acknowledged_by = $3, acknowledged_at = clock_timestamp(),
         updated_at = clock_timestamp()
     WHERE psn_no = $1 AND year = $2 AND status = 'open'
     RETURNING ${COLUMNS}`,
    [psnNo, year, by],
  );
  return rows[0] ? alertOf(rows[0]) : null;
}

/** The alert's figures after a reversal or a top-up: still above the line, or withdrawn. */
export async function reviseAlert(
  q: Queryable,
  psnNo: string,
  year: number,
  change:
    | { kind: 'withdrawn'; cashSelfPay: string; eventId: string }
    | { kind: 'updated'; cashSelfPay: string; setlId: string; eventId: string },
): Promise<void> {
  await q.query(
    `UPDATE high_burden_alerts
     SET cash_self_pay = $3, event_id = $4, updated_at = clock_timestamp(),
         setl_id = COALESCE($5, setl_id),
         status = CASE WHEN $6 THEN 'withdrawn' ELSE status END,
         withdrawn_at = CASE WHEN $6 THEN clock_timestamp() ELSE withdrawn_at END
     WHERE psn_no = $1 AND year = $2`,
    [
      psnNo,
      year,
      change.cashSelfPay,
      change.eventId,
      change.kind === 'updated' ? change.setlId : null,
      change.kind === 'withdrawn',
    ],
  );
}
