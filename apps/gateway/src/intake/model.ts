/**
 * The intake's vocabulary: where a message came from (Source), the bytes as they came
 * (Received), a reason a message was not settled (Problem) and what became of it (Outcome).
 */
import { randomUUID } from 'node:crypto';
import { type DepositWaiver, EngineError, type SettlementResult } from '@onebill/engine';
import { sha256, type IdentitiesUsed, type SettlementRow } from '@onebill/ledger';
import { type DecodeError, messageText } from '@onebill/messaging/xml';
import { type Hospital, RuleSetError } from '@onebill/rules';

export { waiverWire } from '@onebill/messaging/builders';

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
   * The hospital a message is recorded under, set by the intake once per message: the
   * institution the decoder read in it, else the Kafka key (docs/adr/0012).
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
  /** the text, or the bytes read as UTF-8 where there is none (the reject's original) */
  raw: string;
}

/** One reason a message was not settled: which field, which rule, in words. */
export interface Problem {
  code: string;
  field: string | null;
  rule: string;
  message: string;
}

export function fromDecode(errors: readonly DecodeError[]): Problem[] {
  return errors.map((e) => ({ code: e.code, field: e.field, rule: e.rule, message: e.message }));
}

/** The bytes (or text) of one message, read once for the whole intake: size cap, text, hash. */
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

export interface PreviewOutcome {
  ok: boolean;
  problems: Problem[];
  result?: SettlementResult;
  hospital?: Hospital;
  /** the identities the preview was computed with, and where they came from (docs/adr/0009) */
  identities?: IdentitiesUsed;
}

/** A reject was resubmitted once already: the fix goes on from the newer reject, if any. */
export class AlreadyResubmitted extends Error {
  constructor(readonly rejectId: string) {
    super(`reject ${rejectId} was already resubmitted`);
  }
}

/** An expected refusal raised inside a handler (unknown hospital, level mismatch). */
export class GatewayProblem extends Error {
  constructor(readonly problem: Problem) {
    super(problem.message);
  }
}

/**
 * The unique index refused a settlement (a concurrent duplicate won): the caller rolls the
 * transaction back and processes the message again, and finds the winner.
 */
export class Retry extends Error {}

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

export function newCorrelationId(source: Source): string {
  return source.correlationId ?? randomUUID();
}

/** The outcome in a log line's fields (no name, no ID number). */
export function summary(o: Outcome): Record<string, unknown> {
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
