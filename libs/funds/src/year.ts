/**
 * Yearly fund data (config/funds/*.json, parsed JSON passed in by the caller) and the per-county
 * fund statement of a region. No I/O here: the caller reads the file and the ledger.
 */
import {
  baoshanNominal,
  baoshanResult,
  BAOSHAN_COUNTIES,
  type BaoshanOverspendResult,
} from './baoshan';
import {
  type FactorAllocationInput,
  type FactorAllocationRow,
  allocateByFactors,
  parseFactorInput,
} from './factors';
import { type Dec, formatDecimal, largestRemainder, max0, ZERO } from '@onebill/money';
import { FundInputError, parseMoney } from './money';
import {
  type ManagementDeficit,
  PANZHIHUA_COUNTIES,
  panzhihuaDeficit,
  type PanzhihuaDeficitResult,
  parseManagementDeficits,
} from './panzhihua';

export interface YearHeader {
  year: number;
  revision: number;
  /** true while the figures are EXAMPLE figures, not the agencies'. */
  example: boolean;
  note?: string;
}

export interface PanzhihuaYear extends YearHeader {
  region: 'panzhihua';
  counties: {
    admdvs: string;
    name: string;
    /** 当年筹集医疗救助资金总额 (000 第十七条). */
    raised: string;
    /** Determined by the agencies (000 第十八条). */
    managementDeficits: ManagementDeficit[];
  }[];
}

export interface BaoshanYear extends YearHeader {
  region: 'baoshan';
  /** 市级历年滚存结余 available for overspends (002 第二十一条). */
  cityAccumulatedSurplus: string;
  counties: { admdvs: string; name: string; budget: string }[];
}

export interface JilinYear extends YearHeader {
  region: 'jilin';
  allocation: FactorAllocationInput;
}

export type FundYear = PanzhihuaYear | BaoshanYear | JilinYear;

function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new FundInputError(path, 'expected an object');
  }
  return v as Record<string, unknown>;
}

function header(o: Record<string, unknown>): YearHeader {
  if (typeof o.year !== 'number' || !Number.isInteger(o.year) || o.year < 2000 || o.year > 2100) {
    throw new FundInputError(
      'year',
      `expected a year between 2000 and 2100, got ${String(o.year)}`,
    );
  }
  if (typeof o.revision !== 'number' || !Number.isInteger(o.revision) || o.revision < 1) {
    throw new FundInputError('revision', 'expected a positive integer');
  }
  if (typeof o.example !== 'boolean') {
    throw new FundInputError('example', 'expected true (EXAMPLE figures) or false');
  }
  if (o.note !== undefined && typeof o.note !== 'string') {
    throw new FundInputError('note', 'expected a string');
  }
  if (o.example && (typeof o.note !== 'string' || o.note === '')) {
    throw new FundInputError('note', 'EXAMPLE data must say what is to replace it');
  }
  return {
    year: o.year,
    revision: o.revision,
    example: o.example,
    ...(o.note !== undefined ? { note: o.note } : {}),
  };
}

function countyList(
  o: Record<string, unknown>,
  known: Readonly<Record<string, { name: string }>>,
  region: string,
): Record<string, unknown>[] {
  if (!Array.isArray(o.counties) || o.counties.length === 0) {
    throw new FundInputError('counties', 'expected a non-empty array');
  }
  const seen = new Set<string>();
  return o.counties.map((c: unknown, i) => {
    const p = `counties[${i}]`;
    const r = obj(c, p);
    const k = typeof r.admdvs === 'string' ? known[r.admdvs] : undefined;
    if (k === undefined) {
      throw new FundInputError(
        `${p}.admdvs`,
        `"${String(r.admdvs)}" is not a ${region} county (${Object.keys(known).join(', ')})`,
      );
    }
    if (seen.has(r.admdvs as string)) {
      throw new FundInputError(`${p}.admdvs`, `duplicate county ${String(r.admdvs)}`);
    }
    seen.add(r.admdvs as string);
    if (r.name !== k.name) {
      throw new FundInputError(`${p}.name`, `expected "${k.name}" for ${String(r.admdvs)}`);
    }
    return r;
  });
}

