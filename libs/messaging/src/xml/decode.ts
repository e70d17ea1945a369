import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { validateSync, type ValidationError } from 'class-validator';
import type { Bill, HospitalLevel, Insutype, VisitKind } from '@onebill/engine/types';
import { decimalOf, formatDecimal, normaliseAmount, sumDecimal } from '@onebill/money';
import { SETTLEMENT_FUNDS, type SettlementFund } from '../events/settlement-event';
import { AdmissionDto, CALENDAR_DATE, CODE_RE, DischargeDto, ReversalDto } from './dto';
import type { DecodeError, DecodeErrorCode } from './errors';
import { messageText } from './text';

export const DEFAULT_MAX_BYTES = 64 * 1024;
export interface DecodeOptions {
  maxBytes?: number;
}

const AMOUNT_FIELDS = [
  'medfee_sumamt',
  'fulamt_ownpay_amt',
  'overlmt_selfpay',
  'preselfpay_amt',
  'inscp_scp_amt',
] as const;

/**
 * Structural limits, enforced by the parser while it reads (docs/adr/0012-hostile-input.md): a
 * message nested deeper, with more elements or with more attributes on one element is refused
 * before any tree is walked, so no input reaches a recursion of ours or of the parser's.
 */
export const LIMITS = {
  /** elements open at once, the root included (a discharge needs 3) */
  maxDepth: 32,
  /** elements in one message (a discharge has about 30) */
  maxElements: 2000,
  /** attributes on one element (the root has one, version) */
  maxAttributes: 32,
} as const;

class LimitExceeded extends Error {
  constructor(readonly problem: DecodeError) {
    super(problem.message);
  }
}

/** A parser with this module's options and limits; `parse` throws LimitExceeded beyond them. */
class LimitedParser {
  private elements = 0;
  private readonly parser: XMLParser;

  constructor(
    isArray: (name: string) => boolean,
    private readonly maxElements: number,
  ) {
    this.parser = new XMLParser({
      processEntities: false,
      parseTagValue: false,
      parseAttributeValue: false,
      ignoreAttributes: false,
      attributeNamePrefix: '@_',
      trimValues: true,
      ignoreDeclaration: true,
      isArray,
      maxNestedTags: LIMITS.maxDepth - 1,
      updateTag: (tag: string, _path: unknown, attrs: Record<string, string>) => {
        this.elements += 1;
        if (this.elements > this.maxElements)
          throw new LimitExceeded(
            err(
              'TOO_MANY_ELEMENTS',
              null,
              `maxElements:${this.maxElements}`,
              `more than ${this.maxElements} elements`,
            ),
          );
        const n = Object.keys(attrs).length;
        if (n > LIMITS.maxAttributes)
          throw new LimitExceeded(
            err(
              'TOO_MANY_ATTRIBUTES',
              tag,
              `maxAttributes:${LIMITS.maxAttributes}`,
              `<${tag}> has ${n} attributes, limit ${LIMITS.maxAttributes}`,
            ),
          );
        return tag;
      },
    });
  }

  /** The tree, or the limit or parse error that stopped it (parsing is synchronous). */
  parse(text: string): { ok: true; tree: unknown } | { ok: false; error: DecodeError } {
    this.elements = 0;
    try {
      return { ok: true, tree: this.parser.parse(text) };
    } catch (e) {
      if (e instanceof LimitExceeded) return { ok: false, error: e.problem };
      const message = e instanceof Error ? e.message : String(e);
      if (/nested tags/i.test(message))
        return {
          ok: false,
          error: err(
            'DEPTH_EXCEEDED',
            null,
            `maxDepth:${LIMITS.maxDepth}`,
            `elements are nested deeper than ${LIMITS.maxDepth}`,
          ),
        };
      return { ok: false, error: err('MALFORMED_XML', null, 'parse', message) };
    }
  }
}

const parser = new LimitedParser((name) => name === 'identity', LIMITS.maxElements);

/**
 * What the parser read before mapping: the root and its body, or the errors. A message that parses
 * but fails a later rule (root, version, fields) still carries the body it had (`read`), so the
 * reject can name the hospital and the person the parser read in it (never a pattern over text).
 */
