/**
 * Group commit's unit of work (docs/adr/0020-group-commit.md): one database transaction settles a
 * batch of messages; each message ("bill") runs in a scope of its own that can be rolled back
 * without touching its neighbours; the rows the bills write are pushed into the unit of work and
 * written set-based (batch.ts), a handful of statements per batch instead of a dozen per bill.
 *
 * ```ts
 * await db.transaction(async (tx) => {
 *   const uow = new UnitOfWork(tx, { mode });               // 'deferred', or 'eager' on a re-run
 *   const inbox = await uow.recordInbox(messages);          // 1 statement
 *   await uow.lockPeople(people);                           // 1 statement, sorted lock order
 *   await uow.prefetchSettlements(bills);                   // 1 statement
 *   await uow.prefetchIdentities(psnNos);                   // 1 statement
 *   for (const m of messages) {
 *     const outcome = await uow.bill((b) => handler(b, m)); // savepoint only when needed
 *     if (!outcome.ok) { … the message's failure path, in a bill of its own … }
 *   }
 *   await uow.flush();                                      // ≤ 4 statements
 * });
 * // only now commit the Kafka offsets
 * ```
 *
 * A bill's scope:
 * - reads what the batch prefetched (settlements of its bills, people's positions, identities)
 *   and what earlier bills of the batch wrote (a second bill of one person is computed on the
 *   position the first left; a visit settled earlier in the batch is found);
 * - stages its writes (settlement, position, outbox events, inbox status): no round trip;
 * - may still run any statement on `b.tx` (a reject, a reversal, an alert): before the first one,
 *   everything earlier bills staged is written (outside this bill), then a SAVEPOINT is taken,
 *   then what this bill staged so far is written inside it. A bill that runs no statement of its
 *   own costs no savepoint and no round trip.
 *
 * A bill that throws is undone alone: ROLLBACK TO its savepoint (if it took one) and its staged
 * rows and in-memory positions dropped; `bill()` resolves `{ ok: false, error }` and the batch
 * goes on. A failure of rows already handed over (a constraint refusing a settlement at the final
 * flush, another transaction settling the same visit first) cannot be pinned on one bill without
 * re-running its successors, so it fails the batch with BatchFlushError: roll the transaction
 * back and run the same batch again with `mode: 'eager'`, where every write runs at once inside
 * its bill's savepoint and fails that bill alone, exactly as it would fail alone.
 */
import type { Accumulators } from '@onebill/engine';
import { traceHeaders } from '@onebill/observability/tracing';
import type { Db, Queryable, QueryResult } from './db';
import { type IdentityPeriod, identityPeriods } from './identities';
import { isConnectionError, isStoreUnavailable } from './store-health';
import {
  type InboxRef,
  type InboxStatus,
  type LockedAccumulators,
  type NewInbox,
  type NewSettlement,
  type OutboxEvent,
  type SettlementRow,
  findSettlementByBill,
  insertOutboxMany,
  insertSettlement,
  lockAccumulators,
  reverseSettlement,
  saveAccumulators,
  setInboxStatus,
} from './repositories';
import {
  type AccumulatorsWrite,
  type InboxStatusUpdate,
  type PersonYear,
  billKey,
  findSettlementsByBills,
  identityPeriodsBatch,
  insertInboxBatch,
  insertOutboxBatch,
  insertSettlementsBatch,
  lockAccumulatorsBatch,
  personKey,
  saveAccumulatorsBatch,
  setInboxStatusBatch,
  settlementRowOf,
} from './batch';

/**
 * deferred: writes are staged and flushed set-based (the fast path).
 * eager: every write runs at once inside its bill's savepoint (the re-run after BatchFlushError,
 * and the one-by-one reference the tests compare with).
 */
export type FlushMode = 'deferred' | 'eager';

/**
 * The unique index refused a bill's settlement: another transaction settled the visit first. As
 * with insertSettlement returning null, run the bill again: it then finds the winner.
 */
export class SettledConcurrently extends Error {
  constructor(
    readonly fixmedinsCode: string,
    readonly mdtrtId: string,
  ) {
    super(`visit ${mdtrtId} of ${fixmedinsCode} was settled by another transaction first`);
  }
}

