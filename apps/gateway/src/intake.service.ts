/**
 * One message in, one outcome out: a settlement, a duplicate of one, a reversal, an admission, a
 * conflict or a reject with reasons. Whatever the transport (Kafka, HTTP), the message and its
 * outcome are written in ONE database transaction together with the person's accumulators and the
 * outbox events; the caller acknowledges the message (commits the Kafka offset, answers the HTTP
 * call) only after that transaction has committed.
 *
 * Exactly-once effect rests on the database, not on Kafka (DESIGN.md, known traps):
 * - a Kafka record is recognised by (topic, partition, offset): a redelivery gets the first answer;
 * - the person's accumulator row is locked first (SELECT … FOR UPDATE), which serialises every
 *   settlement of that person, so the check for an existing settlement that follows sees any
 *   settlement committed meanwhile;
 * - a partial unique index on (fixmedins_code, mdtrt_id) WHERE status = 'settled' is the last word:
 *   if it refuses the insert, the transaction rolls back, is retried, and finds the winner.
 */
import { randomUUID } from 'node:crypto';
import {
  type Accumulators,
  type Bill,
  type DepositWaiver,
  depositWaiver,
  EngineError,
  type HighBurdenRule,
  type SettlementResult,
  compiled,
  emptyAccumulators,
  settle,
} from '@onebill/engine';
import {
  type Db,
  billBodyHash,
  sha256,
  type IdentitiesUsed,
  admissionAnswerOf,
  identitiesOf,
  identityPeriods,
  saveAdmissionAnswer,
  type Queryable,
  type SettlementRow,
  findReject,
  findSettlement,
  findLatestSettlementOfBill,
  findSettlementByBill,
  insertAdmission,
  insertInbox,
  insertOutbox,
  insertOutboxMany,
  insertReject,
  markResubmitted,
  insertSettlement,
  lockAccumulators,
  readAccumulators,
  reverseSettlement,
  saveAccumulators,
  setInboxStatus,
  type InboxStatus,
  type OutboxEvent,
} from '@onebill/ledger';
import {
  decodeAdmission,
  decodeDischarge,
  decodeReversal,
  encodeSettlementResultXml,
  messageText,
  namedInstitution,
  type DecodeError,
} from '@onebill/messaging/xml';
import { Topics } from '@onebill/messaging/kafka/topics';
import { rejectEventPayload } from '@onebill/messaging/events/discharge-rejected';
import { toWire } from '@onebill/messaging/wire';
import { type Hospital, type RuleBook, RuleSetError } from '@onebill/rules';
import type { Logger } from './log';
import { reversalOfTopups } from './topups';
import { raiseAlert, reviewAlert } from './alerts';

export interface Source {
  kind: 'kafka' | 'http';
  topic?: string;
  partition?: number;
  offset?: string;
  key?: string | null;
  correlationId?: string;
  /** the credential that submitted it (HTTP, console) */
  submittedBy?: string;
  /** the reject this message is a fixed resubmission of (console) */
  resubmissionOf?: string;
  /**
   * The institution of a hospital credential (HTTP, console). Its messages are recorded under
   * this hospital whatever they say, and one that decodes to another hospital is refused.
   */
  hospitalScope?: string;
  /**
   * The hospital a message that does not decode is recorded under, set by the intake once per
   * message: the institution the parser reads in it, else the Kafka key (docs/adr/0012).
   */
  attributedTo?: string | null;
}

/**
 * A message as it came (docs/adr/0012-hostile-input.md): the bytes kept (all of them, or the
 * first `maxBytes` of a message over twice the cap), the whole message's size and hash, its text
 * where the bytes decode to text, and the reason when they cannot be read as a message at all.
 */
export interface Received {
  bytes: Buffer;
  size: number;
  sha256: string;
  text: string | null;
  problem: Problem | null;
  /** what the rest of the intake reads: the text, or the bytes read as UTF-8 where there is none */
  raw: string;
}

/** The bytes (or text, from JSON or a test) of one message, read once for the whole intake. */
export function receive(message: Buffer | string, maxBytes: number): Received {
  const bytes = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  const size = bytes.length;
  const base = { size, sha256: sha256(bytes) };
  if (size > maxBytes) {
    const kept = size > 2 * maxBytes ? bytes.subarray(0, maxBytes) : bytes;
    const decoded = kept === bytes ? messageText(kept) : null;
    const text = decoded?.ok === true ? decoded.text : null;
    return {
      ...base,
      bytes: kept,
      text,
      raw: text ?? kept.toString('utf8'),
      problem: {
        code: 'TOO_LARGE',
        field: null,
        rule: `maxBytes:${maxBytes}`,
        message:
          `message is ${size} bytes, limit ${maxBytes}` +
          (kept === bytes ? '' : `; its first ${maxBytes} bytes and its SHA-256 are kept`),
      },
    };
  }
  if (typeof message === 'string')
    return { ...base, bytes, text: message, raw: message, problem: null };
  const decoded = messageText(bytes);
  if (!decoded.ok)
    return {
      ...base,
      bytes,
      text: null,
      raw: bytes.toString('utf8'),
      problem: fromDecode([decoded.error])[0] ?? null,
    };
  return { ...base, bytes, text: decoded.text, raw: decoded.text, problem: null };
}

