/**
 * Turns a ResolvedRuleSet (strings, as stored and versioned) into the engine's working form
 * (integer fen and basis points), once per rule set. Checks that the data make sense together, so
 * that a bad rule set fails at load, not on the first bill.
 */
import { EngineError } from './errors';
import { type Bp, type Fen, parseBp, parseFen } from './money';
import {
  type AssistanceBucket,
  DEFAULT_READINGS,
  type HospitalLevel,
  type ReadingSettings,
  type Insutype,
  type ResolvedRuleSet,
  type VisitClass,
  VISIT_CLASSES,
  type VisitKindRule,
} from './types';

export interface CBasic {
  deductibleByLevel: Record<HospitalLevel, Fen>;
  ratioByLevel: Record<HospitalLevel, Bp>;
  deductiblePer: 'visit' | 'year';
  deductibleGroup: string;
  annualCap: Fen | null;
  capGroup: string;
}
export interface CSegment {
  /** lower edge on the base above the deductible */
  from: Fen;
  /** upper edge; null = open-ended */
  upTo: Fen | null;
  ratio: Bp;
}
export interface CCritical {
  visitClasses: ReadonlySet<VisitClass>;
  deductible: Fen;
  segments: CSegment[];
  annualCap: Fen | null;
}
export interface CTerms {
  deductible: Fen | null;
  ratio: Bp;
  annualCap: Fen | null;
}
export interface CBucket {
  src: AssistanceBucket;
  visitClasses: ReadonlySet<VisitClass>;
  terms: Map<string, CTerms>;
  exemptClasses: ReadonlySet<VisitClass>;
}
export interface CompiledRuleSet {
  src: ResolvedRuleSet;
  basic: Record<Insutype, Partial<Record<VisitClass, CBasic>>>;
  critical: Record<Insutype, CCritical | null>;
  tilt: { categories: ReadonlySet<string>; deductibleFactor: Bp; ratioAddition: Bp } | null;
  commercial: {
    visitClasses: ReadonlySet<VisitClass>;
    deductible: Fen;
    ratio: Bp;
    annualCap: Fen | null;
  } | null;
  bucketByClass: Map<VisitClass, CBucket>;
  tilted: {
    categories: ReadonlySet<string>;
    visitClasses: ReadonlySet<VisitClass>;
    threshold: Fen;
    ratio: Bp;
    annualCap: Fen | null;
  } | null;
  categoryRank: Map<string, number>;
  readings: ReadingSettings;
  bucketByName: Map<string, CBucket>;
  visitKinds: Map<string, VisitKindRule>;
}

const LEVELS: readonly HospitalLevel[] = ['1', '2', '3'];

function fenOrNull(v: string | null, field: string): Fen | null {
  return v === null ? null : parseFen(v, field);
}

function bad(field: string, message: string): never {
  throw new EngineError('INVALID_RULE_SET', field, 'rule set consistency', message);
}

function compileSegments(
  segments: { upTo: string | null; ratio: string }[],
  field: string,
): CSegment[] {
  if (segments.length === 0) bad(field, `${field} needs at least one segment`);
  const out: CSegment[] = [];
  let from = 0;
  segments.forEach((s, i) => {
    const upTo = fenOrNull(s.upTo, `${field}[${i}].upTo`);
    if (upTo !== null && upTo <= from) bad(field, `${field}[${i}].upTo must rise`);
    if (upTo === null && i !== segments.length - 1)
      bad(field, `${field}: only the last segment is open-ended`);
    out.push({ from, upTo, ratio: parseBp(s.ratio, `${field}[${i}].ratio`) });
    if (upTo !== null) from = upTo;
  });
  return out;
}

