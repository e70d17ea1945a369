/**
 * Reads the versioned rule sets, the operator's yearly figures and the registry of designated
 * institutions, validates each file against its schema in contracts/, and answers "which rules
 * apply to this bill". Everything is checked at start: a bad file stops the start with the file,
 * the field and what is wrong.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { EnrollmentSubsidyRule, ResolvedRuleSet } from '@onebill/engine';
import { resolveEnrollmentSubsidy, resolveRuleSet } from './resolve';
import { type FiguresFile, type RuleSetFile, RuleSetError } from './types';

export interface Hospital {
  fixmedins_code: string;
  name: string;
  admdvs: string;
  county: string;
  level: '1' | '2' | '3';
  region: string;
}

interface RegistryFile {
  revision: number;
  example: boolean;
  note: string;
  hospitals: Hospital[];
}

/** The folder holding package.json of this project, found from this file's location. */
export function projectRoot(from: string = __dirname): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'contracts'))) return dir;
    const up = resolve(dir, '..');
    if (up === dir) throw new Error(`cannot find the project root above ${from}`);
    dir = up;
  }
}

export interface RuleBookOptions {
  /** default: libs/rules/rulesets */
  ruleSetDir?: string;
  /** default: config/figures, or ONEBILL_FIGURES_DIR */
  figuresDir?: string;
  /** extra figures files; they replace a file of the same region and year from figuresDir */
  figuresFiles?: string[];
  /** default: config/hospitals.json, or ONEBILL_REGISTRY */
  registryFile?: string;
}

const ajv = new Ajv({ allErrors: true, strict: false });