/**
 * Rows already handed over by finished bills could not be written. Roll the batch's transaction
 * back and run the batch again with `mode: 'eager'` (docs/adr/0020-group-commit.md).
 */
export class BatchFlushError extends Error {
  constructor(cause: unknown) {
    super(
      `the batch's set-based write failed (${cause instanceof Error ? cause.message : String(cause)}); run the batch again in eager mode`,
      { cause },
    );
  }
}

export type BillOutcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** What a handler sees of the batch while it handles one message. */
export interface BillScope {
  /** the transaction, for statements of this bill's own (taken under its savepoint) */
  readonly tx: Queryable;
  /** the person's position as the earlier bills of the batch left it (locked) */
  accumulators(psnNo: string, year: number): Promise<LockedAccumulators>;
  /** the person's new position; `expectedVersion` as saveAccumulators checks it */
  saveAccumulators(psnNo: string, data: Accumulators, expectedVersion: number): Promise<number>;
  /** the visit's settlement in force (status settled), counting this batch's, or null */
  settlementOfBill(fixmedinsCode: string, mdtrtId: string): Promise<SettlementRow | null>;
  /** insertSettlement: the row, or null when the visit is settled already */
  insertSettlement(s: NewSettlement): Promise<SettlementRow | null>;
  /** reverseSettlement, keeping the batch's view of the visit right */
  reverseSettlement(
    setlId: string,
    options?: { inboxId?: string | null; reason?: string | null },
  ): Promise<SettlementRow | null>;
  insertOutbox(events: readonly OutboxEvent[]): Promise<void>;
  setInboxStatus(
    id: string,
    status: InboxStatus,
    ref?: { setlId?: string | null; rejectId?: string | null },
  ): Promise<void>;
  /** identityPeriods, from the batch's prefetch where it has them */
  identityPeriods(psnNo: string): Promise<IdentityPeriod[]>;
}

interface Person {
  psnNo: string;
  year: number;
  data: Accumulators;
  /** the version the position stands at in the batch (locked + saves) */
  version: number;
  /** the version the row has in the database (this transaction's view) */
  flushed: number;
}

interface StagedSettlement {
  bill: number;
  input: NewSettlement;
  row: SettlementRow;
}

/** What a bill changed in the batch's memory, to undo it if the bill fails. */
interface Undo {
  persons: Map<string, Person | null>;
  known: Map<string, SettlementRow | null | undefined>;
}

/** Errors that belong to the batch, not to the bill that happened to be running. */
class BatchLevel extends Error {
  constructor(readonly error: unknown) {
    super('batch-level failure');
  }
}

export interface UnitOfWorkStats {
  /** statements sent (SAVEPOINT and RELEASE included) */
  statements: number;
  savepoints: number;
  billsRolledBack: number;
}

export class UnitOfWork {
  readonly mode: FlushMode;
  readonly stats: UnitOfWorkStats = { statements: 0, savepoints: 0, billsRolledBack: 0 };
  private readonly q: Queryable;
  private billNo = 0;
  private active: { no: number; savepoint: boolean; undo: Undo } | null = null;
  private readonly persons = new Map<string, Person>();
  /** visit → its settlement in force as this batch sees it (null: none); absent: not read */
  private readonly known = new Map<string, SettlementRow | null>();
  private readonly identities = new Map<string, IdentityPeriod[]>();
  /** set when a set-based write failed: the transaction must be rolled back */
  private broken: BatchFlushError | null = null;
  private settlements: StagedSettlement[] = [];
  private outbox: Array<{ bill: number; event: OutboxEvent }> = [];
  private statuses: Array<{ bill: number; update: InboxStatusUpdate }> = [];