export function compileRuleSet(rs: ResolvedRuleSet): CompiledRuleSet {
  const known = new Set(VISIT_CLASSES);
  for (const [medType, vc] of Object.entries(rs.medTypes)) {
    if (!known.has(vc)) bad(`medTypes.${medType}`, `unknown visit class "${String(vc)}"`);
  }
  const categoryRank = new Map(rs.categories.map((c) => [c.code, c.rank]));
  const checkCategory = (code: string, field: string): void => {
    if (!categoryRank.has(code)) bad(field, `${field} names unknown category "${code}"`);
  };

  const basic = {} as CompiledRuleSet['basic'];
  const critical = {} as CompiledRuleSet['critical'];
  for (const insutype of ['390', '310'] as const) {
    const rules = rs.basic[insutype];
    const out: Partial<Record<VisitClass, CBasic>> = {};
    for (const vc of VISIT_CLASSES) {
      const r = rules[vc];
      if (r === undefined) continue;
      const f = `basic.${insutype}.${vc}`;
      const deductibleByLevel = {} as Record<HospitalLevel, Fen>;
      const ratioByLevel = {} as Record<HospitalLevel, Bp>;
      for (const lv of LEVELS) {
        deductibleByLevel[lv] = parseFen(r.deductibleByLevel[lv], `${f}.deductibleByLevel.${lv}`);
        ratioByLevel[lv] = parseBp(r.ratioByLevel[lv], `${f}.ratioByLevel.${lv}`);
      }
      out[vc] = {
        deductibleByLevel,
        ratioByLevel,
        deductiblePer: r.deductiblePer,
        deductibleGroup: r.deductibleGroup,
        annualCap: fenOrNull(r.annualCap, `${f}.annualCap`),
        capGroup: r.capGroup,
      };
    }
    basic[insutype] = out;
    const c = rs.critical[insutype];
    critical[insutype] =
      c === null
        ? null
        : {
            visitClasses: new Set(c.visitClasses),
            deductible: parseFen(c.deductible, `critical.${insutype}.deductible`),
            segments: compileSegments(c.segments, `critical.${insutype}.segments`),
            annualCap: fenOrNull(c.annualCap, `critical.${insutype}.annualCap`),
          };
  }

  const tilt =
    rs.tilt === null
      ? null
      : {
          categories: new Set(rs.tilt.categories),
          deductibleFactor: parseBp(rs.tilt.deductibleFactor, 'tilt.deductibleFactor'),
          ratioAddition: parseBp(rs.tilt.ratioAddition, 'tilt.ratioAddition'),
        };
  rs.tilt?.categories.forEach((c, i) => checkCategory(c, `tilt.categories[${i}]`));

  const commercial =
    rs.commercial === null
      ? null
      : {
          visitClasses: new Set(rs.commercial.visitClasses),
          deductible: parseFen(rs.commercial.deductible, 'commercial.deductible'),
          ratio: parseBp(rs.commercial.ratio, 'commercial.ratio'),
          annualCap: fenOrNull(rs.commercial.annualCap, 'commercial.annualCap'),
        };

  const bucketByClass = new Map<VisitClass, CBucket>();
  const bucketByName = new Map<string, CBucket>();
  rs.assistance.forEach((b, i) => {
    const terms = new Map<string, CTerms>();
    for (const [code, t] of Object.entries(b.terms)) {
      const f = `assistance[${i}].terms.${code}`;
      checkCategory(code, f);
      terms.set(code, {
        deductible: fenOrNull(t.deductible, `${f}.deductible`),
        ratio: parseBp(t.ratio, `${f}.ratio`),
        annualCap: fenOrNull(t.annualCap, `${f}.annualCap`),
      });
    }
    const cb: CBucket = {
      src: b,
      visitClasses: new Set(b.visitClasses),
      terms,
      exemptClasses: new Set(b.referralExempt.visitClasses),
    };
    bucketByName.set(b.name, cb);
    for (const vc of b.visitClasses) {
      if (bucketByClass.has(vc))
        bad(`assistance[${i}]`, `visit class ${vc} is in two assistance buckets`);
      bucketByClass.set(vc, cb);
    }
  });

  const tilted =
    rs.tilted === null
      ? null
      : {
          categories: new Set(rs.tilted.categories),
          visitClasses: new Set(rs.tilted.visitClasses),
          threshold: parseFen(rs.tilted.threshold, 'tilted.threshold'),
          ratio: parseBp(rs.tilted.ratio, 'tilted.ratio'),
          annualCap: fenOrNull(rs.tilted.annualCap, 'tilted.annualCap'),
        };
  rs.tilted?.categories.forEach((c, i) => checkCategory(c, `tilted.categories[${i}]`));

  const readings: ReadingSettings = { ...DEFAULT_READINGS, ...rs.readings };

  const visitKinds = new Map<string, VisitKindRule>();
  for (const [kind, k] of Object.entries(rs.visitKinds ?? {})) {
    if (k === undefined) continue;
    if (!known.has(k.visitClass))
      bad(`visitKinds.${kind}`, `unknown visit class "${k.visitClass}"`);
    if (k.bucket !== null && !bucketByName.has(k.bucket))
      bad(`visitKinds.${kind}.bucket`, `unknown assistance bucket "${k.bucket}"`);
    for (const m of k.medTypes)
      if (rs.medTypes[m] === undefined)
        bad(`visitKinds.${kind}.medTypes`, `med_type ${m} is not settled here`);
    visitKinds.set(kind, k);
  }

  return {
    src: rs,
    basic,
    critical,
    tilt,
    commercial,
    bucketByClass,
    tilted,
    categoryRank,
    readings,
    bucketByName,
    visitKinds,
  };
}
