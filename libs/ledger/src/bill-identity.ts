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
 * - identities as a set: duplicates removed, sorted (their order says nothing);
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

/** Keys sorted at every level: the one serialisation of a canonical value. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The bill in canonical form c1, the text that is hashed (throws OutsideForm). */
export function canonicalBill(bill: Bill): string {
  const b = bill as unknown as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (b[k] !== undefined && !C1_FIELDS.includes(k)) throw new OutsideForm('c1', k);
  }
  const out: Record<string, unknown> = {};
  for (const k of TEXTS) out[k] = bill[k];
  for (const k of FLAGS) out[k] = bill[k];
  for (const k of AMOUNTS) out[k] = amount(bill[k], k);
  out['identities'] = [...new Set(bill.identities)].sort();
  if (bill.visitKind !== undefined) out['visitKind'] = bill.visitKind;
  if (bill.upstream !== undefined) {
    const u = bill.upstream as unknown as Record<string, unknown>;
    for (const k of Object.keys(u)) {
      if (u[k] !== undefined && !(UPSTREAM as readonly string[]).includes(k))
        throw new OutsideForm('c1', `upstream.${k}`);
    }
    const up: Record<string, string> = {};
    for (const k of UPSTREAM) up[k] = amount(bill.upstream[k], `upstream.${k}`);
    out['upstream'] = up;
  }
  return `c1:${sortedJson(out)}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The bill's identity under `form` (default: the current form, c1); null when the bill cannot be
 * written in that form, which makes it differ from every bill stored under it.
 */
export function bodyHashOf(bill: Bill, form: BodyHashForm = BODY_HASH_FORM): string | null {
  if (form === 'c0') return sha256(JSON.stringify(bill));
  try {
    return sha256(canonicalBill(bill));
  } catch (e) {
    if (e instanceof OutsideForm) return null;
    throw e;
  }
}

/** The identity a new settlement is stored with (form c1). */
export function billBodyHash(bill: Bill): string {
  return sha256(canonicalBill(bill));
}

/** Whether `bill` is the bill a settlement was stored with, under the form it was stored in. */
export function sameBill(
  bill: Bill,
  stored: { bodyHash: string; bodyHashForm?: BodyHashForm },
): boolean {
  return bodyHashOf(bill, stored.bodyHashForm ?? BODY_HASH_FORM) === stored.bodyHash;
}