function parsePanzhihua(o: Record<string, unknown>, h: YearHeader): PanzhihuaYear {
  const counties = countyList(o, PANZHIHUA_COUNTIES, 'Panzhihua').map((r, i) => {
    const p = `counties[${i}]`;
    parseMoney(r.raised, `${p}.raised`);
    parseManagementDeficits(r.managementDeficits ?? [], `${p}.managementDeficits`);
    return {
      admdvs: r.admdvs as string,
      name: r.name as string,
      raised: r.raised as string,
      managementDeficits: (r.managementDeficits ?? []) as ManagementDeficit[],
    };
  });
  return { region: 'panzhihua', ...h, counties };
}

function parseBaoshan(o: Record<string, unknown>, h: YearHeader): BaoshanYear {
  parseMoney(o.cityAccumulatedSurplus, 'cityAccumulatedSurplus');
  const counties = countyList(
    o,
    BAOSHAN_COUNTIES as Record<string, { name: string }>,
    'Baoshan',
  ).map((r, i) => {
    const budget = parseMoney(r.budget, `counties[${i}].budget`);
    if (budget.isZero()) throw new FundInputError(`counties[${i}].budget`, 'must be positive');
    return { admdvs: r.admdvs as string, name: r.name as string, budget: r.budget as string };
  });
  return {
    region: 'baoshan',
    ...h,
    cityAccumulatedSurplus: o.cityAccumulatedSurplus as string,
    counties,
  };
}

function parseJilin(o: Record<string, unknown>, h: YearHeader): JilinYear {
  parseFactorInput(o.allocation, 'allocation');
  return { region: 'jilin', ...h, allocation: o.allocation as FactorAllocationInput };
}

/**
 * Validate a parsed config/funds/*.json; throws FundInputError naming the field. A region without
 * fund rules here (FUND_MODULES) is refused with the regions that have them: that region has no
 * fund statement (the gateway answers NO_FUND_RULES before it reads a file).
 */
export function parseFundYear(json: unknown): FundYear {
  const o = obj(json, '(root)');
  const m = typeof o.region === 'string' ? fundModuleOf(o.region) : undefined;
  if (m === undefined) {
    throw new FundInputError(
      'region',
      `"${String(o.region)}" has no fund rules (regions with fund rules: ${fundRegions().join(', ')})`,
    );
  }
  return m.parse(o, header(o));
}

export interface PanzhihuaStatement {
  region: 'panzhihua';
  year: number;
  revision: number;
  example: boolean;
  rows: PanzhihuaDeficitResult[];
  totals: {
    raised: string;
    spending: string;
    balance: string;
    surplus: string;
    generalDeficit: string;
    cityShare: string;
    countyShare: string;
    managementDeficit: string;
  };
}

export interface BaoshanStatement {
  region: 'baoshan';
  year: number;
  revision: number;
  example: boolean;
  cityAccumulatedSurplus: string;
  /** Σ cityShare: drawn from the accumulated surplus. */
  citySurplusUsed: string;
  citySurplusLeft: string;
  rows: BaoshanOverspendResult[];
  totals: {
    budget: string;
    spending: string;
    overspend: string;
    cityShare: string;
    countyShare: string;
    surplusShortfall: string;
  };
}

/**
 * Jilin (003 第七条): the year's subsidies allocated to the regions by the factor method. No
 * ledger spending enters it: the allocation is of money raised, by need factors.
 */
export interface JilinStatement {
  region: 'jilin';
  year: number;
  revision: number;
  example: boolean;
  method: 'factor';
  rows: FactorAllocationRow[];
  totals: { amount: string };
}

export type FundStatement = PanzhihuaStatement | BaoshanStatement | JilinStatement;

/** What every statement starts with. */
export interface StatementHead {
  year: number;
  revision: number;
  example: boolean;
}

