/**
 * Realistic discharge bills from a seed: every region of the registry, every visit type, every category (and none,
 * and several), both insurance types. Deterministic: the same seed gives the same bills.
 */
import type { Bill, HospitalLevel } from '@onebill/engine';

/** mulberry32: small, fast, good enough for test data; never for anything secret. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface HospitalRef {
  code: string;
  level: HospitalLevel;
  region: string;
  /** the county agency's admdvs: its first two digits (the province) prefix the person numbers */
  admdvs?: string;
  /** the identity categories of the region's rule set (RuleBook.categoriesOf); default: below */
  categories?: readonly string[];
}

/** The hospitals of a rule book, with their region's categories (what main.ts and the self-feed send). */
export function hospitalRefs(book: {
  allHospitals(): {
    fixmedins_code: string;
    level: HospitalLevel;
    region: string;
    admdvs: string;
  }[];
  categoriesOf(region: string): string[];
}): HospitalRef[] {
  return book.allHospitals().map((h) => ({
    code: h.fixmedins_code,
    level: h.level,
    region: h.region,
    admdvs: h.admdvs,
    categories: book.categoriesOf(h.region),
  }));
}

/**
 * The shipped regions' categories, in their rule sets' order, for callers that pass a region only
 * (the same picks for the same seed as before `categories` existed).
 */
const CATEGORIES: Record<string, string[]> = {
  panzhihua: ['tekun', 'guer', 'dibao', 'monitored', 'dibao_edge', 'illness_poor'],
  baoshan: [
    'tekun',
    'guer',
    'de_facto_orphan',
    'dibao',
    'relapse_poor',
    'dibao_edge',
    'monitored',
    'deep_hardship_worker',
    'illness_poor',
    'relative_hardship_worker',
    'county_named',
  ],
};

/** Typical in-scope cost by med_type, in fen: [min, max]. */
const COST: Record<string, [number, number]> = {
  '11': [2_000, 60_000],
  '13': [10_000, 500_000],
  '14': [20_000, 1_500_000],
  '21': [200_000, 30_000_000],
};

/** P + the province of the hospital's admdvs (P51 Sichuan, P53 Yunnan); without one, as before. */
const psnPrefix = (h: HospitalRef): string =>
  h.admdvs !== undefined ? `P${h.admdvs.slice(0, 2)}` : h.region === 'panzhihua' ? 'P51' : 'P53';

const fmt = (fen: number): string =>
  `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;

export interface GenerateOptions {
  seed: number;
  year: number;
  hospitals: HospitalRef[];
  /** how many distinct persons the bills are spread over */
  persons: number;
}

export class BillGenerator {
  private readonly next: () => number;
  private seq = 0;

  constructor(private readonly opts: GenerateOptions) {
    this.next = rng(opts.seed);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)] as T;
  }

  private between(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  bill(): Bill {
    const h = this.pick(this.opts.hospitals);
    const person = this.between(1, this.opts.persons);
    const medType = this.pick(['11', '11', '13', '14', '14', '21', '21', '21']);
    const [lo, hi] = COST[medType] as [number, number];
    const inscp = this.between(lo, hi);
    const fulamt = this.next() < 0.6 ? this.between(0, Math.floor(inscp / 5)) : 0;
    const overlmt = this.next() < 0.2 ? this.between(0, Math.floor(inscp / 20)) : 0;
    const preself = this.next() < 0.5 ? this.between(0, Math.floor(inscp / 10)) : 0;
    const cats = h.categories ?? CATEGORIES[h.region] ?? [];
    const roll = this.next();
    const identities =
      roll < 0.4 ? [] : roll < 0.9 ? [this.pick(cats)] : [this.pick(cats), this.pick(cats)];
    const day = this.between(0, 330);
    const stay = medType === '21' ? this.between(1, 30) : 0;
    const date = (d: number): string => {
      const t = new Date(Date.UTC(this.opts.year, 0, 1 + d));
      return t.toISOString().slice(0, 10);
    };
    this.seq += 1;
    return {
      fixmedinsCode: h.code,
      mdtrtId: `MD${this.opts.seed}${String(this.seq).padStart(9, '0')}`,
      psnNo: `${psnPrefix(h)}${String(person).padStart(8, '0')}`,
      insutype: this.next() < 0.8 ? '390' : '310',
      medType,
      hospitalLevel: h.level,
      admissionDate: date(day),
      dischargeDate: date(day + stay),
      referred: this.next() < 0.85,
      inProvince: this.next() < 0.9,
      followUp: this.next() < 0.1,
      commercialEnrolled: this.next() < 0.3,
      identities,
      medfeeSumamt: fmt(inscp + fulamt + overlmt + preself),
      fulamtOwnpayAmt: fmt(fulamt),
      overlmtSelfpay: fmt(overlmt),
      preselfpayAmt: fmt(preself),
      inscpScpAmt: fmt(inscp),
    };
  }
}
