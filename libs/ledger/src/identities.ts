/**
 * The identity registry (identity_changes), retroactive top-ups (topups) and high-burden alerts
 * (migrations/0004_identities.sql; docs/adr/0009).
 */
import type { Accumulators, SettlementResult } from '@onebill/engine';
import type { Queryable } from './db';

export interface NewIdentityChange {
  issuer: string;
  reference: string;
  psnNo: string;
  admdvs: string;
  category: string;
  validFrom: string;
  validTo: string | null;
  contentSha256: string;
  inboxId: string | null;
}

export interface IdentityChangeRow extends NewIdentityChange {
  id: string;
  receivedAt: Date;
}

interface ChangeDbRow {
  id: string;
  issuer: string;
  reference: string;
  psn_no: string;
  admdvs: string;
  category: string;
  valid_from: string;
  valid_to: string | null;
  content_sha256: string;
  inbox_id: string | null;
  received_at: Date;
}

const CHANGE_COLUMNS = `id::text AS id, issuer, reference, psn_no, admdvs, category,
  to_char(valid_from, 'YYYY-MM-DD') AS valid_from, to_char(valid_to, 'YYYY-MM-DD') AS valid_to,
  content_sha256, inbox_id::text AS inbox_id, received_at`;

function changeOf(r: ChangeDbRow): IdentityChangeRow {
  return {
    id: r.id,
    issuer: r.issuer,
    reference: r.reference,
    psnNo: r.psn_no,
    admdvs: r.admdvs,
    category: r.category,
    validFrom: r.valid_from,
    validTo: r.valid_to,
    contentSha256: r.content_sha256,
    inboxId: r.inbox_id,
    receivedAt: r.received_at,
  };
}

/** Records a change; null when (issuer, reference) is known already (see findIdentityChange). */
export async function insertIdentityChange(
  q: Queryable,
  c: NewIdentityChange,
): Promise<IdentityChangeRow | null> {
  const { rows } = await q.query<ChangeDbRow>(
    `INSERT INTO identity_changes
       (issuer, reference, psn_no, admdvs, category, valid_from, valid_to, content_sha256, inbox_id)
     VALUES ($1, $2, $3, $4, $5, $6::date, $7::date, $8, $9::bigint)
     ON CONFLICT (issuer, reference) DO NOTHING
     RETURNING ${CHANGE_COLUMNS}`,
    [
      c.issuer,
      c.reference,
      c.psnNo,
      c.admdvs,
      c.category,
      c.validFrom,
      c.validTo,
      c.contentSha256,
      c.inboxId,
    ],
  );
  return rows[0] ? changeOf(rows[0]) : null;
}

export async function findIdentityChange(
  q: Queryable,
  issuer: string,
  reference: string,
): Promise<IdentityChangeRow | null> {
  const { rows } = await q.query<ChangeDbRow>(
    `SELECT ${CHANGE_COLUMNS} FROM identity_changes WHERE issuer = $1 AND reference = $2`,
    [issuer, reference],
  );
  return rows[0] ? changeOf(rows[0]) : null;
}

/** A person's identity periods as they stand: the latest change of each (category, valid_from). */
export interface IdentityPeriod {
  category: string;
  validFrom: string;
  validTo: string | null;
  admdvs: string;
  /** the latest change of the period (identity_changes.id): what a withdrawal names */
  changeId?: string;
}

/**
 * SQL condition: change `c` is not withdrawn (migration 0009; docs/adr/0009 decision 8a). A
 * withdrawal covers its period's changes up to `last_change_id`; a later change counts again.
 */
export const NOT_WITHDRAWN = `NOT EXISTS (
  SELECT 1 FROM identity_withdrawals w
  WHERE w.psn_no = c.psn_no AND w.category = c.category AND w.valid_from = c.valid_from
    AND c.id <= w.last_change_id)`;

/** A row of `currentPeriodsSql`: one period as it stands. */
export interface PeriodRow {
  psn_no: string;
  category: string;
  valid_from: string;
  valid_to: string | null;
  admdvs: string;
  id: string;
}

/**
 * SQL: the identity periods as they stand — the latest change of each (psn_no, category,
 * valid_from), withdrawn ones left out (NOT_WITHDRAWN) — as `PeriodRow`s, of the changes `c`
 * matching `where` too (an SQL condition on `c`, e.g. `c.psn_no = $1`; none: everyone's). Every
 * reader of periods (one person, many, a county's registry) selects them through this one query.
 */
export function currentPeriodsSql(where?: string): string {
  return `SELECT DISTINCT ON (c.psn_no, c.category, c.valid_from) c.psn_no, c.category,
            to_char(c.valid_from, 'YYYY-MM-DD') AS valid_from,
            to_char(c.valid_to, 'YYYY-MM-DD') AS valid_to, c.admdvs, c.id::text AS id
       FROM identity_changes c
      WHERE ${where === undefined ? '' : `${where} AND `}${NOT_WITHDRAWN}
      ORDER BY c.psn_no, c.category, c.valid_from, c.id DESC`;
}

/** A `PeriodRow` as an IdentityPeriod (its change id is what a withdrawal names). */
export function periodOf(r: PeriodRow): IdentityPeriod {
  return {
    category: r.category,
    validFrom: r.valid_from,
    validTo: r.valid_to,
    admdvs: r.admdvs,
    changeId: r.id,
  };
}