/**
 * A transport's own text (Kafka key, correlation-id header) with control characters replaced: it
 * is stored as text and sent as a JSON header, where U+0000 cannot go (docs/adr/0012).
 */
function printable(s: string | null | undefined): string | undefined {
  return s === null || s === undefined
    ? undefined
    : s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD');
}

/** The source as it is recorded: its transport texts printable, its attribution decided. */
function recorded(received: Received, given: Source): Source {
  const key = printable(given.key);
  const correlationId = printable(given.correlationId);
  const source: Source = { ...given, key: key ?? null };
  if (correlationId !== undefined) source.correlationId = correlationId;
  source.attributedTo = attribution(received, source);
  return source;
}

/** The hospital a message that may not decode is recorded under (see Source.attributedTo). */
function attribution(received: Received, source: Source): string | null {
  const named = received.text === null ? null : namedInstitution(received.text);
  const key = source.key?.trim() ?? '';
  return named ?? (/^[A-Za-z0-9_-]{1,64}$/.test(key) ? key : null);
}

/** One reason a message was not settled: which field, which rule, in words. */
export interface Problem {
  code: string;
  field: string | null;
  rule: string;
  message: string;
}

export type Outcome =
  | {
      status: 'settled' | 'duplicate' | 'reversed';
      settlement: SettlementRow;
      correlationId: string;
    }
  | {
      status: 'admitted';
      fixmedinsCode: string;
      mdtrtId: string;
      correlationId: string;
      /** treatment first, pay later: whether no deposit is asked, and why */
      depositWaiver: DepositWaiver;
      /** the identities the waiver was decided on, and where they came from (docs/adr/0009) */
      identities: IdentitiesUsed;
    }
  | {
      status: 'conflict';
      problems: Problem[];
      existingSetlId: string;
      rejectId: string;
      correlationId: string;
      fixmedinsCode: string | null;
    }
  | {
      status: 'rejected';
      problems: Problem[];
      rejectId: string | null;
      correlationId: string;
      /** the hospital the message names, if it names one */
      fixmedinsCode: string | null;
    };

/** A reject was resubmitted once already: the fix goes on from the newer reject, if any. */
export class AlreadyResubmitted extends Error {
  constructor(readonly rejectId: string) {
    super(`reject ${rejectId} was already resubmitted`);
  }
}

export interface PreviewOutcome {
  ok: boolean;
  problems: Problem[];
  result?: SettlementResult;
  hospital?: Hospital;
  /** the identities the preview was computed with, and where they came from (docs/adr/0009) */
  identities?: IdentitiesUsed;
}

const ROOT = /^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--[\s\S]*?-->\s*)*<\s*([A-Za-z_][\w.-]*)/;

/** The deposit waiver in wire names (the HTTP answer and the hospital's result event). */
export function waiverWire(w: DepositWaiver): Record<string, unknown> {
  return { applies: w.applies, category: w.category, reason: w.reason, article: w.article };
}

/**
 * The hospital a message is recorded under: the credential's institution when a hospital sent it,
 * otherwise what the parser reads in the message, else the Kafka key (a message that does not
 * decode still belongs somewhere).
 */
function attributedHospital(raw: string, source: Source): string | null {
  if (source.hospitalScope !== undefined) return source.hospitalScope;
  if (source.attributedTo !== undefined) return source.attributedTo;
  return namedInstitution(raw);
}

/** A hospital credential's message that decodes to another institution: refused. */
export function scopeProblem(source: Source, named: string): Problem | null {
  if (source.hospitalScope === undefined || source.hospitalScope === named) return null;
  return {
    code: 'FORBIDDEN_HOSPITAL',
    field: 'fixmedins_code',
    rule: 'a hospital credential sends and reads only its own institution',
    message: `this credential is for ${source.hospitalScope}, the message is for ${named}`,
  };
}

/** The root element's name, read without parsing (the decoder checks it again). */
export function rootElement(raw: string): string | null {
  return ROOT.exec(raw.slice(0, 512))?.[1] ?? null;
}

