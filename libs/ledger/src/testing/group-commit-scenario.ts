/**
 * One workload settled two ways, for the group-commit specs (PGlite and PostgreSQL): one message
 * per transaction with the one-row repositories (today's path), and a whole batch in one
 * transaction through the UnitOfWork. The handler is the intake's settle path in miniature (lock
 * the person, look for the visit's settlement, compute, insert, save the position, events, inbox
 * status), written once against BillScope. Amounts are sampleResult's (illustrative, see
 * fixtures.ts); what is compared is that both ways store the same rows. Test support only.
 */
import type { Accumulators } from '@onebill/engine';
import type { Db, Queryable } from '../db';
import { billBodyHash } from '../bill-identity';
import { insertInbox, insertReject, type NewInbox, sha256 } from '../repositories';
import {
  type BatchRun,
  type BillScope,
  directScope,
  type FlushMode,
  runBatch,
  SettledConcurrently,
} from '../unit-of-work';
import { sampleBill, sampleResult } from './fixtures';

export interface ScenarioMessage {
  offset: number;
  psnNo: string;
  mdtrtId: string;
  /** another body for the same visit: a conflict when the visit is settled already */
  ownpay?: string;
  /** the bill's total; anything but 10000.00 breaks funds + patient = total (a bad amount) */
  medfee?: string;
  /** the handler writes a row of its own, stages its settlement, then throws */
  explode?: boolean;
}

export type ScenarioOutcome = 'settled' | 'duplicate' | 'conflict' | 'failed' | 'redelivered';

const TOPIC = 'his.discharge.v1';
const HOSPITAL = 'H51040200001';

function fen(a: string): bigint {
  const [i = '0', f = '00'] = a.split('.');
  return BigInt(i) * 100n + BigInt(f.padEnd(2, '0'));
}
function money(f: bigint): string {
  return `${f / 100n}.${(f % 100n).toString().padStart(2, '0')}`;
}
function add(a: string, b: string): string {
  return money(fen(a) + fen(b));
}

