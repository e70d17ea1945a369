/**
 * The JSON Schemas of contracts/events, compiled ONCE per process with ajv (draft 2020-12) and
 * used to validate every event the gateway builds (issue 12 item 3): the contract is the
 * validator, so contract and code cannot drift. Formats are not asserted (`uuid`, `date-time`):
 * each such field carries a pattern in the schema that says the same.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';

export const EVENT_SCHEMAS = {
  settlementEvent: 'settlement-event.v1.schema.json',
  dischargeRejected: 'discharge-rejected.v1.schema.json',
  highBurdenAlert: 'high-burden-alert.v1.schema.json',
  identityChange: 'identity-change.v1.schema.json',
  topupResult: 'topup-result.v1.schema.json',
  archiveHead: 'archive-head.v1.schema.json',
} as const;
export type EventSchema = keyof typeof EVENT_SCHEMAS;

/** contracts/events, found above this file (source tree and build output alike). */
function contractsDir(): string {
  let dir = resolve(__dirname);
  for (;;) {
    const candidate = join(dir, 'contracts', 'events');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const up = resolve(dir, '..');
    if (up === dir) throw new Error(`contracts/events not found above ${__dirname}`);
    dir = up;
  }
}

const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
const compiledSchemas = new Map<EventSchema, ValidateFunction>();

/** The compiled validator of one event schema (compiled on first use, then reused). */
export function eventValidator(name: EventSchema): ValidateFunction {
  let v = compiledSchemas.get(name);
  if (v === undefined) {
    const schema = JSON.parse(
      readFileSync(join(contractsDir(), EVENT_SCHEMAS[name]), 'utf8'),
    ) as object;
    v = ajv.compile(schema);
    compiledSchemas.set(name, v);
  }
  return v;
}

function describe(e: ErrorObject): string {
  const at = e.instancePath === '' ? '(event)' : e.instancePath.slice(1).replace(/\//g, '.');
  const extra =
    e.keyword === 'additionalProperties'
      ? `: ${String((e.params as { additionalProperty?: unknown }).additionalProperty)}`
      : '';
  return `${at}: ${e.message ?? e.keyword}${extra}`;
}

/** What is wrong with `value` under the named schema (empty: it conforms). */
export function schemaErrors(name: EventSchema, value: unknown): string[] {
  const v = eventValidator(name);
  return v(value) ? [] : (v.errors ?? []).map(describe);
}

/** An event the gateway built that its contract refuses: a bug, never sent. */
export class ContractViolation extends Error {
  constructor(
    readonly schema: EventSchema,
    readonly errors: string[],
  ) {
    super(`event violates ${EVENT_SCHEMAS[schema]}: ${errors.join('; ')}`);
  }
}

/** Throws ContractViolation unless `value` conforms to the named schema. */
export function assertConforms(name: EventSchema, value: unknown): void {
  const errors = schemaErrors(name, value);
  if (errors.length > 0) throw new ContractViolation(name, errors);
}
