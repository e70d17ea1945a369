/**
 * The SQL of the county payment service. Every statement of a batch runs on the transaction's
 * handle (`tx`), never on the pool.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db, Queryable } from '@onebill/ledger';
import type { SettlementEvent } from '@onebill/messaging';

/** src/ → ../migrations; compiled dist/apps/county-payments/src → the source tree's migrations. */
function migrationsDir(): string {
  const candidates = [
    join(__dirname, '..', 'migrations'),
    join(__dirname, '..', '..', '..', '..', 'apps', 'county-payments', 'migrations'),
  ];
  const found = candidates.find((dir) => existsSync(dir));
  if (!found) throw new Error(`county-payments migrations not found in ${candidates.join(' or ')}`);
  return found;
}

/** Applies every migration file in name order; each one is idempotent (IF NOT EXISTS). */
export async function migrate(db: Db): Promise<string[]> {
  const dir = migrationsDir();
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  for (const file of files) await db.exec(readFileSync(join(dir, file), 'utf8'));
  return files;
}

export interface MessagePosition {
  topic: string;
  partition: number;
  offset: string;
}

/** Records the event; false when its id was already processed (a redelivery: nothing to add). */
export async function recordEvent(
  tx: Queryable,
  event: SettlementEvent,
  at: MessagePosition,
): Promise<boolean> {
  const inserted = await tx.query(
    `INSERT INTO county.processed_events
       (event_id, event_type, admdvs, fixmedins_code, setl_id, month, fund_pay_sumamt,
        topic, kafka_partition, kafka_offset)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (event_id) DO NOTHING
     RETURNING event_id`,
    [
      event.event_id,
      event.event_type,
      event.clr_optins,
      event.fixmedins_code,
      event.setl_id,
      event.month,
      event.fund_pay_sumamt,
      at.topic,
      at.partition,
      at.offset,
    ],
  );
  return inserted.rows.length === 1;
}

/** Adds each fund line to the payable of its county × hospital × fund × month (numeric, exact). */
export async function addToPayables(tx: Queryable, event: SettlementEvent): Promise<void> {
  for (const fund of event.funds) {
    await tx.query(
      `INSERT INTO county.payables AS p (admdvs, fixmedins_code, fund_pay_type, month, amount, events)
       VALUES ($1, $2, $3, $4, $5::numeric(14,2), 1)
       ON CONFLICT (admdvs, fixmedins_code, fund_pay_type, month)
       DO UPDATE SET amount = p.amount + EXCLUDED.amount,
                     events = p.events + 1,
                     updated_at = now()`,
      [event.clr_optins, event.fixmedins_code, fund.fund_pay_type, event.month, fund.amount],
    );
  }
}

export async function recordReject(
  tx: Queryable,
  at: MessagePosition,
  reject: { key: string | null; eventIdHeader: string | null; reason: string; raw: Buffer | null },
): Promise<void> {
  await tx.query(
    `INSERT INTO county.rejected_events
       (topic, kafka_partition, kafka_offset, message_key, event_id_header, reason, raw_value)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING`,
    [
      at.topic,
      at.partition,
      at.offset,
      reject.key,
      reject.eventIdHeader,
      reject.reason,
      reject.raw,
    ],
  );
}

export interface PayableRow {
  admdvs: string;
  fixmedins_code: string;
  fund_pay_type: string;
  month: string;
  amount: string;
  events: number;
}

export interface FundTotal {
  fund_pay_type: string;
  amount: string;
  events: number;
}

export interface HospitalFundTotal {
  admdvs: string;
  fixmedins_code: string;
  fund_pay_type: string;
  amount: string;
  events: number;
}

export async function listPayables(
  db: Queryable,
  filter: { month?: string; fixmedinsCode?: string },
): Promise<{ rows: PayableRow[]; totals: FundTotal[] }> {
  const params = [filter.month ?? null, filter.fixmedinsCode ?? null];
  const where = `($1::text IS NULL OR month = $1::text) AND ($2::text IS NULL OR fixmedins_code = $2::text)`;
  const rows = await db.query<PayableRow>(
    `SELECT admdvs::text AS admdvs, fixmedins_code, fund_pay_type, month::text AS month,
            amount::text AS amount, events
       FROM county.payables
      WHERE ${where}
      ORDER BY admdvs, fixmedins_code, month, fund_pay_type`,
    params,
  );
  const totals = await db.query<FundTotal>(
    `SELECT fund_pay_type, sum(amount)::numeric(14,2)::text AS amount, sum(events)::int AS events
       FROM county.payables
      WHERE ${where}
      GROUP BY fund_pay_type
      ORDER BY fund_pay_type`,
    params,
  );
  return { rows: rows.rows, totals: totals.rows };
}

export async function totalsByHospital(db: Queryable): Promise<HospitalFundTotal[]> {
  const result = await db.query<HospitalFundTotal>(
    `SELECT admdvs::text AS admdvs, fixmedins_code, fund_pay_type,
            sum(amount)::numeric(14,2)::text AS amount, sum(events)::int AS events
       FROM county.payables
      GROUP BY admdvs, fixmedins_code, fund_pay_type
      ORDER BY admdvs, fixmedins_code, fund_pay_type`,
  );
  return result.rows;
}

export interface IngestCounts {
  processed: number;
  rejected: number;
  skipped: number;
}

export async function ingestCounts(db: Queryable): Promise<Omit<IngestCounts, 'skipped'>> {
  const r = await db.query<{ processed: number; rejected: number }>(
    `SELECT (SELECT count(*)::int FROM county.processed_events) AS processed,
            (SELECT count(*)::int FROM county.rejected_events) AS rejected`,
  );
  return r.rows[0] ?? { processed: 0, rejected: 0 };
}
