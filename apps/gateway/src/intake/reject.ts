/**
 * The reject handler: a message that is not settled is kept with its reasons (rejects row), its
 * inbox row says so, and the hospital hears of it on his.discharge.rejected.v1 — all in the
 * caller's transaction.
 */
import { insertReject, type InboxStatus } from '@onebill/ledger';
import { rejectRecord } from '@onebill/messaging/builders';
import type { MessageContext } from './context';
import type { Outcome, Problem } from './model';

/** Records the reject and its event; the reject's id. */
export async function rejectRow(
  ctx: MessageContext,
  problems: Problem[],
  status: Extract<InboxStatus, 'rejected' | 'conflict'>,
): Promise<string> {
  const first = problems[0] as Problem;
  const raw = ctx.received.raw;
  const rejectId = await insertReject(ctx.tx, {
    inboxId: ctx.inboxId,
    reasonCode: first.code,
    field: first.field,
    message: problems.map((p) => p.message).join('; '),
    payload: raw,
    fixmedinsCode: ctx.hospital,
  });
  // a bounded excerpt and a reference to the stored original, never all of it (docs/adr/0011)
  await ctx.scope.insertOutbox([
    rejectRecord({
      rejectId,
      status,
      problems,
      source: ctx.source,
      original: raw,
      hospital: ctx.hospital,
      correlationId: ctx.correlationId,
    }),
  ]);
  await ctx.scope.setInboxStatus(ctx.inboxId, status, { rejectId });
  return rejectId;
}

/** Rejects the message with its reasons. */
export async function reject(ctx: MessageContext, problems: Problem[]): Promise<Outcome> {
  const rejectId = await rejectRow(ctx, problems, 'rejected');
  return {
    status: 'rejected',
    problems,
    rejectId,
    correlationId: ctx.correlationId,
    fixmedinsCode: ctx.hospital,
  };
}
