/**
 * The intake's router: records the message in the inbox (a Kafka redelivery gets its first
 * answer), then hands the decoded message to the handler of its kind — settle, reverse, admit —
 * or to the reject handler. Everything runs in the transaction the caller passes; the router
 * opens none, so a batch can share one (group commit).
 */
import {
  type BillScope,
  type InboxRef,
  type NewInbox,
  type Queryable,
  directScope,
  findReject,
  findSettlement,
  insertInbox,
  markResubmitted,
} from '@onebill/ledger';
import { admissionAnswer, admitVisit } from './admit';
import { type Arrival, namedHospitalOf } from './arrival';
import type { IntakeDeps, MessageContext } from './context';
import {
  AlreadyResubmitted,
  type Outcome,
  type Problem,
  type Source,
  fromDecode,
  scopeProblem,
} from './model';
import { reject } from './reject';
import { reverseBill } from './reverse';
import { settleBill } from './settle';

/**
 * A transport's own text (Kafka key, correlation-id header) with control characters replaced: it
 * is stored as text and sent as a JSON header, where U+0000 cannot go (docs/adr/0012).
 */
function printable(s: string | null | undefined): string | undefined {
  return s === null || s === undefined
    ? undefined
    : s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD');
}

/**
 * The source as it is recorded: its transport texts printable, and the hospital the message is
 * recorded under decided once: the credential's institution, else the one the decoder read in
 * the message, else a code-shaped Kafka key (a message that does not decode still belongs
 * somewhere).
 */
export function recorded(arrival: Arrival, given: Source): Source {
  const key = printable(given.key);
  const correlationId = printable(given.correlationId);
  const source: Source = { ...given, key: key ?? null };
  if (correlationId !== undefined) source.correlationId = correlationId;
  const trimmed = key?.trim() ?? '';
  source.attributedTo =
    namedHospitalOf(arrival) ?? (/^[A-Za-z0-9_-]{1,64}$/.test(trimmed) ? trimmed : null);
  return source;
}

/** The hospital a message is recorded under (see recorded). */
export function attributedHospital(source: Source): string | null {
  if (source.hospitalScope !== undefined) return source.hospitalScope;
  return source.attributedTo ?? null;
}

/** The message's inbox row, as first recorded (status `received`). */
export function inboxOf(arrival: Arrival, source: Source, correlationId: string): NewInbox {
  const { received } = arrival;
  return {
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
    fixmedinsCode: attributedHospital(source),
    submittedBy: source.submittedBy ?? null,
    resubmissionOf: source.resubmissionOf ?? null,
  };
}

/** Records the message; for a Kafka redelivery of a message already processed, its outcome. */
async function recordInbox(
  deps: IntakeDeps,
  tx: Queryable,
  arrival: Arrival,
  source: Source,
  correlationId: string,
): Promise<string | Outcome> {
  const ref = await insertInbox(tx, inboxOf(arrival, source, correlationId));
  return recordedAs(deps, tx, arrival, source, correlationId, ref);
}

/**
 * What an inbox row just written means: the row's id for a new message (a resubmission linked to
 * its reject), else the first outcome of a Kafka record delivered again.
 */
export async function recordedAs(
  deps: IntakeDeps,
  tx: Queryable,
  arrival: Arrival,
  source: Source,
  correlationId: string,
  ref: InboxRef,
): Promise<string | Outcome> {
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
    if (s !== null) return { status: 'duplicate', settlement: s, correlationId: firstCorrelation };
  }
  const decoded = arrival.decoded;
  if (ref.status === 'admitted' && decoded.ok && decoded.message.kind === 'admission') {
    // an admission has no row of its own to return: its answer is a function of the message
    const again = await admissionAnswer(deps.rules, tx, ref.id, decoded.message.admission);
    if (again !== null) return { status: 'admitted', ...again, correlationId: firstCorrelation };
  }
  const rejectRow = ref.rejectId === null ? null : await findReject(tx, ref.rejectId);
  return {
    status: 'rejected',
    problems:
      rejectRow === null
        ? []
        : [
            {
              code: rejectRow.reasonCode,
              field: rejectRow.field,
              rule: 'as first recorded',
              message: rejectRow.message,
            },
          ],
    rejectId: ref.rejectId,
    correlationId: firstCorrelation,
    fixmedinsCode: attributedHospital(source),
  };
}

/** Routes one decoded message to its handler, in the caller's transaction. */
export async function route(
  deps: IntakeDeps,
  tx: Queryable,
  arrival: Arrival,
  source: Source,
  correlationId: string,
): Promise<Outcome> {
  const inbox = await recordInbox(deps, tx, arrival, source, correlationId);
  if (typeof inbox !== 'string') return inbox;
  return dispatch(deps, contextOf(directScope(tx), inbox, arrival, source, correlationId), arrival);
}

/** The handler's context for a message whose inbox row is `inboxId`, in `scope`. */
export function contextOf(
  scope: BillScope,
  inboxId: string,
  arrival: Arrival,
  source: Source,
  correlationId: string,
): MessageContext {
  return {
    tx: scope.tx,
    scope,
    inboxId,
    source,
    correlationId,
    received: arrival.received,
    hospital: attributedHospital(source),
  };
}

/** Hands a recorded message to the handler of its kind (or rejects it), in `ctx`'s scope. */
export async function dispatch(
  deps: IntakeDeps,
  ctx: MessageContext,
  arrival: Arrival,
): Promise<Outcome> {
  const { source } = ctx;
  const decoded = arrival.decoded;
  if (!decoded.ok) return reject(ctx, fromDecode(decoded.errors));
  const m = decoded.message;
  if (m.kind === 'identity-change')
    return reject(ctx, [
      {
        code: 'WRONG_ROOT',
        field: null,
        rule: 'identity changes go to identity.changes.v1',
        message: 'an identity change is not a hospital message',
      },
    ]);
  const outOfScope = scopeProblem(source, m.hospital);
  if (outOfScope !== null) return reject(ctx, [outOfScope]);
  switch (m.kind) {
    case 'discharge':
      return settleBill(deps, ctx, m);
    case 'reversal':
      return reverseBill(deps, ctx, m);
    case 'admission':
      return admitVisit(deps, ctx, m);
  }
}

/** Keeps a message that failed for an unexpected reason as a reject, so it blocks nothing. */
export async function routeInternalReject(
  tx: Queryable,
  deps: IntakeDeps,
  arrival: Arrival,
  source: Source,
  correlationId: string,
  error: unknown,
): Promise<Outcome> {
  const problem = internalProblem(error);
  const inbox = await recordInbox(deps, tx, arrival, source, correlationId);
  if (typeof inbox !== 'string') return inbox;
  return reject(contextOf(directScope(tx), inbox, arrival, source, correlationId), [problem]);
}

/** The reject a message that failed for an unexpected reason is kept as. */
export function internalProblem(error: unknown): Problem {
  return {
    code: 'INTERNAL_ERROR',
    field: null,
    rule: 'the gateway could not process this message; an operator can resubmit it',
    message: error instanceof Error ? error.message : String(error),
  };
}
