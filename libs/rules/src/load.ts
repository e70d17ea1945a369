/**
 * Reads the versioned rule sets, the operator's yearly figures and the registry of designated
 * institutions, validates each file against its schema in contracts/, and answers "which rules
 * apply to this bill". Everything is checked at start: a bad file stops the start with the file,
 * the field and what is wrong.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EnrollmentSubsidyRule, ResolvedRuleSet } from '@onebill/engine';
import { resolveEnrollmentSubsidy, resolveRuleSet } from './resolve';
import { schemaProblems, schemaValidator, unknownNames, where } from './schemas';
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
  /** default: config/figures (the gateway's config passes ONEBILL_FIGURES_DIR) */
  figuresDir?: string;
  /** extra figures files; they replace a file of the same region and year from figuresDir */
  figuresFiles?: string[];
  /** default: config/hospitals.json (the gateway's config passes ONEBILL_REGISTRY) */
  registryFile?: string;
}

type FileCode = 'INVALID_RULE_SET' | 'INVALID_FIGURES' | 'INVALID_REGISTRY';

function throwIf(code: FileCode, problems: string[]): void {
  if (problems.length > 0) throw new RuleSetError(code, null, problems.join('\n'), problems);
}

function readJson(path: string, problems: string[]): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (e) {
    problems.push(`${path}: ${(e as Error).message}`);
    return undefined;
  }
}

/** Every figure name a rule set refers to ({pctOfFigure, figure}, minimums, subsidy, alert). */
function figureNames(rs: RuleSetFile): Set<string> {
  const names = new Set<string>(rs.requiredFigures);
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>;
      if (typeof o.pctOfFigure === 'string' && typeof o.figure === 'string') names.add(o.figure);
      Object.values(o).forEach(walk);
    }
  };
  walk(rs);
  for (const m of rs.figureMinimums) names.add(m.figure).add(m.atLeast);
  if (rs.highBurden !== null) names.add(rs.highBurden.figure);
  if (rs.enrollmentSubsidy !== null) {
    names.add(rs.enrollmentSubsidy.contributionFigure);
    for (const t of Object.values(rs.enrollmentSubsidy.byCategory))
      if ('fixedFigure' in t) names.add(t.fixedFigure);
  }
  return names;
}