function fromDecode(errors: DecodeError[]): Problem[] {
  return errors.map((e) => ({ code: e.code, field: e.field, rule: e.rule, message: e.message }));
}

/**
 * The identities a bill is computed with: the registry merged with the message by the one rule
 * of docs/adr/0009 (identitiesOf); with a warning on the bill when the registry overruled it.
 */
async function registryIdentities(
  tx: Queryable,
  bill: Bill,
): Promise<IdentitiesUsed & { warning: string | null }> {
  return identitiesOf(await identityPeriods(tx, bill.psnNo), bill.identities, bill.dischargeDate);
}

/** The bill as computed: the message's identities replaced by the registry's where it wins. */
function withIdentities(bill: Bill, used: IdentitiesUsed & { warning: string | null }): Bill {
  return used.warning === null ? bill : { ...bill, identities: used.categories };
}

/** The unique index refused a settlement: roll back, then retry and find the winner. */
class Retry extends Error {}

export class GatewayProblem extends Error {
  constructor(readonly problem: Problem) {
    super(problem.message);
  }
}

export interface IntakeOptions {
  maxMessageBytes: number;
  /** the gateway's clock; settlement times and event times come from it */
  now?: () => Date;
}

export class IntakeService {
  private readonly now: () => Date;
  private readonly maxBytes: number;

  constructor(
    private readonly db: Db,
    private readonly rules: RuleBook,
    private readonly log: Logger,
    options: IntakeOptions,
  ) {
    this.maxBytes = options.maxMessageBytes;
    this.now = options.now ?? (() => new Date());
  }

  /** Decode, validate and compute on the person's current position, storing nothing (2303). */
  async preview(message: Buffer | string): Promise<PreviewOutcome> {
    const decoded = decodeDischarge(message, { maxBytes: this.maxBytes });
    if (!decoded.ok) return { ok: false, problems: fromDecode(decoded.errors) };
    try {
      const { hospital, bill } = this.admit(decoded.bill);
      const ruleSet = compiled(this.rules.resolve(hospital.region, bill.dischargeDate));
      const year = yearOf(bill);
      const accumulators =
        (await readAccumulators(this.db, bill.psnNo, year)) ?? emptyAccumulators(year);
      // the same identities the settlement would use (docs/adr/0009)
      const used = await registryIdentities(this.db, bill);
      let result = settle({ bill: withIdentities(bill, used), accumulators, ruleSet });
      if (used.warning !== null)
        result = { ...result, warnings: [...result.warnings, used.warning] };
      return {
        ok: true,
        problems: [],
        result,
        hospital,
        identities: { categories: used.categories, source: used.source },
      };
    } catch (e) {
      return { ok: false, problems: [problemOf(e)] };
    }
  }

  /**
   * The hospital a message names as the decoder reads it (comments, odd spacing and CDATA
   * included), or null when it does not decode: then it is rejected, and recorded under the
   * sender's institution.
   */
  namedHospital(message: Buffer | string): string | null {
    const opts = { maxBytes: this.maxBytes };
    const received = receive(message, this.maxBytes);
    if (received.problem !== null || received.text === null) return null;
    const raw = received.text;
    const root = rootElement(raw);
    if (root === 'reversal') {
      const d = decodeReversal(raw, opts);
      return d.ok ? d.reversal.fixmedinsCode : null;
    }
    if (root === 'admission') {
      const d = decodeAdmission(raw, opts);
      return d.ok ? d.admission.fixmedinsCode : null;
    }
    const d = decodeDischarge(raw, opts);
    return d.ok ? d.bill.fixmedinsCode : null;
  }