function validator(root: string, file: string): ValidateFunction {
  const schema = JSON.parse(readFileSync(join(root, 'contracts', file), 'utf8')) as {
    $id?: string;
  };
  // a second RuleBook (a what-if) reuses the compiled schema: ajv refuses an $id twice
  const known = schema.$id === undefined ? undefined : ajv.getSchema(schema.$id);
  return known ?? ajv.compile(schema);
}

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 10)
    .map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`)
    .join('; ');
}

function readJson(path: string, code: 'INVALID_RULE_SET' | 'INVALID_FIGURES'): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (e) {
    throw new RuleSetError(code, null, `${path}: ${(e as Error).message}`);
  }
}

export class RuleBook {
  private readonly resolved = new Map<string, ResolvedRuleSet>();
  private readonly hospitals: Map<string, Hospital>;

  private constructor(
    readonly ruleSets: RuleSetFile[],
    readonly figures: FiguresFile[],
    hospitals: Hospital[],
  ) {
    this.hospitals = new Map(hospitals.map((h) => [h.fixmedins_code, h]));
  }

  static load(opts: RuleBookOptions = {}): RuleBook {
    const root = projectRoot();
    const ruleSetDir = opts.ruleSetDir ?? join(root, 'libs/rules/rulesets');
    const figuresDir =
      opts.figuresDir ?? process.env.ONEBILL_FIGURES_DIR ?? join(root, 'config/figures');
    const registryFile =
      opts.registryFile ?? process.env.ONEBILL_REGISTRY ?? join(root, 'config/hospitals.json');
    const checkRuleSet = validator(root, 'ruleset/ruleset.v1.schema.json');
    const checkFigures = validator(root, 'ruleset/figures.v1.schema.json');
    const checkRegistry = validator(root, 'registry/hospitals.v1.schema.json');

    const ruleSets = readdirSync(ruleSetDir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => {
        const path = join(ruleSetDir, f);
        const data = readJson(path, 'INVALID_RULE_SET');
        if (!checkRuleSet(data)) {
          throw new RuleSetError(
            'INVALID_RULE_SET',
            null,
            `${path}: ${describe(checkRuleSet.errors)}`,
          );
        }
        return data as RuleSetFile;
      });

    const byKey = new Map<string, FiguresFile>();
    const readFigures = (path: string): void => {
      const data = readJson(path, 'INVALID_FIGURES');
      if (!checkFigures(data)) {
        throw new RuleSetError(
          'INVALID_FIGURES',
          null,
          `${path}: ${describe(checkFigures.errors)}`,
        );
      }
      const f = data as FiguresFile;
      byKey.set(`${f.region}:${f.year}`, f);
    };
    if (existsSync(figuresDir)) {
      for (const f of readdirSync(figuresDir)
        .filter((n) => n.endsWith('.json'))
        .sort()) {
        readFigures(join(figuresDir, f));
      }
    }
    for (const path of opts.figuresFiles ?? []) readFigures(path);

    const registry = readJson(registryFile, 'INVALID_RULE_SET');
    if (!checkRegistry(registry)) {
      throw new RuleSetError(
        'INVALID_RULE_SET',
        null,
        `${registryFile}: ${describe(checkRegistry.errors)}`,
      );
    }

    const book = new RuleBook(ruleSets, [...byKey.values()], (registry as RegistryFile).hospitals);
    book.checkOverlaps();
    // resolve every rule set against every figures file of its years now: bad data stops the start
    for (const f of book.figures) {
      for (const rs of book.ruleSets.filter(
        (r) => r.region === f.region && overlapsYear(r, f.year),
      )) {
        book.cache(rs, f);
      }
    }
    return book;
  }

  regions(): string[] {
    return [...new Set(this.ruleSets.map((r) => r.region))].sort();
  }

  hospital(code: string): Hospital | undefined {
    return this.hospitals.get(code);
  }

  allHospitals(): Hospital[] {
    return [...this.hospitals.values()];
  }

  /** Every identity category's name by its code, over all rule sets (the console's labels). */
  categoryNames(): Record<string, string> {
    const names: Record<string, string> = {};
    for (const rs of this.ruleSets) for (const c of rs.categories) names[c.code] ??= c.name;
    return names;
  }

  /** The rule set in force in `region` on `date` (YYYY-MM-DD) with that year's figures applied. */
  resolve(region: string, date: string): ResolvedRuleSet {
    const { rs, figures } = this.inForce(region, date);
    return this.cache(rs, figures);
  }

  /**
   * The enrollment subsidy of the rule set in force in `region` on `date`, with the year's
   * contribution and fixed amounts (004 第六条, 002 第八条).
   */
  enrollmentSubsidyRule(region: string, date: string): EnrollmentSubsidyRule {
    const { rs, figures } = this.inForce(region, date);
    const rule = resolveEnrollmentSubsidy(rs, figures);
    if (rule === null) {
      throw new RuleSetError(
        'NO_ENROLLMENT_SUBSIDY',
        'region',
        `rule set ${rs.version} of ${region} has no enrollment subsidy`,
      );
    }
    return rule;
  }

  /** The rule-set file in force in `region` on `date` and the figures of that year. */
  private inForce(region: string, date: string): { rs: RuleSetFile; figures: FiguresFile } {
    const sets = this.ruleSets.filter((r) => r.region === region);
    if (sets.length === 0) {
      throw new RuleSetError(
        'UNKNOWN_REGION',
        'region',
        `no rule set for region "${region}"; known regions: ${this.regions().join(', ')}`,
      );
    }
    const rs = sets.find(
      (r) => r.effectiveFrom <= date && (r.effectiveTo === null || date <= r.effectiveTo),
    );
    if (rs === undefined) {
      throw new RuleSetError(
        'NO_RULE_SET_IN_FORCE',
        'endtime',
        `no ${region} rule set in force on ${date}; in force: ${sets
          .map((r) => `${r.version} ${r.effectiveFrom}…${r.effectiveTo ?? ''}`)
          .join(', ')}`,
      );
    }
    return { rs, figures: this.figuresFor(rs, date) };
  }

  /** The figures of the year of `date` for a rule set's region, or NO_FIGURES_FOR_YEAR. */
  private figuresFor(rs: RuleSetFile, date: string): FiguresFile {
    const year = Number.parseInt(date.slice(0, 4), 10);
    const figures = this.figures.find((f) => f.region === rs.region && f.year === year);
    if (figures === undefined) {
      throw new RuleSetError(
        'NO_FIGURES_FOR_YEAR',
        'endtime',
        `no yearly figures for ${rs.region} ${year}: add config/figures/${rs.region}-${year}.json (PCDI of ${year - 1}${
          rs.requiredFigures.length > 0 ? `; needs ${rs.requiredFigures.join(', ')}` : ''
        })`,
      );
    }
    return figures;
  }

  /**
   * A named rule-set version with the figures of the year of `date` (YYYY-MM-DD): what audit
   * replay uses, since a settlement records the version it was computed with.
   */
  resolveVersion(stored: string, date: string): ResolvedRuleSet {
    // a settlement stores "<rule-set version>+figures-<year>.<revision>" (resolve.ts)
    const [version, figuresPart] = stored.split('+figures-') as [string, string | undefined];
    const rs = this.ruleSets.find((r) => r.version === version);
    if (rs === undefined) {
      throw new RuleSetError(
        'UNKNOWN_RULE_SET_VERSION',
        'rule_set_version',
        `no rule set of version "${version}"; known: ${this.ruleSets.map((r) => r.version).join(', ')}`,
      );
    }
    const figures = this.figuresFor(rs, date);
    if (figuresPart !== undefined && figuresPart !== `${figures.year}.${figures.revision}`) {
      throw new RuleSetError(
        'FIGURES_REVISION_UNAVAILABLE',
        'rule_set_version',
        `settled with figures ${figuresPart} of ${rs.region}, loaded are ${figures.year}.${figures.revision}: load the earlier figures file to replay it`,
      );
    }
    return this.cache(rs, figures);
  }

  private cache(rs: RuleSetFile, f: FiguresFile): ResolvedRuleSet {
    const key = `${rs.version}|${f.region}:${f.year}`;
    let r = this.resolved.get(key);
    if (r === undefined) {
      r = resolveRuleSet(rs, f);
      this.resolved.set(key, r);
    }
    return r;
  }

  private checkOverlaps(): void {
    for (const a of this.ruleSets) {
      for (const b of this.ruleSets) {
        if (a === b || a.region !== b.region || a.version >= b.version) continue;
        const aEnd = a.effectiveTo ?? '9999-12-31';
        const bEnd = b.effectiveTo ?? '9999-12-31';
        if (a.effectiveFrom <= bEnd && b.effectiveFrom <= aEnd) {
          throw new RuleSetError(
            'OVERLAPPING_RULE_SETS',
            'effectiveFrom',
            `rule sets ${a.version} and ${b.version} of ${a.region} are both in force on some day`,
          );
        }
      }
    }
  }
}

function overlapsYear(rs: RuleSetFile, year: number): boolean {
  return (
    rs.effectiveFrom <= `${year}-12-31` &&
    (rs.effectiveTo === null || `${year}-01-01` <= rs.effectiveTo)
  );
}
