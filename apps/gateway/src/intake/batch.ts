/**
 * Group commit's intake (docs/adr/0020-group-commit.md, "the wiring recipe"): a chunk of Kafka
 * messages, decoded at the edge, settled in ONE transaction by `runBatch` — their inbox rows in
 * one statement, their people locked in one statement in the one fixed order, their visits and
 * identities prefetched, then each message's handler in a bill of its own (the very handlers the
 * one-message path runs, on the batch's `BillScope`), the staged rows written set-based, COMMIT.
 *
 * A message's outcome is the one it gets alone: a handler that throws is undone alone and retried
 * (Retry, SettledConcurrently) or kept as an INTERNAL_ERROR reject, in a bill of its own; a row
 * refused at the final flush re-runs the batch in eager mode (runBatch).
 */
import {
  type BillScope,
  type Db,
  type InboxRef,
  type PersonYear,
  SettledConcurrently,
  runBatch,
} from '@onebill/ledger';
import type { Arrival } from './arrival';
import type { IntakeDeps } from './context';
import { type Outcome, type Source, Retry, newCorrelationId, scopeProblem } from './model';
import { contextOf, dispatch, inboxOf, internalProblem, recorded, recordedAs } from './router';
import { reject } from './reject';
import { admitBill, yearOf } from './settle';

/** One message of a batch: decoded at the edge, where it came from. */
export interface BatchItem {
  arrival: Arrival;
  source: Source;
  /**
   * Runs the message's handler inside what the caller wants around it (the Kafka transport: the
   * message's CONSUMER span, so the outbox rows it stages carry its traceparent).
   */
  around?: <T>(run: () => Promise<T>) => Promise<T>;
}

interface Prepared {
  arrival: Arrival;
  source: Source;
  correlationId: string;
  around: <T>(run: () => Promise<T>) => Promise<T>;
}

/**
 * A failure the database may not give again (a deadlock, a serialization failure, a lock or
 * statement timeout, a cancelled query): alone, the Kafka ingress tries such a message again
 * (processWithRetries), so the batch must not turn it into a reject at once; it fails the batch,
 * whose messages then go one by one.
 */
export function transient(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(40001|40P01|55P03|57014)$/.test(code);
}

/** Retry (the unique index refused a settlement) and SettledConcurrently: run the bill again. */
export function retryable(e: unknown): boolean {
  return e instanceof Retry || e instanceof SettledConcurrently;
}

/** What the bills of a batch will ask for: whom to lock, which visits and identities to read. */
function wants(
  deps: IntakeDeps,
  items: readonly Prepared[],
  refs: readonly InboxRef[],
): { people: PersonYear[]; visits: Array<{ fixmedinsCode: string; mdtrtId: string }> } {
  const people: PersonYear[] = [];
  const visits: Array<{ fixmedinsCode: string; mdtrtId: string }> = [];
  items.forEach((item, i) => {
    const d = item.arrival.decoded;
    if (!refs[i]?.inserted || !d.ok) return;
    const m = d.message;
    if (m.kind === 'identity-change' || scopeProblem(item.source, m.hospital) !== null) return;
    if (m.kind === 'discharge') {
      // only a bill the handler will lock: one refused before (unknown hospital, wrong level)
      // locks nobody alone, and must create no zero position here either
      try {
        admitBill(deps.rules, m.bill);
      } catch {
        return;
      }
      people.push({ psnNo: m.bill.psnNo, year: yearOf(m.bill) });
      visits.push({ fixmedinsCode: m.bill.fixmedinsCode, mdtrtId: m.bill.mdtrtId });
    } else if (m.kind === 'reversal') {
      visits.push({ fixmedinsCode: m.reversal.fixmedinsCode, mdtrtId: m.reversal.mdtrtId });
    }
  });
  return { people, visits };
}

/** The people whose registry identities the batch's bills and admissions read. */
function identityPeople(items: readonly Prepared[], refs: readonly InboxRef[]): string[] {
  const out: string[] = [];
  items.forEach((item, i) => {
    const d = item.arrival.decoded;
    if (!refs[i]?.inserted || !d.ok) return;
    if (d.message.kind === 'discharge') out.push(d.message.bill.psnNo);
    else if (d.message.kind === 'admission') out.push(d.message.admission.psnNo);
  });
  return out;
}

/**
 * Settles the items in one transaction; resolves after COMMIT with each item's outcome, in order.
 * A failure outside any bill (the store gone, a bug in the batch's own statements) rejects: the
 * caller then runs the items again, or one by one.
 */
export async function settleBatch(
  db: Db,
  deps: IntakeDeps,
  items: readonly BatchItem[],
  onFailed: (source: Source, error: unknown) => void = () => undefined,
): Promise<Outcome[]> {
  const prepared: Prepared[] = items.map((item) => {
    const source = recorded(item.arrival, item.source);
    return {
      arrival: item.arrival,
      source,
      correlationId: newCorrelationId(source),
      around: item.around ?? ((run) => run()),
    };
  });
  let refs: InboxRef[] = [];
  const answer = (b: BillScope, p: Prepared, ref: InboxRef): Promise<string | Outcome> =>
    recordedAs(deps, b.tx, p.arrival, p.source, p.correlationId, ref);
  const run = await runBatch<Prepared, Outcome>(db, prepared, {
    prepare: async (uow, list) => {
      refs = await uow.recordInbox(list.map((p) => inboxOf(p.arrival, p.source, p.correlationId)));
      const { people, visits } = wants(deps, list, refs);
      await uow.lockPeople(people);
      await uow.prefetchSettlements(visits);
      await uow.prefetchIdentities(identityPeople(list, refs));
    },
    handle: (b, p, i) =>
      p.around(async () => {
        const ref = refs[i] as InboxRef;
        const inbox = await answer(b, p, ref);
        if (typeof inbox !== 'string') return inbox;
        return dispatch(deps, contextOf(b, inbox, p.arrival, p.source, p.correlationId), p.arrival);
      }),
    failed: (b, p, error, i) =>
      p.around(async () => {
        if (transient(error)) throw error;
        onFailed(p.source, error);
        const ref = refs[i] as InboxRef;
        // a redelivery whose answer failed: answer again (a failure now fails the batch)
        if (!ref.inserted) return (await answer(b, p, ref)) as Outcome;
        return reject(contextOf(b, ref.id, p.arrival, p.source, p.correlationId), [
          internalProblem(error),
        ]);
      }),
    retryable,
    attempts: 5,
  });
  return run.outcomes;
}
