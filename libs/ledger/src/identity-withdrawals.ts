/**
 * Withdrawn identity periods (migration 0009; docs/adr/0009 decision 8a): a period sent by
 * mistake stops counting for every reader (identityPeriods, registryOn, registryOver and
 * personCounty leave it out), its changes stay in identity_changes as history.
 */
import type { Queryable } from './db';
import { type IdentityChangeRow, findIdentityChange } from './identities';

export interface IdentityWithdrawal {
  id: string;
  psnNo: string;
  category: string;
  validFrom: string;
  lastChangeId: string;
  reason: string;
  withdrawnBy: string;
  withdrawnAt: Date;
}

interface WithdrawalDbRow {
  id: string;
  psn_no: string;
  category: string;
  valid_from: string;
  last_change_id: string;
  reason: string;
  withdrawn_by: string;
  withdrawn_at: Date;
}

const WITHDRAWAL_COLUMNS = `id::text AS id, psn_no, category,
  to_char(valid_from, 'YYYY-MM-DD') AS valid_from, last_change_id::text AS last_change_id, reason,
  withdrawn_by, withdrawn_at`;

function withdrawalOf(r: WithdrawalDbRow): IdentityWithdrawal {
  return {
    id: r.id,
    psnNo: r.psn_no,
    category: r.category,
    validFrom: r.valid_from,
    lastChangeId: r.last_change_id,
    reason: r.reason,
    withdrawnBy: r.withdrawn_by,
    withdrawnAt: r.withdrawn_at,
  };
}

/** One change of the registry by its id (any issuer), or null. */
export async function identityChangeById(
  q: Queryable,
  id: string,
): Promise<IdentityChangeRow | null> {
  if (!/^\d{1,18}$/.test(id)) return null;
  const { rows } = await q.query<{ issuer: string; reference: string }>(
    `SELECT issuer, reference FROM identity_changes WHERE id = $1::bigint`,
    [id],
  );
  return rows[0] ? findIdentityChange(q, rows[0].issuer, rows[0].reference) : null;
}

/**
 * The changes of a person's period (category, valid_from), oldest first, each locked against a
 * concurrent withdrawal of the same period.
 */
export async function periodChangeIds(
  q: Queryable,
  psnNo: string,
  category: string,
  validFrom: string,
): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT id::text AS id FROM identity_changes
     WHERE psn_no = $1 AND category = $2 AND valid_from = $3::date
     ORDER BY identity_changes.id FOR UPDATE`,
    [psnNo, category, validFrom],
  );
  return rows.map((r) => r.id);
}

/** The withdrawal covering a change, or null when it counts. */
export async function withdrawalCovering(
  q: Queryable,
  change: IdentityChangeRow,
): Promise<IdentityWithdrawal | null> {
  const { rows } = await q.query<WithdrawalDbRow>(
    `SELECT ${WITHDRAWAL_COLUMNS} FROM identity_withdrawals
     WHERE psn_no = $1 AND category = $2 AND valid_from = $3::date AND last_change_id >= $4::bigint
     ORDER BY id LIMIT 1`,
    [change.psnNo, change.category, change.validFrom, change.id],
  );
  return rows[0] ? withdrawalOf(rows[0]) : null;
}

export async function insertIdentityWithdrawal(
  q: Queryable,
  w: {
    psnNo: string;
    category: string;
    validFrom: string;
    lastChangeId: string;
    reason: string;
    withdrawnBy: string;
  },
): Promise<IdentityWithdrawal> {
  const { rows } = await q.query<WithdrawalDbRow>(
    `INSERT INTO identity_withdrawals (psn_no, category, valid_from, last_change_id, reason,
                                       withdrawn_by)
     VALUES ($1, $2, $3::date, $4::bigint, $5, $6) RETURNING ${WITHDRAWAL_COLUMNS}`,
    [w.psnNo, w.category, w.validFrom, w.lastChangeId, w.reason, w.withdrawnBy],
  );
  return withdrawalOf(rows[0]!);
}

/** A person's withdrawals, oldest first (the registry's answer lists them). */
export async function withdrawalsOf(q: Queryable, psnNo: string): Promise<IdentityWithdrawal[]> {
  const { rows } = await q.query<WithdrawalDbRow>(
    `SELECT ${WITHDRAWAL_COLUMNS} FROM identity_withdrawals WHERE psn_no = $1 ORDER BY id`,
    [psnNo],
  );
  return rows.map(withdrawalOf);
}

/** The top-ups made on account of the given changes, still standing or not. */
export async function topupsOfChanges(
  q: Queryable,
  changeIds: readonly string[],
): Promise<{ topupId: string; setlId: string; changeId: string }[]> {
  if (changeIds.length === 0) return [];
  const { rows } = await q.query<{ topup_id: string; setl_id: string; change_id: string }>(
    `SELECT topup_id, setl_id, change_id::text AS change_id FROM topups
     WHERE change_id::text = ANY(string_to_array($1, ',')) ORDER BY id`,
    [changeIds.join(',')],
  );
  return rows.map((r) => ({ topupId: r.topup_id, setlId: r.setl_id, changeId: r.change_id }));
}
