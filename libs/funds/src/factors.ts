/**
 * Jilin factor method (003 第七条): central and provincial subsidies allocated to regions.
 *
 *   score_r  = (Σ_f weight_f × factor_{r,f} / Σ_r' factor_{r',f}) × performance_r × fiscal_r
 *   share_r  = score_r / Σ_r' score_r'
 *   amount_r = total × share_r, in fen by the largest-remainder method (Σ amount_r = total exactly)
 *
 * Reading (docs/adr/0007-fund-statements.md): each factor is normalised over the regions before it
 * is weighted, so factors in different units (persons, yuan, rates) can be combined; the weights
 * must add up to 1 exactly. Factors, weights and coefficients are data.
 */
import { D, type Dec, formatDecimal, largestRemainder, ZERO } from '@onebill/money';
import { FundInputError, parseMoney, parseRatio } from './money';

export type FactorKind = 'general' | 'special';

export interface FactorDef {
  /** Key used in each region's `factors`. */
  id: string;
  /** 一般救助需求因素 or 特殊救助需求因素. */
  kind: FactorKind;
  /** Weight as a decimal string; the weights add up to 1 exactly. */
  weight: string;
  what?: string;
}

export interface FactorRegion {
  id: string;
  name?: string;
  /** Value of every factor for this region, decimal strings ≥ 0. */
  factors: Record<string, string>;
  /** 绩效调节系数, decimal string ≥ 0. */
  performance: string;
  /** 财力调节系数, decimal string ≥ 0. */
  fiscal: string;
}

export interface FactorAllocationInput {
  /** Amount to allocate, "123.45". */
  total: string;
  factors: FactorDef[];
  regions: FactorRegion[];
}

export interface FactorAllocationRow {
  id: string;
  name?: string;
  /** score_r with 12 decimals, for the audit trail (not used for rounding). */
  score: string;
  /** share_r with 12 decimals, for the audit trail. */
  share: string;
  amount: string;
}

export interface FactorAllocationResult {
  total: string;
  rows: FactorAllocationRow[];
}

interface ParsedFactors {
  total: Dec;
  factors: { id: string; kind: FactorKind; weight: Dec }[];
  regions: { id: string; name?: string; values: Map<string, Dec>; performance: Dec; fiscal: Dec }[];
}

export function parseFactorInput(input: unknown, path: string): ParsedFactors {
  if (typeof input !== 'object' || input === null) {
    throw new FundInputError(path, 'expected an object');
  }
  const o = input as Record<string, unknown>;
  const total = parseMoney(o.total, `${path}.total`);
  if (!Array.isArray(o.factors) || o.factors.length === 0) {
    throw new FundInputError(
      `${path}.factors`,
      'expected a non-empty array of { id, kind, weight }',
    );
  }
  const seenF = new Set<string>();
  const factors = o.factors.map((f: unknown, i) => {
    const p = `${path}.factors[${i}]`;
    if (typeof f !== 'object' || f === null) throw new FundInputError(p, 'expected an object');
    const r = f as Record<string, unknown>;
    if (typeof r.id !== 'string' || r.id === '') {
      throw new FundInputError(`${p}.id`, 'expected a non-empty string');
    }
    if (seenF.has(r.id)) throw new FundInputError(`${p}.id`, `duplicate factor "${r.id}"`);
    seenF.add(r.id);
    if (r.kind !== 'general' && r.kind !== 'special') {
      throw new FundInputError(`${p}.kind`, `"${String(r.kind)}" is not "general" or "special"`);
    }
    const kind: FactorKind = r.kind;
    return { id: r.id, kind, weight: parseRatio(r.weight, `${p}.weight`) };
  });
  const weightSum = factors.reduce((s, f) => s.plus(f.weight), ZERO);
  if (!weightSum.equals(1)) {
    throw new FundInputError(
      `${path}.factors[].weight`,
      `the weights add up to ${weightSum.toString()}, not 1`,
    );
  }
  if (!Array.isArray(o.regions) || o.regions.length === 0) {
    throw new FundInputError(`${path}.regions`, 'expected a non-empty array of regions');
  }
  const seenR = new Set<string>();
  const regions = o.regions.map((g: unknown, i) => {
    const p = `${path}.regions[${i}]`;
    if (typeof g !== 'object' || g === null) throw new FundInputError(p, 'expected an object');
    const r = g as Record<string, unknown>;
    if (typeof r.id !== 'string' || r.id === '') {
      throw new FundInputError(`${p}.id`, 'expected a non-empty string');
    }
    if (seenR.has(r.id)) throw new FundInputError(`${p}.id`, `duplicate region "${r.id}"`);
    seenR.add(r.id);
    if (r.name !== undefined && typeof r.name !== 'string') {
      throw new FundInputError(`${p}.name`, 'expected a string');
    }
    if (typeof r.factors !== 'object' || r.factors === null || Array.isArray(r.factors)) {
      throw new FundInputError(`${p}.factors`, 'expected an object of factor values');
    }
    const fv = r.factors as Record<string, unknown>;
    for (const k of Object.keys(fv)) {
      if (!seenF.has(k)) throw new FundInputError(`${p}.factors.${k}`, 'unknown factor');
    }
    const values = new Map<string, Dec>();
    for (const f of factors) {
      if (fv[f.id] === undefined) throw new FundInputError(`${p}.factors.${f.id}`, 'missing');
      values.set(f.id, parseRatio(fv[f.id], `${p}.factors.${f.id}`));
    }
    return {
      id: r.id,
      ...(r.name !== undefined ? { name: r.name } : {}),
      values,
      performance: parseRatio(r.performance, `${p}.performance`),
      fiscal: parseRatio(r.fiscal, `${p}.fiscal`),
    };
  });
  for (const f of factors) {
    const col = regions.reduce((s, r) => s.plus(r.values.get(f.id) ?? ZERO), ZERO);
    if (col.isZero()) {
      throw new FundInputError(
        `${path}.regions[].factors.${f.id}`,
        'is 0 in every region, so it cannot be normalised',
      );
    }
  }
  return { total, factors, regions };
}

export function allocateByFactors(
  input: FactorAllocationInput,
  path = 'input',
): FactorAllocationResult {
  const { total, factors, regions } = parseFactorInput(input, path);
  const colSum = new Map<string, Dec>();
  for (const f of factors) {
    colSum.set(
      f.id,
      regions.reduce((s, r) => s.plus(r.values.get(f.id) ?? ZERO), ZERO),
    );
  }
  const scores = regions.map((r) => {
    let need: Dec = new D(0);
    for (const f of factors) {
      const v = r.values.get(f.id) ?? ZERO;
      need = need.plus(f.weight.times(v).dividedBy(colSum.get(f.id) ?? 1));
    }
    return { key: r.id, weight: need.times(r.performance).times(r.fiscal) };
  });
  const scoreSum = scores.reduce((s, x) => s.plus(x.weight), ZERO);
  if (scoreSum.isZero()) {
    throw new FundInputError(
      `${path}.regions[].performance`,
      'every region scores 0 (a performance or fiscal coefficient of 0 everywhere)',
    );
  }
  const amounts = largestRemainder(total, scores);
  return {
    total: formatDecimal(total),
    rows: regions.map((r, i) => {
      const score = scores[i]?.weight ?? ZERO;
      return {
        id: r.id,
        ...(r.name !== undefined ? { name: r.name } : {}),
        score: score.toFixed(12),
        share: score.dividedBy(scoreSum).toFixed(12),
        amount: formatDecimal(amounts.get(r.id) ?? ZERO),
      };
    }),
  };
}