/** `PeriodRow`s grouped by person, in their order, added to `into` (a new map by default). */
export function periodsByPerson(
  rows: readonly PeriodRow[],
  into = new Map<string, IdentityPeriod[]>(),
): Map<string, IdentityPeriod[]> {
  for (const r of rows) {
    const list = into.get(r.psn_no) ?? [];
    list.push(periodOf(r));
    into.set(r.psn_no, list);
  }
  return into;
}

/** The periods every reader uses: withdrawn ones left out. */
export async function identityPeriods(q: Queryable, psnNo: string): Promise<IdentityPeriod[]> {
  const { rows } = await q.query<PeriodRow>(currentPeriodsSql('c.psn_no = $1'), [psnNo]);
  return rows.map(periodOf);
}

/**
 * The categories in force on `date` (YYYY-MM-DD). With `wholeYear`, a period identified later in
 * the same calendar year counts from 1 January (the calendar-year reading of 004 第十九条).
 */
export function categoriesInForce(
  periods: readonly IdentityPeriod[],
  date: string,
  wholeYear = false,
): string[] {
  const out = new Set<string>();
  for (const p of periods) {
    const from =
      wholeYear && p.validFrom.slice(0, 4) === date.slice(0, 4)
        ? `${date.slice(0, 4)}-01-01`
        : p.validFrom;
    if (from <= date && (p.validTo === null || date <= p.validTo)) out.add(p.category);
  }
  return [...out].sort();
}

/** Where the identities a bill, a preview, an admission or a subsidy used came from. */
export type IdentityOrigin = 'registry' | 'message';

export interface IdentitiesUsed {
  /** the categories used, sorted */
  categories: string[];
  source: IdentityOrigin;
}

/**
 * THE rule merging the registry with a message (docs/adr/0009 decision 3), for every reader:
 * settlement, retroactive recomputation, preview, deposit waiver and enrollment subsidy. Where
 * the registry knows the person (at least one change received), its categories in force on
 * `date` replace the message's, and `warning` says so when they differ; where it knows nothing of
 * the person, the message's identities stand.
 */
export function identitiesOf(
  periods: readonly IdentityPeriod[],
  message: readonly string[],
  date: string,
  wholeYear = false,
): IdentitiesUsed & { warning: string | null } {
  const sent = [...new Set(message)].sort();
  if (periods.length === 0) return { categories: sent, source: 'message', warning: null };
  const inForce = categoriesInForce(periods, date, wholeYear);
  return {
    categories: inForce,
    source: 'registry',
    warning:
      sent.join(',') === inForce.join(',')
        ? null
        : `IDENTITY_FROM_REGISTRY: the identity registry has ${inForce.join(', ') || 'no identity'} ` +
          `in force on ${date}; the message said ${sent.join(', ') || 'none'}. ` +
          `The registry's were used (002 第二十八条).`,
  };
}

/**
 * People with an identity in force on `date`, with their county, for the subsidy report: the
 * periods as they stand (latest change of each), then the same in-force rule as a bill's.
 */
export async function registryOn(
  q: Queryable,
  date: string,
  admdvs?: string,
): Promise<{ psnNo: string; admdvs: string; categories: string[] }[]> {
  const params: unknown[] = admdvs === undefined ? [] : [admdvs];
  const { rows } = await q.query<PeriodRow>(
    `SELECT * FROM (${currentPeriodsSql()}) p
     ${admdvs === undefined ? '' : 'WHERE p.admdvs = $1'}
     ORDER BY psn_no`,
    params,
  );
  const byPerson = periodsByPerson(rows);
  const out: { psnNo: string; admdvs: string; categories: string[] }[] = [];
  for (const [psnNo, periods] of byPerson) {
    const categories = categoriesInForce(periods, date);
    if (categories.length > 0) out.push({ psnNo, admdvs: periods[0]!.admdvs, categories });
  }
  return out;
}

export interface NewTopup {
  topupId: string;
  setlId: string;
  changeId: string;
  psnNo: string;
  year: number;
  identitiesUsed: string[];
  categoryUsed: string | null;
  result: SettlementResult;
  deltas: Record<'basic' | 'critical' | 'commercial' | 'assistance' | 'tilted', string>;
  psnCashDelta: string;
  eventId: string;
  /** the position the recomputation started from (with result.accumulators: the contribution) */
  accumulatorsBefore: Accumulators;
  /** when it was made ('YYYY-MM-DD HH:mm:ss', Beijing), as its settlement event says */
  setlTime: string;
}

export async function insertTopup(q: Queryable, t: NewTopup): Promise<boolean> {
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO topups (topup_id, setl_id, change_id, psn_no, year, identities_used, category_used,
                         result, basic, critical, commercial, assistance, tilted, psn_cash_delta,
                         event_id, accumulators_before, setl_time)
     VALUES ($1, $2, $3::bigint, $4, $5, $6::jsonb, $7, $8::jsonb, $9, $10, $11, $12, $13, $14, $15,
             $16::jsonb, $17)
     ON CONFLICT (setl_id, change_id) DO NOTHING RETURNING id::text AS id`,
    [
      t.topupId,
      t.setlId,
      t.changeId,
      t.psnNo,
      t.year,
      JSON.stringify(t.identitiesUsed),
      t.categoryUsed,
      JSON.stringify(t.result),
      t.deltas.basic,
      t.deltas.critical,
      t.deltas.commercial,
      t.deltas.assistance,
      t.deltas.tilted,
      t.psnCashDelta,
      t.eventId,
      JSON.stringify(t.accumulatorsBefore),
      t.setlTime,
    ],
  );
  return rows.length > 0;
}
