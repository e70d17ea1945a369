import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { validateSync, type ValidationError } from 'class-validator';
import Decimal from 'decimal.js';
import type { Bill, HospitalLevel, Insutype, VisitKind } from '@onebill/engine/types';
import { SETTLEMENT_FUNDS, type SettlementFund } from '../events/settlement-event';
import { AdmissionDto, DischargeDto, ReversalDto } from './dto';
import type { DecodeError, DecodeErrorCode } from './errors';

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

const parser = new XMLParser({
  processEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  trimValues: true,
  ignoreDeclaration: true,
  isArray: (name) => name === 'identity',
});

type Pre = { ok: true; body: Record<string, unknown> } | { ok: false; errors: DecodeError[] };

function err(
  code: DecodeErrorCode,
  field: string | null,
  rule: string,
  message: string,
): DecodeError {
  return { code, field, rule, message };
}

/** Size cap, entity ban, well-formedness, root element and version: everything before mapping. */
function preParse(
  raw: Buffer | string,
  root: string,
  opts?: DecodeOptions,
  using: XMLParser = parser,
): Pre {
  const max = opts?.maxBytes ?? DEFAULT_MAX_BYTES;
  const size = typeof raw === 'string' ? Buffer.byteLength(raw, 'utf8') : raw.length;
  if (size > max)
    return {
      ok: false,
      errors: [err('TOO_LARGE', null, `maxBytes:${max}`, `message is ${size} bytes, limit ${max}`)],
    };
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
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
  const parsed: unknown = using.parse(text);
  const keys = parsed && typeof parsed === 'object' ? Object.keys(parsed) : [];
  if (keys.length !== 1 || keys[0] !== root) {
    return {
      ok: false,
      errors: [
        err(
          'WRONG_ROOT',
          null,
          `root:${root}`,
          `expected one <${root}> root, got ${keys.join(',') || 'none'}`,
        ),
      ],
    };
  }
  const body = (parsed as Record<string, unknown>)[root];
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, errors: [err('MISSING_FIELD', null, 'isNotEmpty', `<${root}> is empty`)] };
  }
  const b = body as Record<string, unknown>;
  if (b['@_version'] !== '1') {
    return {
      ok: false,
      errors: [err('UNSUPPORTED_VERSION', 'version', 'equals:1', `version must be "1"`)],
    };
  }
  return { ok: true, body: b };
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
      out.push(err('INVALID_FIELD', e.property, rule, msg));
    }
    e.children?.forEach(walk);
  };
  validateSync(dto, { forbidUnknownValues: true, whitelist: true }).forEach(walk);
  return out;
}

/** "0012.5" → "12.50"; exact, via decimal.js. */
export function normaliseAmount(s: string): string {
  // already in the canonical form (most messages): no arithmetic needed
  if (/^(0|[1-9]\d{0,11})\.\d\d$/.test(s)) return s;
  return new Decimal(s).toFixed(2);
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
            hifpPay: normaliseAmount(dto.hifp_pay ?? '0'),
            hifmiPay: normaliseAmount(dto.hifmi_pay ?? '0'),
            hifobPay: normaliseAmount(dto.hifob_pay ?? '0'),
            actPayDedc: normaliseAmount(dto.act_pay_dedc ?? '0'),
          },
        }
      : {}),
    medfeeSumamt: normaliseAmount(dto.medfee_sumamt),
    fulamtOwnpayAmt: normaliseAmount(dto.fulamt_ownpay_amt),
    overlmtSelfpay: normaliseAmount(dto.overlmt_selfpay),
    preselfpayAmt: normaliseAmount(dto.preselfpay_amt),
    inscpScpAmt: normaliseAmount(dto.inscp_scp_amt),
  };
}

const NAME_RE = /^[A-Za-z_][\w.-]*$/;

function skipWs(raw: string, i: number): number {
  while (i < raw.length) {
    const c = raw.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
    i += 1;
  }
  return i;
}

/**
 * The body of a flat message (leaf elements, one <identities> list) read in one pass, as
 * fast-xml-parser with this module's options reads it; null whenever the text holds anything else
 * (comments, CDATA, attributes on an element, a repeated element, nesting, text between
 * elements), and the caller then uses the parser. Only for messages validated when they came in.
 */