function sum(rows: readonly object[], field: string): string {
  let s: Dec = ZERO;
  for (const r of rows) s = s.plus((r as Record<string, string>)[field] ?? '0');
  return formatDecimal(s);
}

function spendingFor(
  spending: Record<string, string>,
  counties: readonly { admdvs: string }[],
): Map<string, string> {
  if (typeof spending !== 'object' || spending === null) {
    throw new FundInputError('spending', 'expected a record admdvs → amount');
  }
  const known = new Set(counties.map((c) => c.admdvs));
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(spending)) {
    if (!known.has(k)) {
      throw new FundInputError(`spending.${k}`, 'is not a county of this year’s fund data');
    }
    parseMoney(v, `spending.${k}`);
    out.set(k, v);
  }
  for (const c of counties) if (!out.has(c.admdvs)) out.set(c.admdvs, '0.00');
  return out;
}

const byAdmdvs = <T extends { admdvs: string }>(a: T, b: T): number =>
  a.admdvs < b.admdvs ? -1 : a.admdvs > b.admdvs ? 1 : 0;

function panzhihuaStatement(
  year: PanzhihuaYear,
  spending: Record<string, string>,
  head: StatementHead,
): PanzhihuaStatement {
  const counties = [...year.counties].sort(byAdmdvs);
  const spent = spendingFor(spending, counties);
  const rows = counties.map((c) =>
    panzhihuaDeficit(
      {
        county: c.admdvs,
        raised: c.raised,
        spending: spent.get(c.admdvs) ?? '0.00',
        managementDeficits: c.managementDeficits,
      },
      `counties.${c.admdvs}`,
    ),
  );
  return {
    region: 'panzhihua',
    ...head,
    rows,
    totals: {
      raised: sum(rows, 'raised'),
      spending: sum(rows, 'spending'),
      balance: sum(rows, 'balance'),
      surplus: sum(rows, 'surplus'),
      generalDeficit: sum(rows, 'generalDeficit'),
      cityShare: sum(rows, 'cityShare'),
      countyShare: sum(rows, 'countyShare'),
      managementDeficit: sum(rows, 'managementDeficit'),
    },
  };
}

function baoshanStatement(
  year: BaoshanYear,
  spending: Record<string, string>,
  head: StatementHead,
): BaoshanStatement {
  const counties = [...year.counties].sort(byAdmdvs);
  const spent = spendingFor(spending, counties);
  const surplus = parseMoney(year.cityAccumulatedSurplus, 'cityAccumulatedSurplus');
  const nominals = counties.map((c) => ({
    admdvs: c.admdvs,
    n: baoshanNominal(c.admdvs, c.budget, spent.get(c.admdvs), `counties.${c.admdvs}`),
  }));
  const wanted = nominals.reduce((s, x) => s.plus(x.n.cityNominal), ZERO);
  // 002 第二十一条（四）: when the surplus cannot cover every city share, it is shared pro rata to
  // the city shares (largest remainder, to the fen) and each county bears the rest of its own.
  const available = new Map<string, Dec>();
  if (wanted.lessThanOrEqualTo(surplus)) {
    for (const x of nominals) available.set(x.admdvs, x.n.cityNominal);
  } else {
    const parts = largestRemainder(
      surplus,
      nominals
        .filter((x) => x.n.cityNominal.greaterThan(0))
        .map((x) => ({ key: x.admdvs, weight: x.n.cityNominal })),
    );
    for (const x of nominals) available.set(x.admdvs, parts.get(x.admdvs) ?? ZERO);
  }
  const rows = nominals.map((x) => baoshanResult(x.admdvs, x.n, available.get(x.admdvs) ?? ZERO));
  const used = parseMoney(sum(rows, 'cityShare'), 'citySurplusUsed');
  return {
    region: 'baoshan',
    ...head,
    cityAccumulatedSurplus: formatDecimal(surplus),
    citySurplusUsed: formatDecimal(used),
    citySurplusLeft: formatDecimal(max0(surplus.minus(used))),
    rows,
    totals: {
      budget: sum(rows, 'budget'),
      spending: sum(rows, 'spending'),
      overspend: sum(rows, 'overspend'),
      cityShare: sum(rows, 'cityShare'),
      countyShare: sum(rows, 'countyShare'),
      surplusShortfall: sum(rows, 'surplusShortfall'),
    },
  };
}