/** The names a rule set uses must be its own: categories, buckets (the schema cannot say this). */
function ruleSetNameProblems(rs: RuleSetFile, at: string): string[] {
  const codes = rs.categories.map((c) => c.code);
  const out: string[] = [];
  const dup = (list: string[], what: string, field: string): void => {
    const seen = new Set<string>();
    for (const x of list) {
      if (seen.has(x)) out.push(where(at, `${field}: duplicate ${what} '${x}'`));
      seen.add(x);
    }
  };
  dup(codes, 'category', 'categories');
  dup(
    rs.categories.map((c) => String(c.rank)),
    'rank',
    'categories',
  );
  const buckets = rs.assistance.map((b) => b.name);
  dup(buckets, 'bucket', 'assistance');
  out.push(
    ...unknownNames(rs.tilt?.categories ?? [], codes, where(at, 'tilt.categories'), 'category'),
  );
  out.push(
    ...unknownNames(rs.tilted?.categories ?? [], codes, where(at, 'tilted.categories'), 'category'),
  );
  out.push(
    ...unknownNames(
      rs.depositWaiver?.categories ?? [],
      codes,
      where(at, 'depositWaiver.categories'),
      'category',
    ),
  );
  out.push(
    ...unknownNames(
      Object.keys(rs.enrollmentSubsidy?.byCategory ?? {}),
      codes,
      where(at, 'enrollmentSubsidy.byCategory'),
      'category',
    ),
  );
  rs.assistance.forEach((b, i) =>
    out.push(
      ...unknownNames(Object.keys(b.terms), codes, where(at, `assistance[${i}].terms`), 'category'),
    ),
  );
  for (const [kind, k] of Object.entries(rs.visitKinds ?? {})) {
    if (k === undefined) continue;
    if (k.bucket !== null) {
      out.push(
        ...unknownNames([k.bucket], buckets, where(at, `visitKinds.${kind}.bucket`), 'bucket'),
      );
    }
    out.push(
      ...unknownNames(
        k.medTypes,
        Object.keys(rs.medTypes),
        where(at, `visitKinds.${kind}.medTypes`),
        'med_type',
      ),
    );
  }
  const emergency = rs.settings?.emergencyBucket?.value;
  if (emergency !== undefined && emergency !== 'none') {
    out.push(
      ...unknownNames(
        [emergency],
        [...buckets, 'none'],
        where(at, 'settings.emergencyBucket.value'),
        'bucket',
      ),
    );
  }
  return out;
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
    // the library reads no environment: an app's configuration passes the folders it was given
    const figuresDir = opts.figuresDir ?? join(root, 'config/figures');
    const registryFile = opts.registryFile ?? join(root, 'config/hospitals.json');
    const checkRuleSet = schemaValidator(root, 'ruleset/ruleset.v1.schema.json');
    const checkFigures = schemaValidator(root, 'ruleset/figures.v1.schema.json');
    const checkRegistry = schemaValidator(root, 'registry/hospitals.v1.schema.json');

    // every file is checked whole, and every problem of every file is reported at once
    const ruleSetProblems: string[] = [];
    const ruleSets: RuleSetFile[] = [];
    for (const f of readdirSync(ruleSetDir)
      .filter((n) => n.endsWith('.json'))
      .sort()) {
      const path = join(ruleSetDir, f);
      const data = readJson(path, ruleSetProblems);
      if (data === undefined) continue;
      const found = schemaProblems(checkRuleSet, data, path);
      if (found.length === 0) found.push(...ruleSetNameProblems(data as RuleSetFile, path));
      if (found.length === 0) ruleSets.push(data as RuleSetFile);
      ruleSetProblems.push(...found);
    }
    const versions = new Set<string>();
    for (const r of ruleSets) {
      if (versions.has(r.version)) ruleSetProblems.push(`rule set version ${r.version}: twice`);
      versions.add(r.version);
    }
    // (a superseded file's successor may be one of the files refused above: say that only)
    for (const r of ruleSetProblems.length > 0 ? [] : ruleSets) {
      if (r.supersededBy !== undefined && !versions.has(r.supersededBy)) {
        ruleSetProblems.push(
          `rule set ${r.version}.supersededBy: unknown version '${r.supersededBy}'; known: ${[...versions].sort().join(', ')}`,
        );
      }
    }
    throwIf('INVALID_RULE_SET', ruleSetProblems);

    const regions = [...new Set(ruleSets.map((r) => r.region))].sort();
    const figureProblems: string[] = [];
    const byKey = new Map<string, FiguresFile>();
    const readFigures = (path: string): void => {
      const data = readJson(path, figureProblems);
      if (data === undefined) return;
      const found = schemaProblems(checkFigures, data, path);
      if (found.length === 0) {
        const f = data as FiguresFile;
        const mine = ruleSets.filter((r) => r.region === f.region);
        if (mine.length === 0) {
          found.push(
            where(path, `region: unknown region '${f.region}'; known: ${regions.join(', ')}`),
          );
        } else {
          const known = new Set(mine.flatMap((r) => [...figureNames(r)]));
          found.push(
            ...unknownNames(Object.keys(f.figures), known, where(path, 'figures'), 'figure'),
          );
        }
        if (found.length === 0) byKey.set(`${f.region}:${f.year}`, f);
      }
      figureProblems.push(...found);
    };
    if (existsSync(figuresDir)) {
      for (const f of readdirSync(figuresDir)
        .filter((n) => n.endsWith('.json'))
        .sort()) {
        readFigures(join(figuresDir, f));
      }
    }
    for (const path of opts.figuresFiles ?? []) readFigures(path);
    throwIf('INVALID_FIGURES', figureProblems);

    const registryProblems: string[] = [];
    const registry = readJson(registryFile, registryProblems);
    if (registry !== undefined) {
      registryProblems.push(...schemaProblems(checkRegistry, registry, registryFile));
    }
    if (registryProblems.length === 0) {
      const seen = new Set<string>();
      (registry as RegistryFile).hospitals.forEach((h, i) => {
        const at = where(registryFile, `hospitals[${i}]`);
        if (seen.has(h.fixmedins_code))
          registryProblems.push(where(at, `fixmedins_code: duplicate '${h.fixmedins_code}'`));
        seen.add(h.fixmedins_code);
        registryProblems.push(...unknownNames([h.region], regions, where(at, 'region'), 'region'));
      });
    }
    throwIf('INVALID_REGISTRY', registryProblems);

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

  /**
   * The identity category codes of `region`'s rule sets that are not superseded, in their files'
   * order (what a simulated hospital of the region sends); [] for an unknown region.
   */
  categoriesOf(region: string): string[] {
    const codes = this.ruleSets
      .filter((r) => r.region === region && r.supersededBy === undefined)
      .flatMap((r) => r.categories.map((c) => c.code));
    return [...new Set(codes)];
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
    const sets = this.ruleSets.filter((r) => r.region === region && r.supersededBy === undefined);
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
        // a superseded version is kept for replay only: it is never in force for a new bill
        if (a.supersededBy !== undefined || b.supersededBy !== undefined) continue;
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
