/**
 * Applies a year's figures to a rule set: every {pctOfFigure, figure} becomes an amount, rounded
 * half-up to the fen here — the named rounding point for thresholds (docs/adr/0002).
 * Pure: no file system; the loader reads and validates the files.
 */
import {
  type AssistanceTerms,
  DEFAULT_READINGS,
  type EnrollmentSubsidyRule,
  type ResolvedRuleSet,
  compileRuleSet,
} from '@onebill/engine';
import { type Dec, formatDecimal, parseAmount, shareOf } from '@onebill/money';
import { type AmountSpec, type FiguresFile, type RuleSetFile, RuleSetError } from './types';

function figure(figures: FiguresFile, name: string, field: string): Dec {
  const f = figures.figures[name];
  if (f === undefined) {
    throw new RuleSetError(
      'MISSING_FIGURE',
      `figures.${name}`,
      `${field} needs the figure "${name}", which the ${figures.region} figures of ${figures.year} do not give`,
    );
  }
  return parseAmount(f.amount, `figures.${name}.amount`);
}

function amount(spec: AmountSpec, figures: FiguresFile, field: string): string {
  if (typeof spec === 'string') return spec;
  return shareOf(spec.pctOfFigure, figure(figures, spec.figure, field));
}

const amountOrNull = (
  spec: AmountSpec | null,
  figures: FiguresFile,
  field: string,
): string | null => (spec === null ? null : amount(spec, figures, field));

/**
 * A bucket's visit classes with the emergencyBucket reading applied: "emergency" goes to the named
 * bucket only ("none": to no bucket); without the setting, the buckets as listed.
 */
function bucketClasses(
  rs: RuleSetFile,
  bucket: string,
  listed: RuleSetFile['assistance'][number]['visitClasses'],
): RuleSetFile['assistance'][number]['visitClasses'] {
  const chosen = rs.settings?.emergencyBucket?.value;
  if (chosen === undefined) return listed;
  const others = listed.filter((vc) => vc !== 'emergency');
  return chosen === bucket ? [...others, 'emergency'] : others;
}

export function resolveRuleSet(rs: RuleSetFile, figures: FiguresFile): ResolvedRuleSet {
  if (rs.region !== figures.region) {
    throw new RuleSetError(
      'INVALID_FIGURES',
      'region',
      `figures of ${figures.region} given for rule set ${rs.version} of ${rs.region}`,
    );
  }
  for (const name of rs.requiredFigures) figure(figures, name, `rule set ${rs.version}`);
  for (const m of rs.figureMinimums) {
    const value = figure(figures, m.figure, `figureMinimums`);
    const floor = figure(figures, m.atLeast, `figureMinimums`);
    if (value.lessThan(floor)) {
      throw new RuleSetError(
        'FIGURE_BELOW_MINIMUM',
        `figures.${m.figure}`,
        `${m.figure} ${formatDecimal(value)} of ${figures.region} ${figures.year} is below ${m.atLeast} ${formatDecimal(floor)} (${m.article})`,
      );
    }
  }
  const resolved: ResolvedRuleSet = {
    version: `${rs.version}+figures-${figures.year}.${figures.revision}`,
    region: rs.region,
    year: figures.year,
    medTypes: rs.medTypes,
    categories: rs.categories,
    basic: rs.insurance.basic,
    critical: rs.insurance.critical,
    tilt: rs.tilt,
    depositWaiver: rs.depositWaiver,
    retroactive: rs.retroactive,
    highBurden:
      rs.highBurden === null
        ? null
        : {
            share: rs.highBurden.share,
            figure: rs.highBurden.figure,
            threshold: shareOf(
              rs.highBurden.share,
              figure(figures, rs.highBurden.figure, 'highBurden.figure'),
            ),
            article: rs.highBurden.article,
          },
    commercial: rs.insurance.commercial,
    assistance: rs.assistance.map((b, i) => ({
      ...b,
      visitClasses: bucketClasses(rs, b.name, b.visitClasses),
      terms: Object.fromEntries(
        Object.entries(b.terms).map(([code, t]): [string, AssistanceTerms] => [
          code,
          {
            deductible: amountOrNull(
              t.deductible,
              figures,
              `assistance[${i}].terms.${code}.deductible`,
            ),
            ratio: t.ratio,
            annualCap: amountOrNull(
              t.annualCap,
              figures,
              `assistance[${i}].terms.${code}.annualCap`,
            ),
          },
        ]),
      ),
    })),
    tilted:
      rs.tilted === null
        ? null
        : {
            ...rs.tilted,
            threshold: amount(rs.tilted.threshold, figures, 'tilted.threshold'),
            annualCap: amountOrNull(rs.tilted.annualCap, figures, 'tilted.annualCap'),
          },
    fundCodes: rs.fundCodes,
    articles: rs.articles,
    ...(rs.visitKinds !== undefined ? { visitKinds: rs.visitKinds } : {}),
    readings: {
      tiltedBurdenWhile:
        rs.settings?.tiltedBurdenWhile?.value ?? DEFAULT_READINGS.tiltedBurdenWhile,
      tiltedBurdenVisits:
        rs.settings?.tiltedBurdenVisits?.value ?? DEFAULT_READINGS.tiltedBurdenVisits,
      identityTie: rs.settings?.identityTie?.value ?? DEFAULT_READINGS.identityTie,
    },
  };
  // fail at load, not on the first bill
  try {
    compileRuleSet(resolved);
  } catch (e) {
    throw new RuleSetError(
      'INVALID_RULE_SET',
      null,
      `rule set ${rs.version}: ${(e as Error).message}`,
    );
  }
  return resolved;
}

/**
 * The enrollment subsidy of a rule set with a year's figures (004 第六条, 002 第八条): each
 * category's amount, a share of the contribution figure or a fixed-amount figure; null when the
 * rule set has none. A missing figure is a MISSING_FIGURE error naming it.
 */
export function resolveEnrollmentSubsidy(
  rs: RuleSetFile,
  figures: FiguresFile,
): EnrollmentSubsidyRule | null {
  const spec = rs.enrollmentSubsidy;
  if (spec === null) return null;
  const contribution = formatDecimal(
    figure(figures, spec.contributionFigure, 'enrollmentSubsidy.contributionFigure'),
  );
  const byCategory: EnrollmentSubsidyRule['byCategory'] = {};
  for (const [code, terms] of Object.entries(spec.byCategory)) {
    const field = `enrollmentSubsidy.byCategory.${code}`;
    byCategory[code] =
      'share' in terms
        ? {
            amount: amount(
              { pctOfFigure: terms.share, figure: spec.contributionFigure },
              figures,
              field,
            ),
            basis: `${terms.share} × ${spec.contributionFigure} ${contribution}`,
          }
        : {
            amount: formatDecimal(figure(figures, terms.fixedFigure, field)),
            basis: `fixed ${terms.fixedFigure}`,
          };
  }
  return { region: rs.region, year: figures.year, contribution, byCategory, article: spec.article };
}