/** A stable uuid per (offset, purpose): both ways write the same ids. */
function uuidOf(offset: number, purpose: number): string {
  const n = (offset * 16 + purpose).toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${n}`;
}

function payloadOf(m: ScenarioMessage): string {
  return `<discharge><psn_no>${m.psnNo}</psn_no><mdtrt_id>${m.mdtrtId}</mdtrt_id><ownpay>${m.ownpay ?? '500.00'}</ownpay></discharge>`;
}

export function inboxOf(m: ScenarioMessage): NewInbox {
  return {
    source: 'kafka',
    topic: TOPIC,
    partition: 0,
    offset: String(m.offset),
    key: HOSPITAL,
    payload: payloadOf(m),
    status: 'received',
    correlationId: `corr-${m.offset}`,
    fixmedinsCode: HOSPITAL,
  };
}

/** The intake's settle path in miniature, against a BillScope. */
export async function handleMessage(
  b: BillScope,
  m: ScenarioMessage,
  inboxId: string,
): Promise<ScenarioOutcome> {
  const bill = sampleBill({
    fixmedinsCode: HOSPITAL,
    mdtrtId: m.mdtrtId,
    psnNo: m.psnNo,
    fulamtOwnpayAmt: m.ownpay ?? '500.00',
    medfeeSumamt: m.medfee ?? '10000.00',
  });
  const locked = await b.accumulators(bill.psnNo, 2024);
  const hash = billBodyHash(bill);
  const existing = await b.settlementOfBill(bill.fixmedinsCode, bill.mdtrtId);
  if (existing !== null) {
    if (existing.bodyHash === hash) {
      await b.setInboxStatus(inboxId, 'duplicate', { setlId: existing.setlId });
      return 'duplicate';
    }
    await rejectMessage(b, m, inboxId, {
      reasonCode: 'CONFLICT',
      field: 'mdtrt_id',
      message: `visit ${bill.mdtrtId} is already settled as ${existing.setlId}`,
      status: 'conflict',
      eventNo: 2,
    });
    return 'conflict';
  }
  const base = sampleResult(bill);
  const info = base.setlinfo;
  const after: Accumulators = {
    ...locked.data,
    basicPaid: { inpatient: add(locked.data.basicPaid['inpatient'] ?? '0.00', info.hifpPay) },
    cashSelfPay: add(locked.data.cashSelfPay, info.psnCashPay),
  };
  const result = { ...base, accumulators: after };
  if (m.explode === true) {
    await insertReject(b.tx, {
      inboxId,
      reasonCode: 'NEVER',
      message: 'written by a bill that then fails',
      payload: null,
    });
  }
  const row = await b.insertSettlement({
    setlId: `S-${m.offset}`,
    bill,
    bodyHash: hash,
    clrOptins: '510402',
    inboxId,
    setlTime: '2024-03-10 16:20:00',
    eventId: uuidOf(m.offset, 1),
    accumulatorsBefore: locked.data,
    result,
  });
  if (row === null) throw new SettledConcurrently(bill.fixmedinsCode, bill.mdtrtId);
  await b.saveAccumulators(bill.psnNo, after, locked.version);
  if (m.explode === true) throw new Error(`bill ${m.offset} fails after writing`);
  await b.insertOutbox([
    {
      eventId: row.eventId,
      topic: 'settlement.events.v1',
      key: row.clrOptins,
      payload: JSON.stringify({ setl_id: row.setlId, psn_cash_pay: info.psnCashPay }),
      headers: { 'event-id': row.eventId },
    },
  ]);
  await b.setInboxStatus(inboxId, 'settled', { setlId: row.setlId });
  return 'settled';
}

/** What a message whose handler failed gets: an INTERNAL_ERROR reject (as the intake records). */
export async function failMessage(
  b: BillScope,
  m: ScenarioMessage,
  inboxId: string,
  error: unknown,
): Promise<ScenarioOutcome> {
  await rejectMessage(b, m, inboxId, {
    reasonCode: 'INTERNAL_ERROR',
    message: error instanceof Error ? error.message : String(error),
    status: 'rejected',
    eventNo: 3,
  });
  return 'failed';
}

/** A reject row, its event and the inbox status; `eventNo` keeps the event id deterministic. */
async function rejectMessage(
  b: BillScope,
  m: ScenarioMessage,
  inboxId: string,
  r: {
    reasonCode: string;
    field?: string;
    message: string;
    status: 'conflict' | 'rejected';
    eventNo: number;
  },
): Promise<void> {
  const rejectId = await insertReject(b.tx, {
    inboxId,
    reasonCode: r.reasonCode,
    ...(r.field === undefined ? {} : { field: r.field }),
    message: r.message,
    payload: null,
    fixmedinsCode: HOSPITAL,
  });
  await b.insertOutbox([
    {
      eventId: uuidOf(m.offset, r.eventNo),
      topic: 'his.discharge.rejected.v1',
      key: HOSPITAL,
      payload: JSON.stringify({ reject_id: rejectId, status: r.status }),
      headers: { 'event-id': uuidOf(m.offset, r.eventNo) },
    },
  ]);
  await b.setInboxStatus(inboxId, r.status, { rejectId });
}

/** Today's path: each message in a transaction of its own; a failure recorded in a second one. */
export async function settleOneByOne(
  db: Db,
  messages: readonly ScenarioMessage[],
): Promise<ScenarioOutcome[]> {
  const outcomes: ScenarioOutcome[] = [];
  for (const m of messages) {
    try {
      outcomes.push(
        await db.transaction(async (tx) => {
          const ref = await insertInbox(tx, inboxOf(m));
          if (!ref.inserted) return 'redelivered' as const;
          return handleMessage(directScope(tx), m, ref.id);
        }),
      );
    } catch (error) {
      outcomes.push(
        await db.transaction(async (tx) => {
          const ref = await insertInbox(tx, inboxOf(m));
          return failMessage(directScope(tx), m, ref.id, error);
        }),
      );
    }
  }
  return outcomes;
}

/** The batch in one transaction through runBatch and the UnitOfWork. */
export async function settleAsBatch(
  db: Db,
  messages: readonly ScenarioMessage[],
  mode: FlushMode = 'deferred',
): Promise<BatchRun<ScenarioOutcome>> {
  let inbox: string[] = [];
  let inserted: boolean[] = [];
  return runBatch(
    db,
    messages,
    {
      prepare: async (uow, batch) => {
        const refs = await uow.recordInbox(batch.map(inboxOf));
        inbox = refs.map((r) => r.id);
        inserted = refs.map((r) => r.inserted);
        await uow.lockPeople(batch.map((m) => ({ psnNo: m.psnNo, year: 2024 })));
        await uow.prefetchSettlements(
          batch.map((m) => ({ fixmedinsCode: HOSPITAL, mdtrtId: m.mdtrtId })),
        );
      },
      handle: (b, m, i) =>
        inserted[i] === false
          ? Promise.resolve('redelivered' as const)
          : handleMessage(b, m, inbox[i] as string),
      failed: (b, m, error, i) => failMessage(b, m, inbox[i] as string, error),
    },
    { mode },
  );
}

/**
 * The ledger's rows, without what differs by construction between two databases or two runs:
 * receipt and settlement times. Inbox rows are named by their Kafka offset.
 */
export async function ledgerSnapshot(q: Queryable): Promise<Record<string, unknown[]>> {
  const rows = async (sql: string): Promise<unknown[]> => (await q.query(sql)).rows;
  return {
    inbox: await rows(
      `SELECT i."offset"::text AS off, i.status, i.setl_id, i.correlation_id, i.payload,
              i.payload_sha256, r.reason_code, r.message
         FROM inbox i LEFT JOIN rejects r ON r.id = i.reject_id ORDER BY i."offset"`,
    ),
    settlements: await rows(
      `SELECT s.setl_id, s.fixmedins_code, s.mdtrt_id, s.psn_no, s.year, s.body_hash,
              s.rule_set_version, s.clr_optins, i."offset"::text AS inbox_offset, s.setl_time,
              s.event_id::text AS event_id, s.accumulators_before::text AS before,
              s.medfee_sumamt::text AS medfee, s.fund_pay_sumamt::text AS fund,
              s.psn_part_amt::text AS psn, s.result::text AS result, s.status,
              s.identities_used::text AS identities_used,
              -- the write order (migration 0014): a batch writes its bills in message order
              row_number() OVER (ORDER BY s.seq)::int AS write_order
         FROM settlements s LEFT JOIN inbox i ON i.id = s.inbox_id ORDER BY s.setl_id`,
    ),
    accumulators: await rows(
      `SELECT psn_no, year, data::text AS data, version FROM accumulators ORDER BY psn_no, year`,
    ),
    outbox: await rows(
      `SELECT event_id::text AS event_id, topic, key, payload, headers::text AS headers
         FROM outbox ORDER BY id`,
    ),
    rejects: await rows(
      `SELECT i."offset"::text AS inbox_offset, r.reason_code, r.message, r.payload
         FROM rejects r LEFT JOIN inbox i ON i.id = r.inbox_id ORDER BY i."offset", r.id`,
    ),
  };
}

export interface ArchiveEntry {
  kind: string;
  ref: string;
  /** sha256 of the content; for a submission, of the content without its receipt time */
  sha: string;
}

/** The archive's entries per kind, in their order (seq) within the kind. */
export async function archiveByKind(q: Queryable): Promise<Record<string, ArchiveEntry[]>> {
  const { rows } = await q.query<{ kind: string; ref: string; content: string; sha: string }>(
    'SELECT kind, ref, content, content_sha256 AS sha FROM archive ORDER BY seq',
  );
  const out: Record<string, ArchiveEntry[]> = {};
  for (const r of rows) {
    let sha = r.sha;
    if (r.kind === 'submission') {
      const c = JSON.parse(r.content) as Record<string, unknown>;
      delete c['received_at'];
      sha = sha256(JSON.stringify(c));
    }
    (out[r.kind] ??= []).push({ kind: r.kind, ref: r.ref, sha });
  }
  return out;
}