function jilinStatement(year: JilinYear, head: StatementHead): JilinStatement {
  // the spending is not an input of the factor method (003 第七条)
  const allocation = allocateByFactors(year.allocation, 'allocation');
  return {
    region: 'jilin',
    ...head,
    method: 'factor',
    rows: allocation.rows,
    totals: { amount: allocation.total },
  };
}

/**
 * A region's fund rules: how its config/funds/<region>-<year>.json is read and what its statement
 * is. A region whose fund rules differ from every module here adds one module file and its entry
 * in FUND_MODULES; a region without an entry simply has no fund statement (libs/rules/README.md,
 * "Adding a region").
 */
export interface FundModule<Y extends FundYear = FundYear> {
  readonly region: Y['region'];
  /** the rest of the data file after the common header (year, revision, example, note) */
  parse(o: Record<string, unknown>, header: YearHeader): Y;
  /**
   * The counties whose ledger spending the statement takes, or `noSpending`: why spending is not
   * an input of this region's method.
   */
  spendingCounties(year: Y): string[] | { noSpending: string };
  statement(year: Y, spending: Record<string, string>, head: StatementHead): FundStatement;
}

const asModule = <Y extends FundYear>(m: FundModule<Y>): FundModule => m;

/** The fund modules by region. */
const FUND_MODULES: Readonly<Record<string, FundModule>> = {
  panzhihua: asModule<PanzhihuaYear>({
    region: 'panzhihua',
    parse: parsePanzhihua,
    spendingCounties: (y) => y.counties.map((c) => c.admdvs),
    statement: panzhihuaStatement,
  }),
  baoshan: asModule<BaoshanYear>({
    region: 'baoshan',
    parse: parseBaoshan,
    spendingCounties: (y) => y.counties.map((c) => c.admdvs),
    statement: baoshanStatement,
  }),
  jilin: asModule<JilinYear>({
    region: 'jilin',
    parse: parseJilin,
    spendingCounties: () => ({
      noSpending: 'the Jilin data allocates subsidies (factor method); it has no county spending',
    }),
    statement: (y, _spending, head) => jilinStatement(y, head),
  }),
};

/** The fund rules of `region`, or undefined: the region has no fund statement. */
export function fundModuleOf(region: string): FundModule | undefined {
  return Object.prototype.hasOwnProperty.call(FUND_MODULES, region)
    ? FUND_MODULES[region]
    : undefined;
}

/** The regions that have fund rules, sorted. */
export function fundRegions(): string[] {
  return Object.keys(FUND_MODULES).sort();
}

function moduleOf(year: FundYear): FundModule {
  const m = fundModuleOf(year.region);
  if (m === undefined) throw new FundInputError('region', `"${year.region}" has no fund rules`);
  return m;
}

/**
 * The county admdvs whose ledger spending enters `year`'s statement, or `noSpending` (why none
 * does, e.g. Jilin's factor method, 003 第七条).
 */
export function spendingCounties(year: FundYear): string[] | { noSpending: string } {
  return moduleOf(year).spendingCounties(year);
}

/**
 * Per-county statement of a region for the year: `spending` is the year's spending per county
 * admdvs ("123.45"), e.g. summed from the ledger; a county with no entry spent "0.00"; an admdvs
 * that is not in the year's data is an error. Rows are ordered by admdvs.
 */
export function fundStatement(year: FundYear, spending: Record<string, string>): FundStatement {
  const head = { year: year.year, revision: year.revision, example: year.example };
  return moduleOf(year).statement(year, spending, head);
}