type Pre =
  | { ok: true; root: string; body: Record<string, unknown> }
  | { ok: false; errors: DecodeError[]; read?: Record<string, unknown>; root?: string };

function err(
  code: DecodeErrorCode,
  field: string | null,
  rule: string,
  message: string,
): DecodeError {
  return { code, field, rule, message };
}

/**
 * Characters no text of a message may hold: C0 controls but tab, LF and CR (U+0000 among them,
 * which PostgreSQL text cannot store), DEL and the C1 controls, and the bidirectional overrides
 * and isolates (U+202A–U+202E, U+2066–U+2069) that make a name display as something else.
 */
export const FORBIDDEN_CHARS =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/;

export function describeChar(c: string): string {
  return `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The first text or attribute value holding a forbidden character, as a field path. */
export function forbiddenIn(node: unknown, path: string): { field: string; char: string } | null {
  if (typeof node === 'string') {
    const m = FORBIDDEN_CHARS.exec(node);
    return m === null ? null : { field: path, char: m[0] };
  }
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const f = forbiddenIn(node[i], `${path}[${i}]`);
      if (f !== null) return f;
    }
    return null;
  }
  if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      const name = k.startsWith('@_') ? k.slice(2) : k === '#text' ? '' : k;
      const f = forbiddenIn(v, name === '' ? path : path === '' ? name : `${path}.${name}`);
      if (f !== null) return f;
    }
  }
  return null;
}

/**
 * Size cap, encoding, entity ban, well-formedness, structural limits, forbidden characters, root
 * element and version: everything before mapping. Bytes become text only through messageText.
 */
function preParse(
  raw: Buffer | string,
  roots: string | readonly string[],
  opts?: DecodeOptions,
  using: LimitedParser = parser,
): Pre {
  const accepted: readonly string[] = typeof roots === 'string' ? [roots] : roots;
  const max = opts?.maxBytes ?? DEFAULT_MAX_BYTES;
  const size = typeof raw === 'string' ? Buffer.byteLength(raw, 'utf8') : raw.length;
  if (size > max)
    return {
      ok: false,
      errors: [err('TOO_LARGE', null, `maxBytes:${max}`, `message is ${size} bytes, limit ${max}`)],
    };
  let text: string;
  if (typeof raw === 'string') text = raw;
  else {
    const decoded = messageText(raw);
    if (!decoded.ok) return { ok: false, errors: [decoded.error] };
    text = decoded.text;
  }
  if (text.trim() === '')
    return { ok: false, errors: [err('EMPTY_MESSAGE', null, 'nonEmpty', 'the message is empty')] };
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    return {
      ok: false,
      errors: [
        err(
          'ENTITY_NOT_ALLOWED',
          null,
          'noDoctype',
          'DOCTYPE and ENTITY declarations are not accepted',
        ),
      ],
    };
  }
  const v = XMLValidator.validate(text);
  if (v !== true) {
    return {
      ok: false,
      errors: [
        err(
          'MALFORMED_XML',
          null,
          v.err.code,
          `${v.err.msg} (line ${v.err.line}, col ${v.err.col})`,
        ),
      ],
    };
  }
  const result = using.parse(text);
  if (!result.ok) return { ok: false, errors: [result.error] };
  const parsed = result.tree;
  const bad = FORBIDDEN_CHARS.exec(text);
  if (bad !== null) {
    const at = forbiddenIn(parsed, '');
    const top = at?.field.split('.')[0] ?? '';
    const field =
      at === null
        ? null
        : at.field.startsWith(`${top}.`)
          ? at.field.slice(top.length + 1)
          : at.field;
    return {
      ok: false,
      errors: [
        err(
          'INVALID_CHARACTER',
          field,
          'noControlOrBidiCharacters',
          `${field === null ? 'the message' : `<${field}>`} holds ${describeChar(at?.char ?? bad[0])}: ` +
            'control characters and bidirectional overrides are not accepted',
        ),
      ],
    };
  }
  const keys = parsed && typeof parsed === 'object' ? Object.keys(parsed) : [];
  const only = keys.length === 1 ? (parsed as Record<string, unknown>)[keys[0]!] : undefined;
  const read =
    only !== null && typeof only === 'object' && !Array.isArray(only)
      ? (only as Record<string, unknown>)
      : undefined;
  const root = keys[0] ?? '';
  if (keys.length !== 1 || !accepted.includes(root)) {
    const expected =
      accepted.length === 1 ? `<${accepted[0]}>` : accepted.map((r) => `<${r}>`).join(', ');
    return {
      ok: false,
      errors: [
        err(
          'WRONG_ROOT',
          null,
          `root:${accepted.join('|')}`,
          `expected one ${expected} root, got ${keys.join(',') || 'none'}`,
        ),
      ],
      ...(read === undefined ? {} : { read, root }),
    };
  }
  if (read === undefined) {
    return { ok: false, errors: [err('MISSING_FIELD', null, 'isNotEmpty', `<${root}> is empty`)] };
  }
  if (read['@_version'] !== '1') {
    return {
      ok: false,
      errors: [err('UNSUPPORTED_VERSION', 'version', 'equals:1', `version must be "1"`)],
      read,
      root,
    };
  }
  return { ok: true, root, body: read };
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** processEntities is off (no expansion of anything declared); decode only XML's five predefined entities. */
function unescapeXml(v: string): string {
  return v.replace(/&(lt|gt|amp|quot|apos);/g, (_m, n: string) => PREDEFINED[n] ?? _m);
}

/** Copy only known string fields into a fresh DTO; report unknown/nested content. */
function toDto<T extends object>(
  Ctor: new () => T,
  body: Record<string, unknown>,
  fields: readonly string[],
  optional: readonly string[],
  withIdentities: boolean,
): { dto: T; errors: DecodeError[] } {
  const errors: DecodeError[] = [];
  const dto = new Ctor();
  const target = dto as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (key.startsWith('@_')) continue;
    if (!fields.includes(key) && !(withIdentities && key === 'identities')) {
      errors.push(err('UNKNOWN_FIELD', key, 'whitelist', `unknown element <${key}>`));
    }
  }
  for (const f of fields) {
    const v = body[f];
    if (v === undefined || v === '') {
      if (!optional.includes(f))
        errors.push(err('MISSING_FIELD', f, 'isDefined', `<${f}> is required`));
      continue;
    }
    if (typeof v !== 'string') {
      errors.push(err('INVALID_FIELD', f, 'isString', `<${f}> must be text`));
      continue;
    }
    target[f] = unescapeXml(v);
  }
  if (withIdentities) {
    const ids = body['identities'];
    const list: string[] = [];
    if (ids !== undefined && ids !== '') {
      const inner =
        typeof ids === 'object' && ids !== null
          ? (ids as Record<string, unknown>)['identity']
          : undefined;
      if (!Array.isArray(inner) || inner.some((x) => typeof x !== 'string')) {
        errors.push(
          err(
            'INVALID_FIELD',
            'identities',
            'identityList',
            '<identities> must hold <identity> text elements',
          ),
        );
      } else {
        list.push(...(inner as string[]));
      }
    }
    target['identities'] = list;
  }
  return { dto, errors };
}

function validationErrors(dto: object, skip: Set<string>): DecodeError[] {
  const out: DecodeError[] = [];
  const walk = (e: ValidationError): void => {
    if (skip.has(e.property)) return;
    for (const [rule, msg] of Object.entries(e.constraints ?? {})) {
      out.push(
        err(rule === CALENDAR_DATE ? 'INVALID_DATE' : 'INVALID_FIELD', e.property, rule, msg),
      );
    }
    e.children?.forEach(walk);
  };
  validateSync(dto, { forbidUnknownValues: true, whitelist: true }).forEach(walk);
  return out;
}

const ADMISSION_FIELDS = [
  'fixmedins_code',
  'mdtrt_id',
  'psn_no',
  'insutype',
  'med_type',
  'hosp_lv',
  'begntime',
  'refl_flag',
  'in_prov_flag',
] as const;
/** optional: the insurance tiers settled upstream by the platform (upstream-settled mode) */
const UPSTREAM_FIELDS = ['act_pay_dedc', 'hifp_pay', 'hifmi_pay', 'hifob_pay'] as const;

const DISCHARGE_FIELDS = [
  ...ADMISSION_FIELDS,
  'psn_name',
  'certno',
  'endtime',
  'fu_flag',
  'cmi_flag',
  'visit_kind',
  ...AMOUNT_FIELDS,
  ...UPSTREAM_FIELDS,
] as const;

export type DischargeDecoded =
  | { ok: true; bill: Bill; person: { name?: string; certno?: string } }
  | { ok: false; errors: DecodeError[] };

function billOf(dto: DischargeDto): Bill {
  return {
    fixmedinsCode: dto.fixmedins_code,
    mdtrtId: dto.mdtrt_id,
    psnNo: dto.psn_no,
    insutype: dto.insutype as Insutype,
    medType: dto.med_type,
    hospitalLevel: dto.hosp_lv as HospitalLevel,
    admissionDate: dto.begntime.slice(0, 10),
    dischargeDate: dto.endtime.slice(0, 10),
    referred: dto.refl_flag === '1',
    inProvince: dto.in_prov_flag === '1',
    followUp: dto.fu_flag === '1',
    commercialEnrolled: dto.cmi_flag === '1',
    identities: [...dto.identities],
    ...(dto.visit_kind !== undefined ? { visitKind: dto.visit_kind as VisitKind } : {}),
    ...(UPSTREAM_FIELDS.some((f) => dto[f] !== undefined)
      ? {
          upstream: {
            hifpPay: normaliseAmount(dto.hifp_pay ?? '0', 'hifp_pay'),
            hifmiPay: normaliseAmount(dto.hifmi_pay ?? '0', 'hifmi_pay'),
            hifobPay: normaliseAmount(dto.hifob_pay ?? '0', 'hifob_pay'),
            actPayDedc: normaliseAmount(dto.act_pay_dedc ?? '0', 'act_pay_dedc'),
          },
        }
      : {}),
    medfeeSumamt: normaliseAmount(dto.medfee_sumamt, 'medfee_sumamt'),
    fulamtOwnpayAmt: normaliseAmount(dto.fulamt_ownpay_amt, 'fulamt_ownpay_amt'),
    overlmtSelfpay: normaliseAmount(dto.overlmt_selfpay, 'overlmt_selfpay'),
    preselfpayAmt: normaliseAmount(dto.preselfpay_amt, 'preselfpay_amt'),
    inscpScpAmt: normaliseAmount(dto.inscp_scp_amt, 'inscp_scp_amt'),
  };
}

export const MESSAGE_ROOTS = ['discharge', 'reversal', 'admission'] as const;
export type MessageRoot = (typeof MESSAGE_ROOTS)[number];

/** The institution and person a parsed body names, where they have the shape of codes. */
export function namedIn(body: Record<string, unknown> | undefined): {
  hospital: string | null;
  person: string | null;
} {
  const code = (k: string): string | null => {
    const v = body?.[k];
    return typeof v === 'string' && CODE_RE.test(v.trim()) ? v.trim() : null;
  };
  return { hospital: code('fixmedins_code'), person: code('psn_no') };
}

/**
 * The parser's reading of a message text, root one of `roots`: size, entities, well-formedness,
 * limits, forbidden characters, root and version checked (see preParse).
 */
export function parseMessage(
  text: string,
  roots: readonly string[] = MESSAGE_ROOTS,
  opts?: DecodeOptions,
): Pre {
  return preParse(text, roots, opts);
}

/**
 * The parser's reading of a message the gateway has already accepted (audit replay, top-ups):
 * the same parser, without the validation passes that message already went through.
 */
export function parseAccepted(text: string): Pre {
  const parsed = parser.parse(text);
  if (!parsed.ok) return { ok: false, errors: [parsed.error] };
  const tree = parsed.tree as Record<string, unknown> | null;
  const keys = tree === null || typeof tree !== 'object' ? [] : Object.keys(tree);
  const root = keys[0] ?? '';
  const body = keys.length === 1 ? tree?.[root] : undefined;
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return { ok: false, errors: [err('WRONG_ROOT', null, 'root', 'no message root')] };
  return { ok: true, root, body: body as Record<string, unknown> };
}

/**
 * The bill of a discharge body the gateway has already accepted: the same mapping as
 * decodeDischarge, without the validation passes (class-validator, the sums) it went through.
 * A body that no longer has the shape of a bill (altered in the archive) still fails here.
 */
export function acceptedBill(body: Record<string, unknown>): DischargeDecoded {
  const { dto, errors } = toDto(
    DischargeDto,
    body,
    DISCHARGE_FIELDS,
    ['psn_name', 'certno', 'visit_kind', ...UPSTREAM_FIELDS],
    true,
  );
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, bill: billOf(dto), person: {} };
}

/**
 * The bill of a discharge message the gateway has already accepted (audit replay reads it back
 * from the archive): the one parser and the same mapping as decodeDischarge, without the
 * validation passes that message already went through.
 */
export function decodeAcceptedDischarge(raw: string): DischargeDecoded {
  const pre = parseAccepted(raw);
  if (!pre.ok) return pre;
  if (pre.root !== 'discharge')
    return { ok: false, errors: [err('WRONG_ROOT', null, 'root:discharge', 'no <discharge>')] };
  return acceptedBill(pre.body);
}

export function decodeDischarge(raw: Buffer | string, opts?: DecodeOptions): DischargeDecoded {
  const pre = preParse(raw, 'discharge', opts);
  if (!pre.ok) return { ok: false, errors: pre.errors };
  return dischargeOf(pre.body);
}

/** A parsed <discharge> body (XML or the JSON tree) to its bill, every rule checked. */
export function dischargeOf(body: Record<string, unknown>): DischargeDecoded {
  const { dto, errors } = toDto(
    DischargeDto,
    body,
    DISCHARGE_FIELDS,
    ['psn_name', 'certno', 'visit_kind', ...UPSTREAM_FIELDS],
    true,
  );
  const missing = new Set(
    errors.filter((e) => e.code === 'MISSING_FIELD').map((e) => e.field ?? ''),
  );
  errors.push(...validationErrors(dto, missing));
  if (errors.length === 0) {
    const [fee, ...parts] = AMOUNT_FIELDS.map((f) => decimalOf(dto[f], f));
    const sum = sumDecimal(parts);
    if (!sum.equals(fee!)) {
      errors.push(
        err(
          'AMOUNTS_DO_NOT_ADD_UP',
          'medfee_sumamt',
          'medfee_sumamt=fulamt_ownpay_amt+overlmt_selfpay+preselfpay_amt+inscp_scp_amt',
          `medfee_sumamt ${formatDecimal(fee!)} but the parts add up to ${formatDecimal(sum)}`,
        ),
      );
    }
    if (dto.endtime < dto.begntime) {
      errors.push(
        err(
          'DISCHARGE_BEFORE_ADMISSION',
          'endtime',
          'endtime>=begntime',
          `endtime ${dto.endtime} is before begntime ${dto.begntime}`,
        ),
      );
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const bill = billOf(dto);
  const person: { name?: string; certno?: string } = {};
  if (dto.psn_name !== undefined) person.name = dto.psn_name;
  if (dto.certno !== undefined) person.certno = dto.certno;
  return { ok: true, bill, person };
}

export interface Admission {
  fixmedinsCode: string;
  mdtrtId: string;
  psnNo: string;
  insutype: Insutype;
  medType: string;
  hospitalLevel: HospitalLevel;
  admissionDate: string;
  admissionTime: string;
  referred: boolean;
  inProvince: boolean;
  identities: string[];
}

export function decodeAdmission(raw: Buffer | string, opts?: DecodeOptions): AdmissionDecoded {
  const pre = preParse(raw, 'admission', opts);
  if (!pre.ok) return { ok: false, errors: pre.errors };
  return admissionOf(pre.body);
}

export type AdmissionDecoded =
  { ok: true; admission: Admission } | { ok: false; errors: DecodeError[] };

/** A parsed <admission> body to the admission, every rule checked. */
export function admissionOf(body: Record<string, unknown>): AdmissionDecoded {
  const { dto, errors } = toDto(AdmissionDto, body, ADMISSION_FIELDS, [], true);
  const missing = new Set(
    errors.filter((e) => e.code === 'MISSING_FIELD').map((e) => e.field ?? ''),
  );
  errors.push(...validationErrors(dto, missing));
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    admission: {
      fixmedinsCode: dto.fixmedins_code,
      mdtrtId: dto.mdtrt_id,
      psnNo: dto.psn_no,
      insutype: dto.insutype as Insutype,
      medType: dto.med_type,
      hospitalLevel: dto.hosp_lv as HospitalLevel,
      admissionDate: dto.begntime.slice(0, 10),
      admissionTime: dto.begntime,
      referred: dto.refl_flag === '1',
      inProvince: dto.in_prov_flag === '1',
      identities: [...dto.identities],
    },
  };
}

export interface Reversal {
  fixmedinsCode: string;
  mdtrtId: string;
  setlId?: string;
  reason: string;
}

export function decodeReversal(raw: Buffer | string, opts?: DecodeOptions): ReversalDecoded {
  const pre = preParse(raw, 'reversal', opts);
  if (!pre.ok) return { ok: false, errors: pre.errors };
  return reversalOf(pre.body);
}

export type ReversalDecoded =
  { ok: true; reversal: Reversal } | { ok: false; errors: DecodeError[] };

/** A parsed <reversal> body to the reversal, every rule checked. */
export function reversalOf(body: Record<string, unknown>): ReversalDecoded {
  const { dto, errors } = toDto(
    ReversalDto,
    body,
    ['fixmedins_code', 'mdtrt_id', 'setl_id', 'reason'],
    ['setl_id'],
    false,
  );
  const missing = new Set(
    errors.filter((e) => e.code === 'MISSING_FIELD').map((e) => e.field ?? ''),
  );
  errors.push(...validationErrors(dto, missing));
  if (errors.length > 0) return { ok: false, errors };
  const reversal: Reversal = {
    fixmedinsCode: dto.fixmedins_code,
    mdtrtId: dto.mdtrt_id,
    reason: dto.reason,
  };
  if (dto.setl_id !== undefined) reversal.setlId = dto.setl_id;
  return { ok: true, reversal };
}

// ---------------------------------------------------------------- reconciliation declarations

/** The funds a declaration names: those of the settlement events. */
export type DeclaredFund = SettlementFund;
export const DECLARED_FUNDS: readonly DeclaredFund[] = SETTLEMENT_FUNDS;

export interface DeclaredBill {
  setlId: string;
  mdtrtId: string;
  funds: Partial<Record<DeclaredFund, string>>;
}

/** A hospital's monthly declaration for one county agency (3201 totals, 3202 detail). */
export interface Declaration {
  fixmedinsCode: string;
  clrOptins: string;
  /** YYYY-MM */
  month: string;
  totals?: Partial<Record<DeclaredFund, string>>;
  bills?: DeclaredBill[];
}

/** A month's detail is large (one <bill> per settlement): its size cap bounds it, not a count. */
const declarationParser = new LimitedParser((name) => name === 'bill', Number.MAX_SAFE_INTEGER);

/** The rules of a declaration's fields, for the XML message and the CSV upload alike. */
export const DECLARATION_RULES = {
  fixmedins_code: { re: /^[A-Za-z0-9]{1,30}$/, rule: 'fixmedins_code' },
  clr_optins: { re: /^\d{6}$/, rule: 'six-digit admdvs' },
  month: { re: /^\d{4}-(0[1-9]|1[0-2])$/, rule: 'YYYY-MM' },
  amount: { re: /^-?\d{1,12}(\.\d{1,2})?$/, rule: 'an amount like 1234.50' },
} as const;
const AMOUNT_RE = DECLARATION_RULES.amount.re;

function fundsOf(
  node: unknown,
  path: string,
  errors: DecodeError[],
): Partial<Record<DeclaredFund, string>> {
  const out: Partial<Record<DeclaredFund, string>> = {};
  if (node === undefined || node === '') return out;
  if (typeof node !== 'object' || node === null) {
    errors.push(err('INVALID_FIELD', path, 'funds', `<${path}> must hold fund elements`));
    return out;
  }
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (k === 'setl_id' || k === 'mdtrt_id' || k.startsWith('@_')) continue;
    if (!(DECLARED_FUNDS as readonly string[]).includes(k)) {
      errors.push(
        err(
          'UNKNOWN_FIELD',
          `${path}.${k}`,
          'fund',
          `unknown fund <${k}>: ${DECLARED_FUNDS.join(', ')}`,
        ),
      );
      continue;
    }
    if (typeof v !== 'string' || !AMOUNT_RE.test(v)) {
      errors.push(
        err('INVALID_FIELD', `${path}.${k}`, 'amount', `<${k}> must be an amount like 1234.50`),
      );
      continue;
    }
    out[k as DeclaredFund] = normaliseAmount(v, `${path}.${k}`);
  }
  return out;
}

/** Decodes a <reconciliation version="1"> declaration; errors name the field and the rule. */
export function decodeDeclaration(
  raw: Buffer | string,
  opts?: DecodeOptions,
): { ok: true; declaration: Declaration } | { ok: false; errors: DecodeError[] } {
  const max = opts?.maxBytes ?? 16 * 1024 * 1024;
  // <bill> is a list here: the declaration's own parser
  const pre = preParse(raw, 'reconciliation', { maxBytes: max }, declarationParser);
  if (!pre.ok) return { ok: false, errors: pre.errors };
  const body = pre.body;
  const errors: DecodeError[] = [];
  const str = (k: 'fixmedins_code' | 'clr_optins' | 'month'): string => {
    const { re, rule } = DECLARATION_RULES[k];
    const v = body[k];
    if (v === undefined || v === '') {
      errors.push(err('MISSING_FIELD', k, 'isDefined', `<${k}> is required`));
      return '';
    }
    if (typeof v !== 'string' || !re.test(v)) {
      errors.push(err('INVALID_FIELD', k, rule, `<${k}> must match ${rule}`));
      return '';
    }
    return v;
  };
  const declaration: Declaration = {
    fixmedinsCode: str('fixmedins_code'),
    clrOptins: str('clr_optins'),
    month: str('month'),
  };
  for (const k of Object.keys(body)) {
    if (
      !k.startsWith('@_') &&
      !['fixmedins_code', 'clr_optins', 'month', 'totals', 'bills'].includes(k)
    ) {
      errors.push(err('UNKNOWN_FIELD', k, 'whitelist', `unknown element <${k}>`));
    }
  }
  if (body['totals'] !== undefined) declaration.totals = fundsOf(body['totals'], 'totals', errors);
  if (body['bills'] !== undefined) {
    const list = (body['bills'] as Record<string, unknown> | '')?.['bill' as never] as unknown;
    const bills: DeclaredBill[] = [];
    const seen = new Set<string>();
    (Array.isArray(list) ? list : []).forEach((b: unknown, i) => {
      const path = `bills.bill[${i}]`;
      const o = (typeof b === 'object' && b !== null ? b : {}) as Record<string, unknown>;
      const setlId = typeof o['setl_id'] === 'string' ? o['setl_id'] : '';
      const mdtrtId = typeof o['mdtrt_id'] === 'string' ? o['mdtrt_id'] : '';
      if (setlId === '')
        errors.push(
          err('MISSING_FIELD', `${path}.setl_id`, 'isDefined', `${path}: <setl_id> is required`),
        );
      if (seen.has(setlId))
        errors.push(
          err(
            'INVALID_FIELD',
            `${path}.setl_id`,
            'unique',
            `${path}: settlement ${setlId} declared twice`,
          ),
        );
      seen.add(setlId);
      bills.push({ setlId, mdtrtId, funds: fundsOf(o, path, errors) });
    });
    declaration.bills = bills;
  }
  if (declaration.totals === undefined && declaration.bills === undefined) {
    errors.push(
      err('MISSING_FIELD', 'totals', 'totalsOrBills', 'declare <totals>, <bills> or both'),
    );
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, declaration };
}