  constructor(tx: Queryable, options: { mode?: FlushMode } = {}) {
    this.mode = options.mode ?? 'deferred';
    const stats = this.stats;
    this.q = {
      query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
        stats.statements += 1;
        return tx.query<R>(sql, params);
      },
      exec(sql: string): Promise<void> {
        stats.statements += 1;
        return tx.exec(sql);
      },
    };
  }

  // ------------------------------------------------------------ the batch's first statements

  /** Records the batch's messages (insertInboxBatch), before its bills run. */
  recordInbox(messages: readonly NewInbox[]): Promise<InboxRef[]> {
    this.outsideBills('recordInbox');
    return insertInboxBatch(this.q, messages);
  }

  /**
   * Locks the people the batch's bills name, in the one fixed order (lockAccumulatorsBatch). A
   * person a bill needs later and not named here is locked when the bill asks, alone: correct,
   * but outside the fixed order (a deadlock with another batch is then possible; PostgreSQL
   * breaks it and the batch is retried).
   */
  async lockPeople(people: readonly PersonYear[]): Promise<void> {
    this.outsideBills('lockPeople');
    const fresh = people.filter((p) => !this.persons.has(personKey(p.psnNo, p.year)));
    const locked = await lockAccumulatorsBatch(this.q, fresh);
    for (const p of fresh) {
      const key = personKey(p.psnNo, p.year);
      const l = locked.get(key);
      if (l === undefined) throw new Error(`accumulators ${p.psnNo}/${p.year} were not locked`);
      this.persons.set(key, { ...p, data: l.data, version: l.version, flushed: l.version });
    }
  }

  /** Reads the visits' settlements in force. Call after lockPeople (read under the locks). */
  async prefetchSettlements(
    bills: ReadonlyArray<{ fixmedinsCode: string; mdtrtId: string }>,
  ): Promise<void> {
    this.outsideBills('prefetchSettlements');
    const wanted = bills.filter((b) => !this.known.has(billKey(b.fixmedinsCode, b.mdtrtId)));
    const found = await findSettlementsByBills(this.q, wanted);
    for (const b of wanted) {
      const key = billKey(b.fixmedinsCode, b.mdtrtId);
      this.known.set(key, found.get(key) ?? null);
    }
  }

  async prefetchIdentities(psnNos: readonly string[]): Promise<void> {
    this.outsideBills('prefetchIdentities');
    const found = await identityPeriodsBatch(
      this.q,
      psnNos.filter((p) => !this.identities.has(p)),
    );
    for (const [p, periods] of found) this.identities.set(p, periods);
  }

  // ------------------------------------------------------------ bills

  /** Runs one message's handler in a scope of its own (see the file's comment). */
  async bill<T>(fn: (scope: BillScope) => Promise<T>): Promise<BillOutcome<T>> {
    this.outsideBills('bill');
    this.billNo += 1;
    const undo: Undo = { persons: new Map(), known: new Map() };
    const active = { no: this.billNo, savepoint: false, undo };
    this.active = active;
    try {
      if (this.mode === 'eager') await this.enter();
      const value = await fn(this.scope());
      if (this.broken !== null) throw new BatchLevel(this.broken);
      if (active.savepoint) {
        active.savepoint = false;
        await this.q.query('RELEASE SAVEPOINT onebill_bill');
      }
      return { ok: true, value };
    } catch (error) {
      if (error instanceof BatchLevel) throw error.error;
      // the store went away: the batch fails and is run again once it is back (docs/adr/0010)
      if (isStoreUnavailable(error) || isConnectionError(error)) throw error;
      if (active.savepoint) {
        await this.q.query('ROLLBACK TO SAVEPOINT onebill_bill');
        await this.q.query('RELEASE SAVEPOINT onebill_bill');
      }
      this.undo(active.no, active.undo);
      if (error instanceof SettledConcurrently) {
        // the winner is committed: the next attempt reads it
        this.known.delete(billKey(error.fixmedinsCode, error.mdtrtId));
      }
      this.stats.billsRolledBack += 1;
      return { ok: false, error };
    } finally {
      this.active = null;
    }
  }

  /** Writes everything staged; call once after the last bill, before COMMIT. */
  async flush(): Promise<void> {
    this.outsideBills('flush');
    try {
      await this.write(() => true, false);
    } catch (error) {
      // the store went away: not the rows' fault, the batch is retried as it is
      if (isStoreUnavailable(error) || isConnectionError(error)) throw error;
      this.broken = error instanceof BatchFlushError ? error : new BatchFlushError(error);
    }
    if (this.broken !== null) throw this.broken;
  }

  /** Rows and positions staged and not yet written (for tests and metrics). */
  pending(): { settlements: number; outbox: number; statuses: number; people: number } {
    let people = 0;
    for (const p of this.persons.values()) if (p.version !== p.flushed) people += 1;
    return {
      settlements: this.settlements.length,
      outbox: this.outbox.length,
      statuses: this.statuses.length,
      people,
    };
  }

  // ------------------------------------------------------------ internals

  private outsideBills(what: string): void {
    if (this.active !== null) throw new Error(`UnitOfWork.${what} inside a bill`);
    if (this.broken !== null) throw this.broken;
  }

  private current(): { no: number; savepoint: boolean; undo: Undo } {
    if (this.active === null) throw new Error('a bill scope used after its bill ended');
    return this.active;
  }

  /**
   * Before the bill's first statement of its own: what earlier bills staged is written (it is
   * theirs, not to be undone with this bill), then the savepoint is taken.
   */
  private async enter(): Promise<void> {
    const active = this.current();
    if (active.savepoint) return;
    try {
      await this.write((bill) => bill !== active.no, true);
    } catch (error) {
      if (isStoreUnavailable(error) || isConnectionError(error)) throw new BatchLevel(error);
      this.broken = error instanceof BatchFlushError ? error : new BatchFlushError(error);
      throw new BatchLevel(this.broken);
    }
    await this.q.query('SAVEPOINT onebill_bill');
    this.stats.savepoints += 1;
    active.savepoint = true;
  }

  /** A statement of the bill's own: inside its savepoint, after its staged rows. */
  private async own(): Promise<void> {
    await this.enter();
    await this.write(() => true, false);
  }

  private touchPerson(key: string): Person | undefined {
    const active = this.current();
    const person = this.persons.get(key);
    if (!active.undo.persons.has(key)) {
      active.undo.persons.set(key, person ? { ...person } : null);
    }
    return person;
  }

  private touchKnown(key: string): void {
    const active = this.current();
    if (!active.undo.known.has(key)) active.undo.known.set(key, this.known.get(key));
  }

  private undo(bill: number, undo: Undo): void {
    for (const [key, before] of undo.persons) {
      // `before.flushed` counts a write of earlier bills' state made before the savepoint: it
      // stays written; what was written inside the savepoint is rolled back with it
      if (before === null) this.persons.delete(key);
      else this.persons.set(key, before);
    }
    for (const [key, before] of undo.known) {
      if (before === undefined) this.known.delete(key);
      else this.known.set(key, before);
    }
    this.settlements = this.settlements.filter((s) => s.bill !== bill);
    this.outbox = this.outbox.filter((o) => o.bill !== bill);
    this.statuses = this.statuses.filter((s) => s.bill !== bill);
  }

  /**
   * Writes the staged rows of the bills `of` selects, set-based: settlements, positions, outbox
   * events, inbox statuses. `earlierOnly`: positions are written as they stood before the
   * running bill touched them.
   */
  private async write(of: (bill: number) => boolean, earlierOnly: boolean): Promise<void> {
    const settlements = this.settlements.filter((s) => of(s.bill));
    const outbox = this.outbox.filter((o) => of(o.bill));
    const statuses = this.statuses.filter((s) => of(s.bill));
    this.settlements = this.settlements.filter((s) => !of(s.bill));
    this.outbox = this.outbox.filter((o) => !of(o.bill));
    this.statuses = this.statuses.filter((s) => !of(s.bill));

    if (settlements.length > 0) {
      const stored = await insertSettlementsBatch(
        this.q,
        settlements.map((s) => s.input),
      );
      stored.forEach((row, i) => {
        const s = settlements[i] as StagedSettlement;
        if (row === null) throw new SettledConcurrently(s.row.fixmedinsCode, s.row.mdtrtId);
        // the row handed out at staging gets the database's settlement time
        s.row.createdAt = row.createdAt;
      });
    }

    const writes: AccumulatorsWrite[] = [];
    const running = this.active?.undo.persons;
    for (const [key, p] of this.persons) {
      const before = earlierOnly ? running?.get(key) : undefined;
      const state = before === undefined ? p : before;
      if (state === null || state.version === state.flushed) continue;
      writes.push({
        psnNo: state.psnNo,
        data: state.data,
        expectedVersion: state.flushed,
        version: state.version,
      });
      p.flushed = state.version;
      if (before) before.flushed = state.version;
    }
    await saveAccumulatorsBatch(this.q, writes);
    await insertOutboxBatch(
      this.q,
      outbox.map((o) => o.event),
    );
    await setInboxStatusBatch(
      this.q,
      statuses.map((s) => s.update),
    );
  }

  private scope(): BillScope {
    const eager = this.mode === 'eager';
    const tx: Queryable = {
      query: async <R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> => {
        await this.own();
        return this.q.query<R>(sql, params);
      },
      exec: async (sql: string): Promise<void> => {
        await this.own();
        return this.q.exec(sql);
      },
    };
    return {
      tx,
      accumulators: async (psnNo, year) => {
        const key = personKey(psnNo, year);
        let person = this.touchPerson(key);
        if (person === undefined) {
          await this.own();
          const locked = (await lockAccumulatorsBatch(this.q, [{ psnNo, year }])).get(key);
          if (locked === undefined) throw new Error(`accumulators ${psnNo}/${year} not locked`);
          person = {
            psnNo,
            year,
            data: locked.data,
            version: locked.version,
            flushed: locked.version,
          };
          this.persons.set(key, person);
        }
        return { data: person.data, version: person.version };
      },
      saveAccumulators: async (psnNo, data, expectedVersion) => {
        const key = personKey(psnNo, data.year);
        const person = this.touchPerson(key);
        if (person === undefined || person.version !== expectedVersion) {
          throw new Error(
            `accumulators ${psnNo}/${data.year} are not at version ${expectedVersion}`,
          );
        }
        this.persons.set(key, { ...person, data, version: person.version + 1 });
        if (eager) await this.own();
        return person.version + 1;
      },
      settlementOfBill: async (fixmedinsCode, mdtrtId) => {
        const key = billKey(fixmedinsCode, mdtrtId);
        const known = this.known.get(key);
        if (known !== undefined) return known;
        await this.own();
        const found = await findSettlementByBill(this.q, fixmedinsCode, mdtrtId);
        this.touchKnown(key);
        this.known.set(key, found);
        return found;
      },
      insertSettlement: async (s) => {
        const key = billKey(s.bill.fixmedinsCode, s.bill.mdtrtId);
        if (eager) {
          await this.own();
          const [row] = await insertSettlementsBatch(this.q, [s]);
          this.touchKnown(key);
          if (row) this.known.set(key, row);
          else this.known.delete(key);
          return row ?? null;
        }
        if (this.known.get(key)) return null;
        const row = settlementRowOf(s);
        this.touchKnown(key);
        this.known.set(key, row);
        this.settlements.push({ bill: this.current().no, input: s, row });
        return row;
      },
      reverseSettlement: async (setlId, options) => {
        await this.own();
        const row = await reverseSettlement(this.q, setlId, options);
        if (row) {
          const key = billKey(row.fixmedinsCode, row.mdtrtId);
          this.touchKnown(key);
          this.known.set(key, null);
        }
        return row;
      },
      insertOutbox: async (events) => {
        const no = this.current().no;
        // the trace is the bill's (its span is active now, not at the flush): stamped as staged,
        // as insertOutbox stamps a row it writes at once
        for (const event of events) this.outbox.push({ bill: no, event: traced(event) });
        if (eager) await this.own();
      },
      setInboxStatus: async (id, status, ref = {}) => {
        this.statuses.push({
          bill: this.current().no,
          update: { id, status, setlId: ref.setlId ?? null, rejectId: ref.rejectId ?? null },
        });
        if (eager) await this.own();
      },
      identityPeriods: async (psnNo) => {
        const cached = this.identities.get(psnNo);
        if (cached !== undefined) return cached;
        await this.own();
        const found = (await identityPeriodsBatch(this.q, [psnNo])).get(psnNo) ?? [];
        return found;
      },
    };
  }
}

