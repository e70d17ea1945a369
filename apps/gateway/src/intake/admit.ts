/**
 * The admit handler: a decoded admission opens the visit and answers whether the patient is
 * admitted without a deposit (treatment first, pay later), in the caller's transaction.
 */
import { type DepositWaiver, depositWaiver } from '@onebill/engine';
import {
  type IdentitiesUsed,
  type Queryable,
  admissionAnswerOf,
  identitiesOf,
  insertAdmission,
  saveAdmissionAnswer,
} from '@onebill/ledger';
import { admittedResultRecord } from '@onebill/messaging/builders';
import type { AdmissionMessage } from '@onebill/messaging/canonical';
import type { Admission } from '@onebill/messaging/xml';
import type { RuleBook } from '@onebill/rules';
import type { IntakeDeps, MessageContext } from './context';
import { type Outcome, problemOf } from './model';
import { reject } from './reject';

export interface AdmissionAnswer {
  fixmedinsCode: string;
  mdtrtId: string;
  depositWaiver: DepositWaiver;
  identities: IdentitiesUsed;
}

export async function admitVisit(
  deps: IntakeDeps,
  ctx: MessageContext,
  m: AdmissionMessage,
): Promise<Outcome> {
  const { tx, scope, inboxId, correlationId } = ctx;
  const a = m.admission;
  const hospital = deps.rules.hospital(a.fixmedinsCode);
  if (hospital === undefined) {
    return reject(ctx, [
      {
        code: 'UNKNOWN_HOSPITAL',
        field: 'fixmedins_code',
        rule: 'a designated institution in the registry (config/hospitals.json)',
        message: `${a.fixmedinsCode} is not a designated institution in the registry`,
      },
    ]);
  }
  // the registry merged with the message, by the one rule (docs/adr/0009)
  const used = identitiesOf(await scope.identityPeriods(a.psnNo), a.identities, a.admissionDate);
  const identities: IdentitiesUsed = { categories: used.categories, source: used.source };
  let waiver: DepositWaiver;
  try {
    waiver = depositWaiver(deps.rules.resolve(hospital.region, a.admissionDate), {
      ...a,
      identities: used.categories,
    });
  } catch (e) {
    return reject(ctx, [problemOf(e)]);
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
  const answer = {
    fixmedinsCode: a.fixmedinsCode,
    mdtrtId: a.mdtrtId,
    depositWaiver: waiver,
    identities,
  };
  // the hospital's answer: whether the patient is admitted without a deposit, and why
  await scope.insertOutbox([admittedResultRecord(answer, correlationId)]);
  await scope.setInboxStatus(inboxId, 'admitted');
  return { status: 'admitted', ...answer, correlationId };
}

/**
 * The answer to an admission that was admitted: hospital, visit and the deposit waiver as first
 * given (stored with the admission: the registry may have changed since). Admissions recorded
 * before the answer was stored are answered from the message's identities, as they were.
 */
export async function admissionAnswer(
  rules: RuleBook,
  tx: Queryable,
  inboxId: string,
  a: Admission,
): Promise<AdmissionAnswer | null> {
  const hospital = rules.hospital(a.fixmedinsCode);
  if (hospital === undefined) return null;
  const stored = await admissionAnswerOf<{
    depositWaiver: DepositWaiver;
    identities: IdentitiesUsed;
  }>(tx, inboxId);
  return {
    fixmedinsCode: a.fixmedinsCode,
    mdtrtId: a.mdtrtId,
    ...(stored ?? {
      depositWaiver: depositWaiver(rules.resolve(hospital.region, a.admissionDate), a),
      identities: { categories: [...new Set(a.identities)].sort(), source: 'message' },
    }),
  };
}
