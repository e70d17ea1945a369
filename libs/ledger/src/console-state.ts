/**
 * What the console's state banner reads besides /health/ready (issue 13): when each hospital last
 * sent anything, and how old the oldest event still waiting in the outbox is.
 */
import type { Queryable } from './db';

export interface LastSeen {
  fixmedinsCode: string;
  /** the newest message received from it, or null when it never sent one */
  at: Date | null;
}

/**
 * The newest inbox row per hospital, for the given codes (the registry's), one index probe each
 * (inbox_hospital_received): the inbox can hold years, the registry a few hundred institutions.
 */
export async function lastSeenByHospital(
  q: Queryable,
  codes: readonly string[],
): Promise<LastSeen[]> {
  if (codes.length === 0) return [];
  const r = await q.query<{ code: string; at: Date | null }>(
    `SELECT h.code,
            (SELECT max(received_at) FROM inbox i WHERE i.fixmedins_code = h.code) AS at
       FROM unnest($1::text[]) AS h(code)
      ORDER BY h.code`,
    [codes],
  );
  return r.rows.map((x) => ({ fixmedinsCode: x.code, at: x.at }));
}

/** Seconds since the oldest pending (unpublished, not parked) outbox row was written, or null. */
export async function oldestPendingOutboxSeconds(q: Queryable): Promise<number | null> {
  const r = await q.query<{ age: string | null }>(
    // ids grow with time: the first pending id is the oldest, found through outbox_pending; a
    // parked event waits for an operator, not for the relay (ADR 0011)
    `SELECT extract(epoch FROM now() - created_at)::text AS age
       FROM outbox WHERE published_at IS NULL AND parked_at IS NULL ORDER BY id LIMIT 1`,
  );
  const age = r.rows[0]?.age;
  return age === null || age === undefined ? null : Math.max(0, Math.floor(Number(age)));
}
