/**
 * `identity.changes.v1`: a change of a person's assistance identity pushed by civil affairs,
 * rural revitalization or a union (002 第二十八条; 004 第十九条), keyed by `psn_no`. JSON Schema:
 * contracts/events/identity-change.v1.schema.json. One change is one (issuer, reference): the
 * same change delivered twice is one change. An identity that ends is the same period sent again
 * with its `valid_to`.
 *
 * Hand-written validator (no prototype trust, no coercion); errors name the field and the rule.
 */
export interface IdentityChange {
  /** the issuing department, e.g. civil-affairs, rural-revitalization, union */
  issuer: string;
  /** the issuer's reference of the decision (文号), unique per issuer */
  reference: string;
  psn_no: string;
  /** the county (admdvs) where the person is registered */
  admdvs: string;
  /** the category code of the rule sets (tekun, guer, dibao, monitored, …) */
  category: string;
  /** the identification date: in force from */
  valid_from: string;
  /** in force until (inclusive); null = open */
  valid_to: string | null;
}

export interface IdentityProblem {
  field: string;
  rule: string;
  message: string;
}

const KEYS = ['issuer', 'reference', 'psn_no', 'admdvs', 'category', 'valid_from', 'valid_to'];
const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

function realDate(s: string): boolean {
  if (!DATE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/**
 * Decodes one message. `categories` are the codes the rule sets know: an unknown category is a
 * problem, not a silent no-op.
 */
export function decodeIdentityChange(
  raw: string,
  categories: ReadonlySet<string>,
): { ok: true; change: IdentityChange } | { ok: false; problems: IdentityProblem[] } {
  let input: unknown;
  try {
    input = JSON.parse(raw);
  } catch (e) {
    return {
      ok: false,
      problems: [
        { field: '(message)', rule: 'JSON', message: `not JSON: ${(e as Error).message}` },
      ],
    };
  }
  return identityChangeOf(input, categories);
}

/**
 * A JSON value (the transport's parser already read it: the HTTP body) to the identity change;
 * the same rules as decodeIdentityChange.
 */
export function identityChangeOf(
  input: unknown,
  categories: ReadonlySet<string>,
): { ok: true; change: IdentityChange } | { ok: false; problems: IdentityProblem[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return {
      ok: false,
      problems: [{ field: '(message)', rule: 'object', message: 'expected a JSON object' }],
    };
  }
  const o = input as Record<string, unknown>;
  const problems: IdentityProblem[] = [];
  for (const k of Object.keys(o)) {
    if (!KEYS.includes(k))
      problems.push({ field: k, rule: 'whitelist', message: `unknown field ${k}` });
  }
  const text = (k: string, re: RegExp, rule: string): string => {
    const v = Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
    if (v === undefined || v === null || v === '') {
      problems.push({ field: k, rule: 'required', message: `${k} is required` });
      return '';
    }
    if (typeof v !== 'string' || !re.test(v)) {
      problems.push({ field: k, rule, message: `${k} must be ${rule}` });
      return '';
    }
    return v;
  };
  const change: IdentityChange = {
    issuer: text('issuer', /^[a-z][a-z0-9-]{1,39}$/, 'a department code like civil-affairs'),
    reference: text('reference', /^\S(.{0,126}\S)?$/u, 'a reference of 1–128 characters'),
    psn_no: text('psn_no', /^[A-Za-z0-9-]{1,64}$/, 'a person number'),
    admdvs: text('admdvs', /^\d{6}$/, 'a six-digit admdvs'),
    category: text('category', /^[a-z_]{2,40}$/, 'a category code'),
    valid_from: text('valid_from', DATE, 'a date YYYY-MM-DD'),
    valid_to: null,
  };
  if (change.valid_from !== '' && !realDate(change.valid_from)) {
    problems.push({
      field: 'valid_from',
      rule: 'a real date',
      message: `${change.valid_from} is no date`,
    });
  }
  if (change.category !== '' && !categories.has(change.category)) {
    problems.push({
      field: 'category',
      rule: 'a category of the rule sets',
      message: `unknown category ${change.category}; known: ${[...categories].sort().join(', ')}`,
    });
  }
  const to = o['valid_to'];
  if (to !== undefined && to !== null) {
    if (typeof to !== 'string' || !realDate(to)) {
      problems.push({
        field: 'valid_to',
        rule: 'a date YYYY-MM-DD or null',
        message: 'valid_to must be a date or null',
      });
    } else if (change.valid_from !== '' && to < change.valid_from) {
      problems.push({
        field: 'valid_to',
        rule: 'valid_to >= valid_from',
        message: `valid_to ${to} is before valid_from ${change.valid_from}`,
      });
    } else change.valid_to = to;
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, change };
}