  /** Processes one inbound message to its outcome; resolves after the transaction committed. */
  async submit(message: Buffer | string, given: Source): Promise<Outcome> {
    const received = receive(message, this.maxBytes);
    const source = recorded(received, given);
    const correlationId = source.correlationId ?? randomUUID();
    const raw = received.raw;
    const root = received.problem === null ? rootElement(raw) : null;
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await this.db.transaction(async (tx) => {
          const inbox = await this.inbox(tx, received, source, correlationId);
          if (typeof inbox !== 'string') return inbox;
          if (received.problem !== null)
            return this.reject(tx, inbox, raw, source, [received.problem], correlationId);
          if (root === 'reversal') return this.reverse(tx, inbox, raw, source, correlationId);
          if (root === 'admission') return this.admission(tx, inbox, raw, source, correlationId);
          return this.settleBill(tx, inbox, raw, source, correlationId);
        });
        this.log.debug(`message ${outcome.status}`, {
          correlationId: outcome.correlationId,
          source: source.kind,
          ...(source.offset === undefined
            ? {}
            : { partition: source.partition, offset: source.offset }),
          ...summary(outcome),
        });
        return outcome;
      } catch (e) {
        if (e instanceof Retry && attempt < 5) continue;
        throw e;
      }
    }
  }

  /** Keeps a message that failed for an unexpected reason as a reject, so it blocks nothing. */
  async internalReject(message: Buffer | string, given: Source, error: unknown): Promise<Outcome> {
    const received = receive(message, this.maxBytes);
    const source = recorded(received, given);
    const correlationId = source.correlationId ?? randomUUID();
    const raw = received.raw;
    const problem: Problem = {
      code: 'INTERNAL_ERROR',
      field: null,
      rule: 'the gateway could not process this message; an operator can resubmit it',
      message: error instanceof Error ? error.message : String(error),
    };
    return this.db.transaction(async (tx) => {
      const inbox = await this.inbox(tx, received, source, correlationId);
      if (typeof inbox !== 'string') return inbox;
      return this.reject(tx, inbox, raw, source, [problem], correlationId);
    });
  }

  private admit(bill: Bill): { hospital: Hospital; bill: Bill } {
    const hospital = this.rules.hospital(bill.fixmedinsCode);
    if (hospital === undefined) {
      throw new GatewayProblem({
        code: 'UNKNOWN_HOSPITAL',
        field: 'fixmedins_code',
        rule: 'a designated institution in the registry (config/hospitals.json)',
        message: `${bill.fixmedinsCode} is not a designated institution in the registry`,
      });
    }
    if (bill.hospitalLevel !== hospital.level) {
      throw new GatewayProblem({
        code: 'HOSPITAL_LEVEL_MISMATCH',
        field: 'hosp_lv',
        rule: "the hospital level must be the registry's level for the institution",
        message: `${bill.fixmedinsCode} is level ${hospital.level} in the registry, the message says ${bill.hospitalLevel}`,
      });
    }
    return { hospital, bill };
  }

  private async settleBill(
    tx: Queryable,
    inboxId: string,
    raw: string,
    source: Source,
    correlationId: string,
  ): Promise<Outcome> {
    const decoded = decodeDischarge(raw, { maxBytes: this.maxBytes });
    if (!decoded.ok)
      return this.reject(tx, inboxId, raw, source, fromDecode(decoded.errors), correlationId);
    const outOfScope = scopeProblem(source, decoded.bill.fixmedinsCode);
    if (outOfScope !== null)
      return this.reject(tx, inboxId, raw, source, [outOfScope], correlationId);
    let admitted: { hospital: Hospital; bill: Bill };
    let ruleSet;
    try {
      admitted = this.admit(decoded.bill);
      ruleSet = compiled(this.rules.resolve(admitted.hospital.region, admitted.bill.dischargeDate));
    } catch (e) {
      return this.reject(tx, inboxId, raw, source, [problemOf(e)], correlationId);
    }
    const { bill, hospital } = admitted;
    const year = yearOf(bill);
    // 1. the person's row lock serialises all of this person's settlements
    const locked = await lockAccumulators(tx, bill.psnNo, year);
    // 2. settled already?
    const hash = billBodyHash(bill);
    const existing = await findSettlementByBill(tx, bill.fixmedinsCode, bill.mdtrtId);
    if (existing !== null) {
      if (existing.bodyHash === hash) {
        await setInboxStatus(tx, inboxId, 'duplicate', { setlId: existing.setlId });
        return { status: 'duplicate', settlement: existing, correlationId };
      }
      const problem: Problem = {
        code: 'CONFLICT',
        field: 'mdtrt_id',
        rule: 'a bill is settled once; reverse it (2305) before sending a different one',
        message: `visit ${bill.mdtrtId} of ${bill.fixmedinsCode} is already settled as ${existing.setlId} with a different bill`,
      };
      const rejectId = await this.rejectRow(
        tx,
        inboxId,
        raw,
        source,
        [problem],
        correlationId,
        'conflict',
      );
      return {
        status: 'conflict',
        problems: [problem],
        existingSetlId: existing.setlId,
        rejectId,
        correlationId,
        fixmedinsCode: bill.fixmedinsCode,
      };
    }
    // 3. the identities: the registry's, where it knows the person (docs/adr/0009)
    const registry = await registryIdentities(tx, bill);
    // 4. compute
    let result: SettlementResult;
    try {
      result = settle({
        bill: withIdentities(bill, registry),
        accumulators: locked.data,
        ruleSet,
      });
    } catch (e) {
      return this.reject(tx, inboxId, raw, source, [problemOf(e)], correlationId);
    }
    if (registry.warning !== null) {
      result = { ...result, warnings: [...result.warnings, registry.warning] };
    }
    // 5. the unique index decides between concurrent duplicates
    const stored = await insertSettlement(tx, {
      setlId: `S${randomUUID().replace(/-/g, '').slice(0, 24).toUpperCase()}`,
      bill,
      bodyHash: hash,
      clrOptins: hospital.admdvs,
      inboxId,
      setlTime: formatTime(this.now()),
      eventId: randomUUID(),
      accumulatorsBefore: locked.data,
      result,
      identitiesUsed: registry.warning === null ? null : registry.categories,
    });
    if (stored === null) throw new Retry();
    await saveAccumulators(tx, bill.psnNo, result.accumulators, locked.version);
    await insertOutboxMany(tx, [
      ...this.settlementEvents(stored, 'settled', correlationId),
      ...(await this.highBurden(
        tx,
        stored,
        ruleSet.src.highBurden,
        hospital.region,
        correlationId,
      )),
    ]);
    await setInboxStatus(tx, inboxId, 'settled', { setlId: stored.setlId });
    return { status: 'settled', settlement: stored, correlationId };
  }

  private async reverse(
    tx: Queryable,
    inboxId: string,
    raw: string,
    source: Source,
    correlationId: string,
  ): Promise<Outcome> {
    const decoded = decodeReversal(raw, { maxBytes: this.maxBytes });
    if (!decoded.ok)
      return this.reject(tx, inboxId, raw, source, fromDecode(decoded.errors), correlationId);
    const outOfScope = scopeProblem(source, decoded.reversal.fixmedinsCode);
    if (outOfScope !== null)
      return this.reject(tx, inboxId, raw, source, [outOfScope], correlationId);
    const { fixmedinsCode, mdtrtId, setlId, reason } = decoded.reversal;
    const notSettled = (): Promise<Outcome> =>
      this.reject(
        tx,
        inboxId,
        raw,
        source,
        [
          {
            code: 'NOT_SETTLED',
            field: 'mdtrt_id',
            rule: 'only a settled bill can be reversed',
            message: `visit ${mdtrtId} of ${fixmedinsCode} has no settlement in force`,
          },
        ],
        correlationId,
      );
    const found = await findSettlementByBill(tx, fixmedinsCode, mdtrtId);
    if (found === null) {
      // a reversal sent again (the cashier's retry, a HIS resend) after it was applied: answer the
      // reversal it already is, change nothing
      const repeated = await this.reversedAlready(tx, fixmedinsCode, mdtrtId, setlId);
      if (repeated === null) return notSettled();
      await setInboxStatus(tx, inboxId, 'duplicate', { setlId: repeated.setlId });
      return { status: 'duplicate', settlement: repeated, correlationId };
    }
    const locked = await lockAccumulators(tx, found.psnNo, found.year);
    // read again under the person's lock: a concurrent reversal may have won
    const settled = await findSettlementByBill(tx, fixmedinsCode, mdtrtId);
    if (settled === null) return notSettled();
    if (setlId !== undefined && setlId !== settled.setlId) {
      return this.reject(
        tx,
        inboxId,
        raw,
        source,
        [
          {
            code: 'SETL_ID_MISMATCH',
            field: 'setl_id',
            rule: 'setl_id, when given, must be the settlement in force',
            message: `visit ${mdtrtId} is settled as ${settled.setlId}, not ${setlId}`,
          },
        ],
        correlationId,
      );
    }
    // the bill goes out as it now stands, its top-ups with it (docs/adr/0009, topups.ts)
    const now = this.now();
    const topups = await reversalOfTopups(tx, settled, locked.data, {
      correlationId,
      setlTime: formatTime(now),
      now,
    });
    const restored: Accumulators = topups.restored;
    const reversed = await reverseSettlement(tx, settled.setlId, { inboxId, reason });
    if (reversed === null) throw new Retry();
    await saveAccumulators(tx, settled.psnNo, restored, locked.version);
    await insertOutboxMany(tx, [
      ...topups.events,
      ...this.settlementEvents(reversed, 'reversed', correlationId),
      // the person may be back under the high-burden line (docs/adr/0009 decision 7)
      ...(await reviewAlert(tx, settled.psnNo, settled.year, restored.cashSelfPay, {
        correlationId,
        now,
        reversedSetlId: settled.setlId,
      })),
    ]);
    await setInboxStatus(tx, inboxId, 'reversed', { setlId: settled.setlId });
    return { status: 'reversed', settlement: reversed, correlationId };
  }

  /**
   * The reversed settlement a repeated reversal refers to: the one its setl_id names, or without
   * one, the visit's latest settlement when that is reversed (and nothing is in force).
   */
  private async reversedAlready(
    tx: Queryable,
    fixmedinsCode: string,
    mdtrtId: string,
    setlId: string | undefined,
  ): Promise<SettlementRow | null> {
    const s =
      setlId === undefined
        ? await findLatestSettlementOfBill(tx, fixmedinsCode, mdtrtId)
        : await findSettlement(tx, setlId);
    if (s === null || s.status !== 'reversed') return null;
    return s.fixmedinsCode === fixmedinsCode && s.mdtrtId === mdtrtId ? s : null;
  }

  private async admission(
    tx: Queryable,
    inboxId: string,
    raw: string,
    source: Source,
    correlationId: string,
  ): Promise<Outcome> {
    const decoded = decodeAdmission(raw, { maxBytes: this.maxBytes });
    if (!decoded.ok)
      return this.reject(tx, inboxId, raw, source, fromDecode(decoded.errors), correlationId);
    const outOfScope = scopeProblem(source, decoded.admission.fixmedinsCode);
    if (outOfScope !== null)
      return this.reject(tx, inboxId, raw, source, [outOfScope], correlationId);
    const a = decoded.admission;
    const hospital = this.rules.hospital(a.fixmedinsCode);
    if (hospital === undefined) {
      return this.reject(
        tx,
        inboxId,
        raw,
        source,
        [
          {
            code: 'UNKNOWN_HOSPITAL',
            field: 'fixmedins_code',
            rule: 'a designated institution in the registry (config/hospitals.json)',
            message: `${a.fixmedinsCode} is not a designated institution in the registry`,
          },
        ],
        correlationId,
      );
    }
    // the registry merged with the message, by the one rule (docs/adr/0009)
    const used = identitiesOf(await identityPeriods(tx, a.psnNo), a.identities, a.admissionDate);
    const identities: IdentitiesUsed = { categories: used.categories, source: used.source };
    let waiver: DepositWaiver;
    try {
      waiver = depositWaiver(this.rules.resolve(hospital.region, a.admissionDate), {
        ...a,
        identities: used.categories,
      });
    } catch (e) {
      return this.reject(tx, inboxId, raw, source, [problemOf(e)], correlationId);
    }
    await insertAdmission(tx, {
      fixmedinsCode: a.fixmedinsCode,
      mdtrtId: a.mdtrtId,
      psnNo: a.psnNo,
      medType: a.medType,
      begntime: a.admissionTime,
      inboxId,
    });
    await saveAdmissionAnswer(tx, inboxId, { depositWaiver: waiver, identities });
    // the hospital's answer: whether the patient is admitted without a deposit, and why
    const eventId = randomUUID();
    await insertOutbox(tx, {
      eventId,
      topic: Topics.hisSettlementResult,
      key: a.fixmedinsCode,
      headers: {
        'content-type': 'application/json',
        'correlation-id': correlationId,
        'event-type': 'admitted',
        'event-id': eventId,
        'fixmedins-code': a.fixmedinsCode,
      },
      payload: JSON.stringify({
        status: 'admitted',
        fixmedins_code: a.fixmedinsCode,
        mdtrt_id: a.mdtrtId,
        deposit_waiver: waiverWire(waiver),
        identities_used: identities,
      }),
    });
    await setInboxStatus(tx, inboxId, 'admitted');
    return {
      status: 'admitted',
      fixmedinsCode: a.fixmedinsCode,
      mdtrtId: a.mdtrtId,
      correlationId,
      depositWaiver: waiver,
      identities,
    };
  }

  /**
   * The answer to an admission that was admitted: hospital, visit and the deposit waiver as first
   * given (stored with the admission: the registry may have changed since). Admissions recorded
   * before the answer was stored are answered from the message's identities, as they were.
   */
  private async admissionAnswer(
    tx: Queryable,
    inboxId: string,
    raw: string,
  ): Promise<{
    fixmedinsCode: string;
    mdtrtId: string;
    depositWaiver: DepositWaiver;
    identities: IdentitiesUsed;
  } | null> {
    const decoded = decodeAdmission(raw, { maxBytes: this.maxBytes });
    if (!decoded.ok) return null;
    const a = decoded.admission;
    const hospital = this.rules.hospital(a.fixmedinsCode);
    if (hospital === undefined) return null;
    const stored = await admissionAnswerOf<{
      depositWaiver: DepositWaiver;
      identities: IdentitiesUsed;
    }>(tx, inboxId);
    return {
      fixmedinsCode: a.fixmedinsCode,
      mdtrtId: a.mdtrtId,
      ...(stored ?? {
        depositWaiver: depositWaiver(this.rules.resolve(hospital.region, a.admissionDate), a),
        identities: { categories: [...new Set(a.identities)].sort(), source: 'message' },
      }),
    };
  }

  /** Records the message; for a Kafka redelivery of a message already processed, its outcome. */
  private async inbox(
    tx: Queryable,
    received: Received,
    source: Source,
    correlationId: string,
  ): Promise<string | Outcome> {
    const raw = received.raw;
    const ref = await insertInbox(tx, {
      source: source.kind,
      topic: source.topic ?? null,
      partition: source.partition ?? null,
      offset: source.offset ?? null,
      key: source.key ?? null,
      payload: received.text,
      payloadBytes: received.bytes,
      payloadSize: received.size,
      payloadSha256: received.sha256,
      status: 'received',
      correlationId,
      fixmedinsCode: attributedHospital(raw, source),
      submittedBy: source.submittedBy ?? null,
      resubmissionOf: source.resubmissionOf ?? null,
    });
    if (ref.inserted) {
      if (
        source.resubmissionOf !== undefined &&
        !(await markResubmitted(tx, source.resubmissionOf, ref.id, source.submittedBy ?? null))
      )
        throw new AlreadyResubmitted(source.resubmissionOf);
      return ref.id;
    }
    // the same Kafka record again (a rebalance or a restart redelivered it): answer what it became
    const firstCorrelation = ref.correlationId ?? correlationId;
    if (ref.setlId !== null) {
      const s = await findSettlement(tx, ref.setlId);
      if (s !== null)
        return { status: 'duplicate', settlement: s, correlationId: firstCorrelation };
    }
    if (ref.status === 'admitted') {
      // an admission has no row of its own to return: its answer is a function of the message
      const again = await this.admissionAnswer(tx, ref.id, raw);
      if (again !== null) return { status: 'admitted', ...again, correlationId: firstCorrelation };
    }
    const reject = ref.rejectId === null ? null : await findReject(tx, ref.rejectId);
    return {
      status: 'rejected',
      problems:
        reject === null
          ? []
          : [
              {
                code: reject.reasonCode,
                field: reject.field,
                rule: 'as first recorded',
                message: reject.message,
              },
            ],
      rejectId: ref.rejectId,
      correlationId: firstCorrelation,
      fixmedinsCode: attributedHospital(raw, source),
    };
  }

  private async reject(
    tx: Queryable,
    inboxId: string,
    raw: string,
    source: Source,
    problems: Problem[],
    correlationId: string,
  ): Promise<Outcome> {
    const rejectId = await this.rejectRow(
      tx,
      inboxId,
      raw,
      source,
      problems,
      correlationId,
      'rejected',
    );
    return {
      status: 'rejected',
      problems,
      rejectId,
      correlationId,
      fixmedinsCode: attributedHospital(raw, source),
    };
  }

  private async rejectRow(
    tx: Queryable,
    inboxId: string,
    raw: string,
    source: Source,
    problems: Problem[],
    correlationId: string,
    status: Extract<InboxStatus, 'rejected' | 'conflict'>,
  ): Promise<string> {
    const first = problems[0] as Problem;
    const rejectId = await insertReject(tx, {
      inboxId,
      reasonCode: first.code,
      field: first.field,
      message: problems.map((p) => p.message).join('; '),
      payload: raw,
      fixmedinsCode: attributedHospital(raw, source),
    });
    const hospitalKey = attributedHospital(raw, source);
    const eventId = randomUUID();
    await insertOutbox(tx, {
      eventId,
      topic: Topics.hisDischargeRejected,
      key: hospitalKey ?? 'unknown',
      headers: {
        'content-type': 'application/json',
        'correlation-id': correlationId,
        'event-id': eventId,
        ...(hospitalKey === null ? {} : { 'fixmedins-code': hospitalKey }),
      },
      // a bounded excerpt and a reference to the stored original, never all of it (docs/adr/0011)
      payload: JSON.stringify(
        rejectEventPayload({ rejectId, status, problems, source, original: raw }),
      ),
    });
    await setInboxStatus(tx, inboxId, status, { rejectId });
    return rejectId;
  }

  /**
   * Active discovery (004 第十八条; Baoshan 002 第二十六条): the first bill after which the
   * person's year-to-date personal self-pay is above the line raises one alert for the person and
   * year, for the person's county (alerts.ts; docs/adr/0009 decision 7).
   */
  private highBurden(
    tx: Queryable,
    s: SettlementRow,
    rule: HighBurdenRule | null,
    region: string,
    correlationId: string,
  ): Promise<OutboxEvent[]> {
    return raiseAlert(tx, s, rule, region, { correlationId, now: this.now() });
  }

  private settlementEvents(
    s: SettlementRow,
    type: 'settled' | 'reversed',
    correlationId: string,
  ): OutboxEvent[] {
    const neg = (a: string): string =>
      type === 'settled' || /^0\.00$/.test(a) ? a : a.startsWith('-') ? a.slice(1) : `-${a}`;
    const info = s.result.setlinfo;
    // the settled event's id is the one stored with the settlement; a reversal's is new and
    // points back to it
    const eventId = type === 'settled' ? s.eventId : randomUUID();
    const occurredAt = this.now();
    // a settled event belongs to the month of its settlement; a reversal to the month it happened
    const time = type === 'settled' ? s.setlTime : formatTime(occurredAt);
    const county = {
      event_id: eventId,
      event_type: type,
      occurred_at: occurredAt.toISOString(),
      setl_id: s.setlId,
      fixmedins_code: s.fixmedinsCode,
      mdtrt_id: s.mdtrtId,
      psn_no: s.psnNo,
      clr_optins: s.clrOptins,
      setl_time: time,
      month: time.slice(0, 7),
      rule_set_version: s.ruleSetVersion,
      category_used: s.result.categoryUsed,
      medfee_sumamt: neg(info.medfeeSumamt),
      fund_pay_sumamt: neg(info.fundPaySumamt),
      psn_cash_pay: neg(info.psnCashPay),
      funds: s.result.setldetail.map((d) => ({
        fund_pay_type: d.fundPayType,
        fund: d.fund,
        amount: neg(d.fundPayamt),
      })),
      ...(type === 'reversed' ? { reverses_event_id: s.eventId } : {}),
    };
    const envelope = {
      setlId: s.setlId,
      fixmedinsCode: s.fixmedinsCode,
      mdtrtId: s.mdtrtId,
      psnNo: s.psnNo,
      clrOptins: s.clrOptins,
      setlTime: s.setlTime,
    };
    const headers = (id: string, contentType: string): Record<string, string> => ({
      'content-type': contentType,
      'correlation-id': correlationId,
      'event-type': type,
      'event-id': id,
      'fixmedins-code': s.fixmedinsCode,
    });
    const resultId = randomUUID();
    return [
      {
        eventId,
        topic: Topics.settlementEvents,
        key: s.clrOptins,
        headers: headers(eventId, 'application/json'),
        payload: JSON.stringify(county),
      },
      {
        eventId: resultId,
        topic: Topics.hisSettlementResult,
        key: s.fixmedinsCode,
        headers: headers(resultId, type === 'settled' ? 'application/xml' : 'application/json'),
        payload:
          type === 'settled'
            ? encodeSettlementResultXml(s.result, envelope)
            : JSON.stringify({ status: 'reversed', ...toWire(s.result, envelope) }),
      },
    ];
  }
}

