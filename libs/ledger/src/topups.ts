/**
 * Top-ups as part of their settlement (issue 15, docs/adr/0009): a settled bill with what it
 * currently stands at (its latest top-up), the top-ups of a settlement, and a bill's contribution
 * to the person's year as it now stands, which a reversal takes back out.
 */
import type { Accumulators, SettlementResult } from '@onebill/engine';
import type { Queryable } from './db';
import { json, type SettlementStatus } from './repositories';

/** A settled bill of a person and year with what it currently stands at (its latest top-up). */
export interface PersonBill {
  setlId: string;
  fixmedinsCode: string;
  mdtrtId: string;
  clrOptins: string;
  eventId: string;
  setlTime: string;
  payload: string;
  accumulatorsBefore: Accumulators;
  /** the latest computation: the last top-up's, else the settlement's */
  effective: SettlementResult;
  /** the position that computation started from: effective.accumulators − it = the contribution */
  effectiveBefore: Accumulators;
  /** the identities of that computation (null: the message's own) */
  effectiveIdentities: string[] | null;
}

type Json<T> = T | string;

export async function personBills(
  q: Queryable,
  psnNo: string,
  year: number,
): Promise<PersonBill[]> {
  const { rows } = await q.query<{
    setl_id: string;
    fixmedins_code: string;
    mdtrt_id: string;
    clr_optins: string;
    event_id: string;
    setl_time: string;
    payload: string;
    accumulators_before: Json<Accumulators>;
    result: Json<SettlementResult>;
    identities_used: Json<string[]> | null;
    t_result: Json<SettlementResult> | null;
    t_identities: Json<string[]> | null;
    t_before: Json<Accumulators> | null;
  }>(
    `SELECT s.setl_id, s.fixmedins_code, s.mdtrt_id, s.clr_optins, s.event_id::text AS event_id,
            s.setl_time, i.payload, s.accumulators_before, s.result, s.identities_used,
            t.result AS t_result, t.identities_used AS t_identities,
            t.accumulators_before AS t_before
     FROM settlements s
     JOIN inbox i ON i.id = s.inbox_id
     LEFT JOIN LATERAL (SELECT result, identities_used, accumulators_before FROM topups
                        WHERE topups.setl_id = s.setl_id ORDER BY id DESC LIMIT 1) t ON true
     WHERE s.psn_no = $1 AND s.year = $2 AND s.status = 'settled'
     ORDER BY s.seq`,
    [psnNo, year],
  );
  return rows.map((r) => {
    const accumulatorsBefore = json(r.accumulators_before);
    return {
      setlId: r.setl_id,
      fixmedinsCode: r.fixmedins_code,
      mdtrtId: r.mdtrt_id,
      clrOptins: r.clr_optins,
      eventId: r.event_id,
      setlTime: r.setl_time,
      payload: r.payload,
      accumulatorsBefore,
      effective: json(r.t_result ?? r.result),
      effectiveBefore:
        r.t_result === null || r.t_before === null ? accumulatorsBefore : json(r.t_before),
      effectiveIdentities:
        r.t_identities !== null
          ? json(r.t_identities)
          : r.identities_used !== null
            ? json(r.identities_used)
            : null,
    };
  });
}

/**
 * The person's position at the start of a year as the gateway first saw it: the position the
 * year's first settlement (reversed or not) started from. Null when nothing was settled.
 */
export async function yearOpening(
  q: Queryable,
  psnNo: string,
  year: number,
): Promise<Accumulators | null> {
  const { rows } = await q.query<{ accumulators_before: Json<Accumulators> }>(
    `SELECT accumulators_before FROM settlements WHERE psn_no = $1 AND year = $2
     ORDER BY seq LIMIT 1`,
    [psnNo, year],
  );
  return rows[0] ? json(rows[0].accumulators_before) : null;
}

export interface TopupRow {
  topupId: string;
  setlId: string;
  changeId: string;
  eventId: string;
  identitiesUsed: string[];
  categoryUsed: string | null;
  result: SettlementResult;
  accumulatorsBefore: Accumulators | null;
  deltas: Record<'basic' | 'critical' | 'commercial' | 'assistance' | 'tilted', string>;
  psnCashDelta: string;
  createdAt: Date;
  /** a top-up stands and falls with its settlement: reversed with it */
  status: 'paid' | 'reversed';
  reversedAt: Date | null;
}

/** A settlement's top-ups in the order they were made. */
export async function topupsOf(q: Queryable, setlId: string): Promise<TopupRow[]> {
  const { rows } = await q.query<{
    topup_id: string;
    setl_id: string;
    change_id: string;
    event_id: string;
    identities_used: Json<string[]>;
    category_used: string | null;
    result: Json<SettlementResult>;
    accumulators_before: Json<Accumulators> | null;
    basic: string;
    critical: string;
    commercial: string;
    assistance: string;
    tilted: string;
    psn_cash_delta: string;
    created_at: Date;
    status: SettlementStatus;
    reversed_at: Date | null;
  }>(
    `SELECT t.topup_id, t.setl_id, t.change_id::text AS change_id, t.event_id::text AS event_id,
            t.identities_used, t.category_used, t.result, t.accumulators_before,
            t.basic::text AS basic, t.critical::text AS critical,
            t.commercial::text AS commercial, t.assistance::text AS assistance,
            t.tilted::text AS tilted, t.psn_cash_delta::text AS psn_cash_delta, t.created_at,
            s.status, s.reversed_at
     FROM topups t JOIN settlements s ON s.setl_id = t.setl_id
     WHERE t.setl_id = $1 ORDER BY t.id`,
    [setlId],
  );
  return rows.map((r) => ({
    topupId: r.topup_id,
    setlId: r.setl_id,
    changeId: r.change_id,
    eventId: r.event_id,
    identitiesUsed: json(r.identities_used),
    categoryUsed: r.category_used,
    result: json(r.result),
    accumulatorsBefore: r.accumulators_before === null ? null : json(r.accumulators_before),
    deltas: {
      basic: r.basic,
      critical: r.critical,
      commercial: r.commercial,
      assistance: r.assistance,
      tilted: r.tilted,
    },
    psnCashDelta: r.psn_cash_delta,
    createdAt: r.created_at,
    status: r.status === 'settled' ? 'paid' : 'reversed',
    reversedAt: r.reversed_at,
  }));
}

/** Records the answer given to an admission (the redelivery of that message repeats it). */
export async function saveAdmissionAnswer(
  q: Queryable,
  inboxId: string,
  answer: unknown,
): Promise<void> {
  await q.query(`UPDATE admissions SET answer = $2::jsonb WHERE inbox_id = $1::bigint`, [
    inboxId,
    JSON.stringify(answer),
  ]);
}

export async function admissionAnswerOf<T>(q: Queryable, inboxId: string): Promise<T | null> {
  const { rows } = await q.query<{ answer: Json<T> | null }>(
    `SELECT answer FROM admissions WHERE inbox_id = $1::bigint`,
    [inboxId],
  );
  const a = rows[0]?.answer;
  return a === undefined || a === null ? null : json(a);
}

/** The years in which a person has settled bills, from `fromYear` on. */
export async function personYears(
  q: Queryable,
  psnNo: string,
  fromYear: number,
): Promise<number[]> {
  const { rows } = await q.query<{ year: number }>(
    `SELECT DISTINCT year FROM settlements WHERE psn_no = $1 AND year >= $2 AND status = 'settled'
     ORDER BY year`,
    [psnNo, fromYear],
  );
  return rows.map((r) => r.year);
}
