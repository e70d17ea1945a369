/**
 * Checks an operator-supplied JSON file against its JSON Schema in contracts/ and says every
 * problem on one line each, naming the field and, for an unknown key or value, the names it could
 * be ("ytd.assistancePaid: unknown key 'inpatient_chronic'; known: inpatient-chronic, outpatient").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';

// verbose: the errors carry the schema object they failed, so an unknown key can list the known
const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });

/** The compiled validator of contracts/<file>; compiled once per process ($id is the key). */
export function schemaValidator(root: string, file: string): ValidateFunction {
  const schema = JSON.parse(readFileSync(join(root, 'contracts', file), 'utf8')) as {
    $id?: string;
  };
  // a second RuleBook (a what-if) reuses the compiled schema: ajv refuses an $id twice
  const known = schema.$id === undefined ? undefined : ajv.getSchema(schema.$id);
  return known ?? ajv.compile(schema);
}

/** "/assistancePaid/x" → "assistancePaid.x"; an index into an array of `data` → "[i]". */
function pathOf(instancePath: string, data: unknown): string {
  let out = '';
  let node: unknown = data;
  for (const raw of instancePath.split('/').slice(1)) {
    const p = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out = Array.isArray(node) ? `${out}[${p}]` : out === '' ? p : `${out}.${p}`;
    node =
      typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[p] : undefined;
  }
  return out;
}

/** "ytd.assistancePaid", or "file.json: spending.530502" for a file label. */
export function where(label: string, path: string): string {
  if (path === '') return label;
  return /\.json$/i.test(label) ? `${label}: ${path}` : `${label}.${path}`;
}

function knownKeys(e: ErrorObject): string[] {
  const parent = e.parentSchema as
    | { properties?: Record<string, unknown>; patternProperties?: Record<string, unknown> }
    | undefined;
  const names = Object.keys(parent?.properties ?? {}).filter((k) => k !== '$schema');
  const patterns = Object.keys(parent?.patternProperties ?? {}).map((p) => `/${p}/`);
  return [...names, ...patterns];
}

/** One line per schema problem, `label` prefixed (e.g. "ytd", "figures panzhihua-2024.json"). */
export function describeErrors(
  errors: ErrorObject[] | null | undefined,
  label: string,
  data?: unknown,
): string[] {
  const lines: string[] = [];
  for (const e of errors ?? []) {
    // oneOf/anyOf repeat what their branches said; the branch errors are kept
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'if') continue;
    const at = where(label, pathOf(e.instancePath, data));
    let line: string;
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = (e.params as { additionalProperty: string }).additionalProperty;
        line = `${at}: unknown key '${key}'; known: ${knownKeys(e).join(', ')}`;
        break;
      }
      case 'required':
        line = `${at}: missing '${(e.params as { missingProperty: string }).missingProperty}'`;
        break;
      case 'enum':
        line = `${at}: ${JSON.stringify(e.data)} is not one of ${(
          e.params as { allowedValues: unknown[] }
        ).allowedValues
          .map((v) => JSON.stringify(v))
          .join(', ')}`;
        break;
      case 'const':
        line = `${at}: must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
        break;
      case 'pattern':
        line = `${at}: ${JSON.stringify(e.data)} ${e.message ?? 'is invalid'}`;
        break;
      default:
        line = `${at}: ${e.message ?? 'is invalid'}`;
    }
    if (!lines.includes(line)) lines.push(line);
  }
  return lines;
}

/** Validates `data`; returns the problem lines (empty when valid). */
export function schemaProblems(validate: ValidateFunction, data: unknown, label: string): string[] {
  return validate(data) ? [] : describeErrors(validate.errors, label, data);
}

/** "unknown bucket 'x'; known: a, b" for each key of `keys` not in `known`. */
export function unknownNames(
  keys: Iterable<string>,
  known: Iterable<string>,
  at: string,
  what: string,
): string[] {
  const names = [...new Set(known)].sort();
  const set = new Set(names);
  const out: string[] = [];
  for (const k of keys) {
    if (!set.has(k)) {
      out.push(
        `${at}: unknown ${what} '${k}'; known: ${names.length > 0 ? names.join(', ') : '(none)'}`,
      );
    }
  }
  return out;
}
