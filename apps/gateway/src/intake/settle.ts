/**
 * The settle handler: a decoded discharge to its settlement, or a duplicate of one, a conflict or
 * a reject — in the caller's transaction (no transaction of its own).
 *
 * Exactly-once effect rests on the database (DESIGN.md, known traps): the person's accumulator
 * row is locked first (SELECT … FOR UPDATE), which serialises every settlement of that person, so
 * the check for an existing settlement that follows sees any settlement committed meanwhile; the
 * partial unique index on (fixmedins_code, mdtrt_id) WHERE status = 'settled' is the last word:
 * if it refuses the insert, the handler throws Retry and the caller rolls back and tries again.
 * A bill is the same bill when its canonical form is (docs/adr/0017).
 */
import { randomUUID } from 'node:crypto';
import {
  type Bill,
  type CompiledRuleSet,
  type SettlementResult,
  compiled,
  emptyAccumulators,
  settle,
} from '@onebill/engine';
import {
  type IdentitiesUsed,
  type IdentityPeriod,
  type Queryable,
  billBodyHash,
  identitiesOf,
  identityPeriods,
  readAccumulators,
  sameBill,
} from '@onebill/ledger';
import { hisSettlementResultRecord, settlementEventOf } from '@onebill/messaging/builders';
import { settlementEventRecord } from '@onebill/messaging/builders';
import type { DischargeMessage } from '@onebill/messaging/canonical';
import type { Hospital, RuleBook } from '@onebill/rules';
import { raiseAlert } from '../alerts';
import type { IntakeDeps, MessageContext } from './context';
import {
  GatewayProblem,
  type Outcome,
  type PreviewOutcome,
  type Problem,
  Retry,
  formatTime,
  problemOf,
} from './model';
import { reject, rejectRow } from './reject';

/**
 * The identities a bill is computed with: the registry merged with the message by the one rule
 * of docs/adr/0009 (identitiesOf); with a warning on the bill when the registry overruled it.
 */
async function registryIdentities(
  periods: (psnNo: string) => Promise<IdentityPeriod[]>,
  bill: Bill,
): Promise<IdentitiesUsed & { warning: string | null }> {
  return identitiesOf(await periods(bill.psnNo), bill.identities, bill.dischargeDate);
}

/** The bill as computed: the message's identities replaced by the registry's where it wins. */
function withIdentities(bill: Bill, used: IdentitiesUsed & { warning: string | null }): Bill {
  return used.warning === null ? bill : { ...bill, identities: used.categories };
}

/** The accumulators year a bill counts in (its discharge date's). */
export function yearOf(bill: Bill): number {
  return Number.parseInt(bill.dischargeDate.slice(0, 4), 10);
}

/** The registry's hospital of the bill, at the level the registry gives it; else a problem. */
export function admitBill(
  rules: RuleBook,
  bill: Bill,
): { hospital: Hospital; ruleSet: CompiledRuleSet } {
  const hospital = rules.hospital(bill.fixmedinsCode);
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
  return { hospital, ruleSet: compiled(rules.resolve(hospital.region, bill.dischargeDate)) };
}

/** Computes the bill on the person's current position, storing nothing (2303). */
export async function previewBill(
  deps: IntakeDeps,
  q: Queryable,
  m: DischargeMessage,
): Promise<PreviewOutcome> {
  const bill = m.bill;
  try {
    const { hospital, ruleSet } = admitBill(deps.rules, bill);
    const year = yearOf(bill);
    const accumulators = (await readAccumulators(q, bill.psnNo, year)) ?? emptyAccumulators(year);
    // the same identities the settlement would use (docs/adr/0009)
    const used = await registryIdentities((psnNo) => identityPeriods(q, psnNo), bill);
    let result = settle({ bill: withIdentities(bill, used), accumulators, ruleSet });
    if (used.warning !== null) result = { ...result, warnings: [...result.warnings, used.warning] };
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

/** Settles a decoded discharge in the caller's transaction. */
export async function settleBill(
  deps: IntakeDeps,
  ctx: MessageContext,
  m: DischargeMessage,
): Promise<Outcome> {
  const { tx, scope, inboxId, correlationId } = ctx;
  const bill = m.bill;
  let admitted: { hospital: Hospital; ruleSet: CompiledRuleSet };
  try {
    admitted = admitBill(deps.rules, bill);
  } catch (e) {
    return reject(ctx, [problemOf(e)]);
  }
  const { hospital, ruleSet } = admitted;
  const year = yearOf(bill);
  // 1. the person's row lock serialises all of this person's settlements
  const locked = await scope.accumulators(bill.psnNo, year);
  // 2. settled already? The same bill when its canonical form is (docs/adr/0017)
  const existing = await scope.settlementOfBill(bill.fixmedinsCode, bill.mdtrtId);
  if (existing !== null) {
    if (sameBill(bill, existing)) {
      await scope.setInboxStatus(inboxId, 'duplicate', { setlId: existing.setlId });
      return { status: 'duplicate', settlement: existing, correlationId };
    }
    const problem: Problem = {
      code: 'CONFLICT',
      field: 'mdtrt_id',
      rule: 'a bill is settled once; reverse it (2305) before sending a different one',
      message: `visit ${bill.mdtrtId} of ${bill.fixmedinsCode} is already settled as ${existing.setlId} with a different bill`,
    };
    const rejectId = await rejectRow(ctx, [problem], 'conflict');
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
  const registry = await registryIdentities((psnNo) => scope.identityPeriods(psnNo), bill);
  // 4. compute
  let result: SettlementResult;
  try {
    result = settle({ bill: withIdentities(bill, registry), accumulators: locked.data, ruleSet });
  } catch (e) {
    return reject(ctx, [problemOf(e)]);
  }
  if (registry.warning !== null) {
    result = { ...result, warnings: [...result.warnings, registry.warning] };
  }
  // 5. the unique index decides between concurrent duplicates
  const now = deps.now();
  const stored = await scope.insertSettlement({
    setlId: `S${randomUUID().replace(/-/g, '').slice(0, 24).toUpperCase()}`,
    bill,
    bodyHash: billBodyHash(bill),
    clrOptins: hospital.admdvs,
    inboxId,
    setlTime: formatTime(now),
    eventId: randomUUID(),
    accumulatorsBefore: locked.data,
    result,
    identitiesUsed: registry.warning === null ? null : registry.categories,
  });
  if (stored === null) throw new Retry();
  await scope.saveAccumulators(bill.psnNo, result.accumulators, locked.version);
  await scope.insertOutbox([
    settlementEventRecord(settlementEventOf(stored, 'settled', { occurredAt: deps.now() }), {
      correlationId,
      fixmedinsCode: stored.fixmedinsCode,
    }),
    hisSettlementResultRecord(stored, 'settled', correlationId),
    // active discovery (004 第十八条; Baoshan 002 第二十六条; docs/adr/0009 decision 7)
    ...(await raiseAlert(tx, stored, ruleSet.src.highBurden, hospital.region, {
      correlationId,
      now: deps.now(),
    })),
  ]);
  await scope.setInboxStatus(inboxId, 'settled', { setlId: stored.setlId });
  return { status: 'settled', settlement: stored, correlationId };
}