function flatBody(raw: string, root: string): Record<string, unknown> | null {
  if (raw.includes('<!')) return null;
  let i = skipWs(raw, 0);
  if (raw.startsWith('<?', i)) {
    const end = raw.indexOf('?>', i);
    if (end < 0) return null;
    i = skipWs(raw, end + 2);
  }
  if (!raw.startsWith(`<${root}`, i)) return null;
  const rootEnd = raw.indexOf('>', i);
  const after = raw.charCodeAt(i + 1 + root.length);
  if (rootEnd < 0 || raw.charCodeAt(rootEnd - 1) === 47 || (after !== 62 && after !== 32)) {
    return null;
  }
  i = rootEnd + 1;
  const body: Record<string, unknown> = {};
  const closeRoot = `</${root}>`;
  for (;;) {
    i = skipWs(raw, i);
    if (raw.startsWith(closeRoot, i)) {
      i += closeRoot.length;
      break;
    }
    if (raw.charCodeAt(i) !== 60) return null;
    const gt = raw.indexOf('>', i);
    if (gt < 0) return null;
    let name = raw.slice(i + 1, gt);
    if (name.endsWith('/')) {
      name = name.slice(0, -1).trimEnd();
      if (!NAME_RE.test(name) || name in body) return null;
      body[name] = '';
      i = gt + 1;
      continue;
    }
    if (!NAME_RE.test(name) || name in body) return null;
    if (name === 'identities') {
      const list: string[] = [];
      i = gt + 1;
      for (;;) {
        i = skipWs(raw, i);
        if (raw.startsWith('</identities>', i)) {
          i += 13;
          break;
        }
        if (!raw.startsWith('<identity>', i)) return null;
        const close = raw.indexOf('</identity>', i + 10);
        const lt = raw.indexOf('<', i + 10);
        if (close < 0 || lt !== close) return null;
        list.push(raw.slice(i + 10, close).trim());
        i = close + 11;
      }
      body['identities'] = list.length > 0 ? { identity: list } : '';
      continue;
    }
    const close = raw.indexOf(`</${name}>`, gt + 1);
    const lt = raw.indexOf('<', gt + 1);
    if (close < 0 || lt !== close) return null;
    body[name] = raw.slice(gt + 1, close).trim();
    i = close + name.length + 3;
  }
  return skipWs(raw, i) === raw.length ? body : null;
}

/**
 * The bill of a discharge message the gateway has already accepted (audit replay reads it back
 * from the archive): the same parser and the same mapping as decodeDischarge, without the
 * validation passes that message already went through, so that a million bills re-decode fast.
 * A message that no longer has the shape of a bill (altered in the archive) still fails here.
 */
export function decodeAcceptedDischarge(raw: string): DischargeDecoded {
  let body: unknown = flatBody(raw, 'discharge');
  if (body === null) {
    try {
      body = (parser.parse(raw) as Record<string, unknown> | null)?.['discharge'];
    } catch (e) {
      return {
        ok: false,
        errors: [err('MALFORMED_XML', null, 'parse', e instanceof Error ? e.message : String(e))],
      };
    }
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, errors: [err('WRONG_ROOT', null, 'root:discharge', 'no <discharge>')] };
  }
  const { dto, errors } = toDto(
    DischargeDto,
    body as Record<string, unknown>,
    DISCHARGE_FIELDS,
    ['psn_name', 'certno', 'visit_kind', ...UPSTREAM_FIELDS],
    true,
  );
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, bill: billOf(dto), person: {} };
}

export function decodeDischarge(raw: Buffer | string, opts?: DecodeOptions): DischargeDecoded {
  const pre = preParse(raw, 'discharge', opts);
  if (!pre.ok) return pre;
  const { dto, errors } = toDto(
    DischargeDto,
    pre.body,
    DISCHARGE_FIELDS,
    ['psn_name', 'certno', 'visit_kind', ...UPSTREAM_FIELDS],
    true,
  );
  const missing = new Set(
    errors.filter((e) => e.code === 'MISSING_FIELD').map((e) => e.field ?? ''),
  );
  errors.push(...validationErrors(dto, missing));
  if (errors.length === 0) {
    const [fee, ...parts] = AMOUNT_FIELDS.map((f) => new Decimal(dto[f]));
    const sum = parts.reduce((a, b) => a.plus(b), new Decimal(0));
    if (!sum.equals(fee!)) {
      errors.push(
        err(
          'AMOUNTS_DO_NOT_ADD_UP',
          'medfee_sumamt',
          'medfee_sumamt=fulamt_ownpay_amt+overlmt_selfpay+preselfpay_amt+inscp_scp_amt',
          `medfee_sumamt ${fee!.toFixed(2)} but the parts add up to ${sum.toFixed(2)}`,
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

export function decodeAdmission(
  raw: Buffer | string,
  opts?: DecodeOptions,
): { ok: true; admission: Admission } | { ok: false; errors: DecodeError[] } {
  const pre = preParse(raw, 'admission', opts);
  if (!pre.ok) return pre;
  const { dto, errors } = toDto(AdmissionDto, pre.body, ADMISSION_FIELDS, [], true);
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

export function decodeReversal(
  raw: Buffer | string,
  opts?: DecodeOptions,
): { ok: true; reversal: Reversal } | { ok: false; errors: DecodeError[] } {
  const pre = preParse(raw, 'reversal', opts);
  if (!pre.ok) return pre;
  const { dto, errors } = toDto(
    ReversalDto,
    pre.body,
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

const declarationParser = new XMLParser({
  processEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  trimValues: true,
  ignoreDeclaration: true,
  isArray: (name) => name === 'bill',
});

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
    out[k as DeclaredFund] = normaliseAmount(v);
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
  if (!pre.ok) return pre;
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
