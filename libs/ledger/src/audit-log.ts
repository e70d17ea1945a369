/**
 * The operators' audit log and the audit jobs (migration 0008, docs/adr/0015-audit-trust.md).
 * `operator_actions` is append-only (triggers refuse UPDATE and DELETE) and archived, so an
 * action once recorded is in the hash chain; `audit_jobs` keeps the HTTP audit jobs across
 * restarts.
 */
import type { Queryable } from './db';
import { json } from './repositories';

export interface OperatorAction {
  /** the credential's name and role */
  actor: string;
  role: string;
  /** resubmit, reverse, identity-change, alert-acknowledge, outbox-republish, audit-replay … */
  action: string;
  /** what it acted on: a reject id, a visit, a job id … */
  target?: string | null;
  /** what came of it: the outcome's status, an HTTP status … */
  outcome?: string | null;
  detail?: Record<string, unknown>;
}

export interface OperatorActionRow extends OperatorAction {
  id: string;
  at: Date;
}

export async function recordOperatorAction(q: Queryable, a: OperatorAction): Promise<string> {
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO operator_actions (actor, role, action, target, outcome, detail)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING id::text AS id`,
    [
      a.actor,
      a.role,
      a.action,
      a.target ?? null,
      a.outcome ?? null,
      JSON.stringify(a.detail ?? {}),
    ],
  );
  return rows[0]!.id;
}

/** The latest actions first; `before` (an id) pages back. */
export async function listOperatorActions(
  q: Queryable,
  opts: { limit?: number; before?: string | null; actor?: string | null } = {},
): Promise<OperatorActionRow[]> {
  const { rows } = await q.query<{
    id: string;
    at: Date;
    actor: string;
    role: string;
    action: string;
    target: string | null;
    outcome: string | null;
    detail: Record<string, unknown> | string;
  }>(
    `SELECT id::text AS id, at, actor, role, action, target, outcome, detail
     FROM operator_actions
     WHERE ($1::bigint IS NULL OR id < $1::bigint) AND ($2::text IS NULL OR actor = $2)
     -- the table's id: the output column of the same name is text ("9" > "10")
     ORDER BY operator_actions.id DESC LIMIT $3`,
    [opts.before ?? null, opts.actor ?? null, opts.limit ?? 100],
  );
  return rows.map((r) => ({ ...r, detail: json(r.detail) }));
}

export type AuditJobStatus = 'running' | 'done' | 'failed';

export interface AuditJobRow {
  id: string;
  kind: string;
  status: AuditJobStatus;
  requestedBy: string;
  startedAt: Date;
  finishedAt: Date | null;
  progress: { done: number; total: number; rate: number };
  filter: Record<string, unknown> | null;
  report: unknown;
  error: string | null;
}

interface AuditJobDbRow {
  id: string;
  kind: string;
  status: AuditJobStatus;
  requested_by: string;
  started_at: Date;
  finished_at: Date | null;
  progress: AuditJobRow['progress'] | string;
  filter: Record<string, unknown> | string | null;
  report?: unknown;
  error: string | null;
}

function jobOf(r: AuditJobDbRow): AuditJobRow {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    requestedBy: r.requested_by,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    progress: json(r.progress),
    filter: r.filter === null ? null : json(r.filter),
    report: r.report === undefined || r.report === null ? null : json(r.report as string),
    error: r.error,
  };
}

const JOB_COLUMNS = `id::text AS id, kind, status, requested_by, started_at, finished_at, progress,
  filter, error`;

export async function insertAuditJob(
  q: Queryable,
  j: { id: string; kind: string; requestedBy: string; filter?: object | null },
): Promise<void> {
  await q.query(
    `INSERT INTO audit_jobs (id, kind, status, requested_by, filter)
     VALUES ($1, $2, 'running', $3, $4::jsonb)`,
    [j.id, j.kind, j.requestedBy, j.filter ? JSON.stringify(j.filter) : null],
  );
}

export async function updateAuditJobProgress(
  q: Queryable,
  id: string,
  progress: AuditJobRow['progress'],
): Promise<void> {
  await q.query(`UPDATE audit_jobs SET progress = $2::jsonb WHERE id = $1 AND status = 'running'`, [
    id,
    JSON.stringify(progress),
  ]);
}

export async function finishAuditJob(
  q: Queryable,
  id: string,
  outcome: { report: unknown } | { error: string },
): Promise<void> {
  await q.query(
    `UPDATE audit_jobs SET status = $2, report = $3::jsonb, error = $4,
            finished_at = clock_timestamp()
     WHERE id = $1`,
    'report' in outcome
      ? [id, 'done', JSON.stringify(outcome.report), null]
      : [id, 'failed', null, outcome.error],
  );
}

/** Jobs left running by a process that ended: they will not finish. */
export async function failAbandonedAuditJobs(q: Queryable): Promise<number> {
  const { rowCount } = await q.query(
    `UPDATE audit_jobs SET status = 'failed', finished_at = clock_timestamp(),
            error = 'the gateway stopped before the job finished: start it again'
     WHERE status = 'running'`,
  );
  return rowCount;
}

/** The latest `limit` jobs, newest first, without their reports. */
export async function listAuditJobs(q: Queryable, limit = 50): Promise<AuditJobRow[]> {
  const { rows } = await q.query<AuditJobDbRow>(
    `SELECT ${JOB_COLUMNS} FROM audit_jobs ORDER BY started_at DESC, id LIMIT $1`,
    [limit],
  );
  return rows.map(jobOf);
}

export async function findAuditJob(q: Queryable, id: string): Promise<AuditJobRow | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const { rows } = await q.query<AuditJobDbRow>(
    `SELECT ${JOB_COLUMNS}, report FROM audit_jobs WHERE id = $1::uuid`,
    [id],
  );
  return rows[0] ? jobOf(rows[0]) : null;
}
