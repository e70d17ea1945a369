/**
 * The reverse handler (2305): a decoded reversal undoes the visit's settlement in force, its
 * top-ups with it, restores the person's position and tells the county and the hospital — in the
 * caller's transaction. A reversal sent again after it was applied is a duplicate.
 */
import { type Accumulators } from '@onebill/engine';
import {
  type Queryable,
  type SettlementRow,
  SettledConcurrently,
  findLatestSettlementOfBill,
  findSettlement,
} from '@onebill/ledger';
import {
  hisSettlementResultRecord,
  settlementEventOf,
  settlementEventRecord,
} from '@onebill/messaging/builders';
import type { ReversalMessage } from '@onebill/messaging/canonical';
import { reviewAlert } from '../alerts';
import { reversalOfTopups } from '../topups';
import type { IntakeDeps, MessageContext } from './context';
import { type Outcome, formatTime } from './model';
import { reject } from './reject';

/**
 * The reversed settlement a repeated reversal refers to: the one its setl_id names, or without
 * one, the visit's latest settlement when that is reversed (and nothing is in force).
 */
async function reversedAlready(
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

export async function reverseBill(
  deps: IntakeDeps,
  ctx: MessageContext,
  m: ReversalMessage,
): Promise<Outcome> {
  const { tx, scope, inboxId, correlationId } = ctx;
  const { fixmedinsCode, mdtrtId, setlId, reason } = m.reversal;
  const notSettled = (): Promise<Outcome> =>
    reject(ctx, [
      {
        code: 'NOT_SETTLED',
        field: 'mdtrt_id',
        rule: 'only a settled bill can be reversed',
        message: `visit ${mdtrtId} of ${fixmedinsCode} has no settlement in force`,
      },
    ]);
  const found = await scope.settlementOfBill(fixmedinsCode, mdtrtId);
  if (found === null) {
    // a reversal sent again (the cashier's retry, a HIS resend) after it was applied: answer the
    // reversal it already is, change nothing
    const repeated = await reversedAlready(tx, fixmedinsCode, mdtrtId, setlId);
    if (repeated === null) return notSettled();
    await scope.setInboxStatus(inboxId, 'duplicate', { setlId: repeated.setlId });
    return { status: 'duplicate', settlement: repeated, correlationId };
  }
  const locked = await scope.accumulators(found.psnNo, found.year);
  // read again under the person's lock: a concurrent reversal may have won
  const settled = await scope.settlementOfBill(fixmedinsCode, mdtrtId);
  if (settled === null) return notSettled();
  if (setlId !== undefined && setlId !== settled.setlId) {
    return reject(ctx, [
      {
        code: 'SETL_ID_MISMATCH',
        field: 'setl_id',
        rule: 'setl_id, when given, must be the settlement in force',
        message: `visit ${mdtrtId} is settled as ${settled.setlId}, not ${setlId}`,
      },
    ]);
  }
  // the bill goes out as it now stands, its top-ups with it (docs/adr/0009, topups.ts)
  const now = deps.now();
  const topups = await reversalOfTopups(tx, settled, locked.data, {
    correlationId,
    setlTime: formatTime(now),
    now,
  });
  const restored: Accumulators = topups.restored;
  const reversed = await scope.reverseSettlement(settled.setlId, { inboxId, reason });
  // another transaction changed the visit first: run again (the batch forgets what it read of
  // the visit, so the next attempt reads it afresh)
  if (reversed === null) throw new SettledConcurrently(fixmedinsCode, mdtrtId);
  await scope.saveAccumulators(settled.psnNo, restored, locked.version);
  // a reversal belongs to the month it happened
  const occurredAt = deps.now();
  await scope.insertOutbox([
    ...topups.events,
    settlementEventRecord(
      settlementEventOf(reversed, 'reversed', { occurredAt, reversalTime: formatTime(occurredAt) }),
      { correlationId, fixmedinsCode: reversed.fixmedinsCode },
    ),
    hisSettlementResultRecord(reversed, 'reversed', correlationId),
    // the person may be back under the high-burden line (docs/adr/0009 decision 7)
    ...(await reviewAlert(tx, settled.psnNo, settled.year, restored.cashSelfPay, {
      correlationId,
      now,
      reversedSetlId: settled.setlId,
    })),
  ]);
  await scope.setInboxStatus(inboxId, 'reversed', { setlId: settled.setlId });
  return { status: 'reversed', settlement: reversed, correlationId };
}
