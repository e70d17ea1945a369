/**
 * Operator-supplied files other than the rule book's own: a person's year-to-date position
 * (`--ytd`, batch positions) and assumed fund spending (`funds --spending`). Each is checked
 * against its JSON Schema in contracts/ and against the rule set's own names, and every problem
 * is reported on its own line (RuleSetError.problems) before anything is computed.
 */
import { readFileSync } from 'node:fs';
import {
  type Accumulators,
  EngineError,
  type ResolvedRuleSet,
  accumulatorsFrom,
} from '@onebill/engine';
import { projectRoot } from './load';
import { schemaProblems, schemaValidator, unknownNames } from './schemas';
import { RuleSetError } from './types';

/** The names each accumulator map may use: the rule set's groups and buckets. */
export function accumulatorNames(
  rs: ResolvedRuleSet,
): Record<
  'basicDeductibleUsed' | 'basicPaid' | 'assistanceDeductibleUsed' | 'assistancePaid',
  { what: string; names: string[] }
> {
  const tiers = Object.values(rs.basic).flatMap((byClass) => Object.values(byClass));
  return {
    basicDeductibleUsed: {
      what: 'deductible group',
      names: tiers.filter((t) => t.deductiblePer === 'year').map((t) => t.deductibleGroup),
    },
    basicPaid: { what: 'cap group', names: tiers.map((t) => t.capGroup) },
    assistanceDeductibleUsed: {
      what: 'deductible group',
      names: rs.assistance.map((b) => b.deductibleGroup),
    },
    assistancePaid: { what: 'bucket', names: rs.assistance.map((b) => b.name) },
  };
}

/**
 * Problems of a parsed accumulators document for a bill of `year` under `rs`, one line each,
 * prefixed with `label` ("ytd"): schema, then names, then the year.
 */
export function accumulatorProblems(
  data: unknown,
  rs: ResolvedRuleSet,
  year: number,
  label = 'ytd',
): string[] {
  const check = schemaValidator(projectRoot(), 'ruleset/accumulators.v1.schema.json');
  const problems = schemaProblems(check, data, label);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return problems;
  // the names too, in the same run, wherever a map is a map
  const o = data as Record<string, unknown>;
  for (const [map, { what, names }] of Object.entries(accumulatorNames(rs))) {
    const m = o[map];
    if (typeof m === 'object' && m !== null && !Array.isArray(m)) {
      problems.push(...unknownNames(Object.keys(m), names, `${label}.${map}`, what));
    }
  }
  if (typeof o.year === 'number' && o.year !== year) {
    problems.push(
      `${label}.year: accumulators of ${o.year} given for a bill discharged in ${year} (自然年度)`,
    );
  }
  return problems;
}

/** A checked position for a bill of `year` under `rs`; RuleSetError with every problem. */
export function readAccumulators(
  data: unknown,
  rs: ResolvedRuleSet,
  year: number,
  label = 'ytd',
): Accumulators {
  const problems = accumulatorProblems(data, rs, year, label);
  if (problems.length > 0) {
    throw new RuleSetError('INVALID_ACCUMULATORS', label, problems.join('\n'), problems);
  }
  try {
    return accumulatorsFrom(data, year);
  } catch (e) {
    if (e instanceof EngineError) {
      throw new RuleSetError('INVALID_ACCUMULATORS', label, `${label}: ${e.message}`);
    }
    throw e;
  }
}

/** Parses a JSON file, or a RuleSetError naming the file. */
export function readJsonFile(
  path: string,
  code: 'INVALID_ACCUMULATORS' | 'INVALID_FIGURES',
): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RuleSetError(code, null, `${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new RuleSetError(code, null, `${path}: not JSON: ${(e as Error).message}`);
  }
}

/** Problems of a parsed contracts/<schema> document, one line each, prefixed with `label`. */
export function fileProblems(schema: string, data: unknown, label: string): string[] {
  return schemaProblems(schemaValidator(projectRoot(), schema), data, label);
}