/** The event with the active span's `traceparent`, unless it carries one (as insertOutbox). */
function traced(event: OutboxEvent): OutboxEvent {
  if (event.headers.traceparent !== undefined) return event;
  const trace = traceHeaders();
  return Object.keys(trace).length === 0
    ? event
    : { ...event, headers: { ...event.headers, ...trace } };
}

/**
 * The same scope over a plain transaction, one statement per call with the one-row repositories
 * (lockAccumulators, insertSettlement, …): a handler written against BillScope runs alone (HTTP,
 * the cashier's desk; a message handled in a transaction of its own) exactly as today.
 */
export function directScope(tx: Queryable): BillScope {
  return {
    tx,
    accumulators: (psnNo, year) => lockAccumulators(tx, psnNo, year),
    saveAccumulators: (psnNo, data, expectedVersion) =>
      saveAccumulators(tx, psnNo, data, expectedVersion),
    settlementOfBill: (fixmedinsCode, mdtrtId) => findSettlementByBill(tx, fixmedinsCode, mdtrtId),
    insertSettlement: (s) => insertSettlement(tx, s),
    reverseSettlement: (setlId, options) => reverseSettlement(tx, setlId, options),
    insertOutbox: async (events) => {
      await insertOutboxMany(tx, [...events]);
    },
    setInboxStatus: (id, status, ref) => setInboxStatus(tx, id, status, ref),
    identityPeriods: (psnNo) => identityPeriods(tx, psnNo),
  };
}

