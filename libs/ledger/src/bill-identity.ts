/**
 * A bill's identity: the duplicate/conflict key of a settlement and the proof audit replay gives
 * that it re-read the very bill that was settled (docs/adr/0017-bill-identity-canonical-form.md).
 *
 * The hash is of an explicit, versioned canonical form of the bill's CONTRACT content, not of
 * whatever object today's decoder builds: a decoder that orders its keys differently, or a newer
 * contract that adds an optional field the bill does not use, gives the same identity.
 *
 * Form c1 (`c1:` + JSON, keys sorted, no whitespace):
 * - only the fields of the discharge contract v1 (C1_FIELDS); a bill carrying a field the form
 *   does not know, with a value, cannot be written in c1 and is a different bill (never silently
 *   dropped from the key);
 * - optional fields (visit_kind, the upstream tiers) omitted when absent (undefined);
 * - amounts as strings with exactly two decimals ("12.5" and "12.50" are one amount);
 * - identities in the bill's order, repeats dropped (a rule set's tie reading may follow the order,
 *   docs/adr/0004; the engine drops repeats itself);
 * - booleans as JSON booleans, texts as given (the decoder has trimmed them).
 *
 * Form c0 is the hash before this ADR: sha256(JSON.stringify(bill)) in the decoder's key order.
 * Rows settled before migration 0012 keep it (settlements.body_hash_form = 'c0') and are compared
 * under it; every new settlement is c1.
 */
import { createHash } from 'node:crypto';
import { type Bill, formatFen, parseFen } from '@onebill/engine';

export type BodyHashForm = 'c0' | 'c1';
/** The form every new settlement is keyed by. */
export const BODY_HASH_FORM: BodyHashForm = 'c1';

const AMOUNTS = [
  'medfeeSumamt',
  'fulamtOwnpayAmt',
  'overlmtSelfpay',
  'preselfpayAmt',
  'inscpScpAmt',
] as const;
const UPSTREAM = ['actPayDedc', 'hifobPay', 'hifmiPay', 'hifpPay'] as const;
const TEXTS = [
  'admissionDate',
  'dischargeDate',
  'fixmedinsCode',
  'hospitalLevel',
  'insutype',
  'mdtrtId',
  'medType',
  'psnNo',
] as const;
const FLAGS = ['commercialEnrolled', 'followUp', 'inProvince', 'referred'] as const;
/** Every field form c1 knows; anything else on a bill, with a value, is outside the form. */
export const C1_FIELDS: readonly string[] = [
  ...AMOUNTS,
  ...TEXTS,
  ...FLAGS,
  'identities',
  'upstream',
  'visitKind',
].sort();
const C1_SET: ReadonlySet<string> = new Set(C1_FIELDS);

/** A bill that cannot be written in a form (it carries a field the form does not know). */
export class OutsideForm extends Error {
  constructor(
    readonly form: BodyHashForm,
    readonly field: string,
  ) {
    super(`bill field ${field} is not part of canonical form ${form}`);
  }
}

const TWO_DECIMALS = /^(0|[1-9]\d*)\.\d\d$/;

/** An amount in two decimals: as given when it already is (the decoder normalises), else via fen. */
function amount(value: string, field: string): string {
  return TWO_DECIMALS.test(value) ? value : formatFen(parseFen(value, field));
}

const q = (v: string): string => JSON.stringify(v);

/**
 * The bill in canonical form c1, the text that is hashed (throws OutsideForm). Written field by
 * field in the sorted order of C1_FIELDS (it runs for every bill settled and every bill replayed).
 */
export function canonicalBill(bill: Bill): string {
  const b = bill as unknown as Record<string, unknown>;
  for (const k in b) {
    if (b[k] !== undefined && !C1_SET.has(k)) throw new OutsideForm('c1', k);
  }
  let up = '';
  if (bill.upstream !== undefined) {
    const u = bill.upstream as unknown as Record<string, unknown>;
    for (const k in u) {
      if (u[k] !== undefined && !(UPSTREAM as readonly string[]).includes(k))
        throw new OutsideForm('c1', `upstream.${k}`);
    }
    const a = (k: (typeof UPSTREAM)[number]): string =>
      q(amount(bill.upstream![k], `upstream.${k}`));
    up = `,"upstream":{"actPayDedc":${a('actPayDedc')},"hifmiPay":${a('hifmiPay')},"hifobPay":${a('hifobPay')},"hifpPay":${a('hifpPay')}}`;
  }
  // identities in the bill's order (a rule set's tie reading may follow it), repeats dropped
  const ids = [...new Set(bill.identities)].map(q).join(',');
  return (
    `c1:{"admissionDate":${q(bill.admissionDate)}` +
    `,"commercialEnrolled":${bill.commercialEnrolled === true}` +
    `,"dischargeDate":${q(bill.dischargeDate)}` +
    `,"fixmedinsCode":${q(bill.fixmedinsCode)}` +
    `,"followUp":${bill.followUp === true}` +
    `,"fulamtOwnpayAmt":${q(amount(bill.fulamtOwnpayAmt, 'fulamtOwnpayAmt'))}` +
    `,"hospitalLevel":${q(bill.hospitalLevel)}` +
    `,"identities":[${ids}]` +
    `,"inProvince":${bill.inProvince === true}` +
    `,"inscpScpAmt":${q(amount(bill.inscpScpAmt, 'inscpScpAmt'))}` +
    `,"insutype":${q(bill.insutype)}` +
    `,"mdtrtId":${q(bill.mdtrtId)}` +
    `,"medType":${q(bill.medType)}` +
    `,"medfeeSumamt":${q(amount(bill.medfeeSumamt, 'medfeeSumamt'))}` +
    `,"overlmtSelfpay":${q(amount(bill.overlmtSelfpay, 'overlmtSelfpay'))}` +
    `,"preselfpayAmt":${q(amount(bill.preselfpayAmt, 'preselfpayAmt'))}` +
    `,"psnNo":${q(bill.psnNo)}` +
    `,"referred":${bill.referred === true}` +
    up +
    (bill.visitKind === undefined ? '' : `,"visitKind":${q(bill.visitKind)}`) +
    '}'
  );
}

/**
 * The bill a c1 text stands for (the settlement's stored canonical message): the engine computes
 * the same result from it as from the decoded bill. The caller checks the text against the
 * stored body_hash first (sha256), which the archive's chain covers.
 */
export function billOfCanonical(text: string): Bill {
  if (!text.startsWith('c1:')) throw new Error('not a canonical bill of form c1');
  return JSON.parse(text.slice(3)) as Bill;
}

export function sha256Text(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The bill's identity under `form` (default: the current form, c1); null when the bill cannot be
 * written in that form, which makes it differ from every bill stored under it.
 */
export function bodyHashOf(bill: Bill, form: BodyHashForm = BODY_HASH_FORM): string | null {
  if (form === 'c0') return sha256Text(JSON.stringify(bill));
  try {
    return sha256Text(canonicalBill(bill));
  } catch (e) {
    if (e instanceof OutsideForm) return null;
    throw e;
  }
}

/** The identity a new settlement is stored with (form c1). */
export function billBodyHash(bill: Bill): string {
  return sha256Text(canonicalBill(bill));
}

/** Whether `bill` is the bill a settlement was stored with, under the form it was stored in. */
export function sameBill(
  bill: Bill,
  stored: { bodyHash: string; bodyHashForm?: BodyHashForm },
): boolean {
  return bodyHashOf(bill, stored.bodyHashForm ?? BODY_HASH_FORM) === stored.bodyHash;
}
