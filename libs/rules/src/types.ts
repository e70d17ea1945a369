/** The rule-set and yearly-figures files as stored (contracts/ruleset/*.schema.json). */
import type {
  CommercialRule,
  Category,
  FundCodes,
  HospitalLevel,
  Insutype,
  ReadingSettings,
  Segment,
  VisitClass,
  VisitKind,
  VisitKindRule,
} from '@onebill/engine';

/** A money amount, or a percentage of one of the year's figures (e.g. 5 % of PCDI). */
export type AmountSpec = string | { pctOfFigure: string; figure: string };

export interface BasicTierFile {
  deductibleByLevel: Record<HospitalLevel, string>;
  ratioByLevel: Record<HospitalLevel, string>;
  deductiblePer: 'visit' | 'year';
  deductibleGroup: string;
  annualCap: string | null;
  capGroup: string;
}

/** One named reading of an open clause: the choice, its article and why (docs/adr/0004). */
export interface ReadingChoice<T extends string> {
  value: T;
  article: string;
  why: string;
}

/** The rule set's readings of open clauses; an absent one takes the default (DEFAULT_READINGS). */
export interface ReadingChoices {
  tiltedBurdenWhile?: ReadingChoice<ReadingSettings['tiltedBurdenWhile']>;
  tiltedBurdenVisits?: ReadingChoice<ReadingSettings['tiltedBurdenVisits']>;
  identityTie?: ReadingChoice<ReadingSettings['identityTie']>;
  /**
   * The assistance bucket emergency visits (visit class "emergency") count in, or "none": it
   * replaces "emergency" in the buckets' visitClasses. Absent: the buckets as listed.
   */
  emergencyBucket?: ReadingChoice<string>;
}

export interface RuleSetFile {
  region: string;
  name: string;
  version: string;
  /**
   * A later version of the same rules replaced this one (e.g. a reading changed): it is kept only
   * so that audit replay reproduces the settlements stored under it; new bills never get it.
   */
  supersededBy?: string;
  /** the readings of the open clauses (docs/adr/0004) */
  settings?: ReadingChoices;
  /** how each visit kind the articles name counts (002 第九条); a kind absent is refused */
  visitKinds?: Partial<Record<VisitKind, VisitKindRule>>;
  effectiveFrom: string;
  effectiveTo: string | null;
  pcdiScope: string;
  requiredFigures: string[];
  figureMinimums: { figure: string; atLeast: string; article: string }[];
  medTypes: Record<string, VisitClass>;
  categories: Category[];
  insurance: {
    example: boolean;
    source: string;
    basic: Record<Insutype, Partial<Record<VisitClass, BasicTierFile>>>;
    critical: Record<
      Insutype,
      {
        visitClasses: VisitClass[];
        deductible: string;
        segments: Segment[];
        annualCap: string | null;
      } | null
    >;
    commercial: CommercialRule | null;
  };
  tilt: { categories: string[]; deductibleFactor: string; ratioAddition: string } | null;
  assistance: {
    name: string;
    visitClasses: VisitClass[];
    deductibleGroup: string;
    referralRequired: boolean;
    referralExempt: { visitClasses: VisitClass[]; followUp: boolean };
    article: string;
    terms: Record<
      string,
      { deductible: AmountSpec | null; ratio: string; annualCap: AmountSpec | null }
    >;
  }[];
  tilted: {
    categories: string[];
    visitClasses: VisitClass[];
    requiresReferral: boolean;
    requiresInProvince: boolean;
    threshold: AmountSpec;
    ratio: string;
    annualCap: AmountSpec | null;
    article: string;
  } | null;
  depositWaiver: {
    categories: string[];
    visitClasses: VisitClass[];
    requiresReferral: boolean;
    article: string;
  } | null;
  retroactive: { from: 'identification-date' | 'calendar-year'; article: string };
  highBurden: { share: string; figure: string; article: string } | null;
  /**
   * The subsidy on a person's individual contribution (004 第六条, 002 第八条): per category a
   * share of the contribution figure, or a fixed amount figure. Figures are yearly data.
   */
  enrollmentSubsidy: {
    contributionFigure: string;
    byCategory: Record<string, { share: string } | { fixedFigure: string }>;
    article: string;
  } | null;
  fundCodes: Record<Insutype, FundCodes>;
  articles: {
    basic: string;
    critical: string;
    tilt: string;
    commercial: string;
    order: string;
    identities: string;
  };
  readings: string[];
}

export interface FiguresFile {
  region: string;
  year: number;
  revision: number;
  example: boolean;
  note: string;
  figures: Record<string, { amount: string; ofYear?: number; what: string; source?: string }>;
}

/** A rule set or figures problem: names what is missing or wrong. */
export class RuleSetError extends Error {
  constructor(
    readonly code:
      | 'UNKNOWN_REGION'
      | 'NO_RULE_SET_IN_FORCE'
      | 'NO_FIGURES_FOR_YEAR'
      | 'MISSING_FIGURE'
      | 'FIGURE_BELOW_MINIMUM'
      | 'INVALID_RULE_SET'
      | 'INVALID_FIGURES'
      | 'OVERLAPPING_RULE_SETS'
      | 'UNKNOWN_RULE_SET_VERSION'
      | 'FIGURES_REVISION_UNAVAILABLE'
      | 'NO_ENROLLMENT_SUBSIDY'
      | 'INVALID_REGISTRY'
      | 'INVALID_ACCUMULATORS',
    readonly field: string | null,
    message: string,
    /** every problem found, one line each (a file is checked whole before it is refused) */
    readonly problems: readonly string[] = [message],
  ) {
    super(message);
    this.name = 'RuleSetError';
  }
}