/** How a batch of messages is settled by runBatch. */
export interface BatchPlan<M, R> {
  /**
   * The batch's first statements, before any bill: record the messages (uow.recordInbox), lock
   * their people (uow.lockPeople), prefetch their visits and identities. Runs again, from the
   * start, when the batch is re-run.
   */
  prepare(uow: UnitOfWork, messages: readonly M[]): Promise<void>;
  /** One message to its outcome (its handler), within its bill. */
  handle(scope: BillScope, message: M, index: number): Promise<R>;
  /**
   * The outcome of a message whose handler failed for good: what the message gets when its
   * transaction fails alone (the intake records it as an INTERNAL_ERROR reject). Runs in a bill of
   * its own, after the failed one was undone.
   */
  failed(scope: BillScope, message: M, error: unknown, index: number): Promise<R>;
  /** Whether a failure is run again (at most `attempts` times): SettledConcurrently by default. */
  retryable?(error: unknown): boolean;
  /** Attempts per message for retryable failures (the intake's 5). */
  attempts?: number;
}

export interface BatchRun<R> {
  outcomes: R[];
  /** 'eager' when the deferred run failed its set-based write and the batch was run again */
  mode: FlushMode;
  stats: UnitOfWorkStats;
}

/**
 * Settles a batch in ONE transaction (docs/adr/0020-group-commit.md): prepare, each message in its
 * bill (a failed one undone alone, retried when retryable, else given its failure outcome), then
 * the set-based flush and COMMIT. When the flush fails (BatchFlushError), the transaction is rolled
 * back and the whole batch run again in eager mode, where each write fails its own bill only.
 * Resolves after COMMIT: only then may the caller commit the Kafka offsets or answer.
 */