function yearOf(bill: Bill): number {
  return Number.parseInt(bill.dischargeDate.slice(0, 4), 10);
}

/** The problem an expected failure stands for; anything else is a bug and is rethrown. */
export function problemOf(e: unknown): Problem {
  if (e instanceof GatewayProblem) return e.problem;
  if (e instanceof EngineError)
    return { code: e.code, field: e.field, rule: e.rule, message: e.message };
  if (e instanceof RuleSetError) {
    return {
      code: e.code,
      field: e.field,
      rule: 'the rules and yearly figures in force',
      message: e.message,
    };
  }
  throw e;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** 2024-05-10 14:03:07, in Beijing time (UTC+8), as the national platform writes times. */
export function formatTime(d: Date): string {
  const t = new Date(d.getTime() + 8 * 3600_000);
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${pad(
    t.getUTCHours(),
  )}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
}

function summary(o: Outcome): Record<string, unknown> {
  switch (o.status) {
    case 'settled':
    case 'duplicate':
    case 'reversed':
      return {
        setlId: o.settlement.setlId,
        fixmedinsCode: o.settlement.fixmedinsCode,
        mdtrtId: o.settlement.mdtrtId,
        psnCashPay: o.settlement.result.setlinfo.psnCashPay,
      };
    case 'admitted':
      return { fixmedinsCode: o.fixmedinsCode, mdtrtId: o.mdtrtId };
    case 'conflict':
      return { existingSetlId: o.existingSetlId, rejectId: o.rejectId };
    case 'rejected':
      return { rejectId: o.rejectId, reasons: o.problems.map((p) => `${p.code}:${p.field ?? ''}`) };
  }
}