export async function runBatch<M, R>(
  db: Db,
  messages: readonly M[],
  plan: BatchPlan<M, R>,
  options: { mode?: FlushMode } = {},
): Promise<BatchRun<R>> {
  const attempts = plan.attempts ?? 5;
  const retryable = (e: unknown): boolean =>
    plan.retryable === undefined ? e instanceof SettledConcurrently : plan.retryable(e);
  const once = (mode: FlushMode): Promise<BatchRun<R>> =>
    db.transaction(async (tx) => {
      const uow = new UnitOfWork(tx, { mode });
      await plan.prepare(uow, messages);
      const outcomes: R[] = [];
      for (const [index, message] of messages.entries()) {
        let outcome = await uow.bill((b) => plan.handle(b, message, index));
        for (let attempt = 1; !outcome.ok && retryable(outcome.error) && attempt < attempts;) {
          attempt += 1;
          outcome = await uow.bill((b) => plan.handle(b, message, index));
        }
        if (!outcome.ok) {
          const error = outcome.error;
          outcome = await uow.bill((b) => plan.failed(b, message, error, index));
          if (!outcome.ok) throw outcome.error;
        }
        outcomes.push(outcome.value);
      }
      await uow.flush();
      return { outcomes, mode, stats: uow.stats };
    });
  const first = options.mode ?? 'deferred';
  try {
    return await once(first);
  } catch (error) {
    if (first === 'eager' || !(error instanceof BatchFlushError)) throw error;
    return once('eager');
  }
}
