/**
 * Properties of `settle` over random bills of both regions (Baoshan 002, Panzhihua 004), every
 * med_type (11, 13, 14, 21), every category, none and several, both insutypes, random flags and
 * amounts up to 400,000.00 yuan, threaded through a year's accumulators.
 */
import fc from 'fast-check';
// The specs settle with the shipped rule sets and figures: a test-only dependency on the loader.
import { RuleBook } from '@onebill/rules';
import { formatFen, parseFen, type Fen } from './money';
import { compiled, emptyAccumulators, settle } from './settle';
import type { Accumulators, Bill, Insutype, SettlementResult } from './types';

const book = RuleBook.load();
const RULES = {
  baoshan: compiled(book.resolve('baoshan', '2024-05-10')),
  panzhihua: compiled(book.resolve('panzhihua', '2024-05-10')),
} as const;
type Region = keyof typeof RULES;

const CATEGORIES: Record<Region, string[]> = {
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
  panzhihua: ['tekun', 'guer', 'dibao', 'monitored', 'dibao_edge', 'illness_poor'],
};

const fen = (s: string): Fen => parseFen(s, 'test');

interface BillShape {
  medType: string;
  hospitalLevel: '1' | '2' | '3';
  referred: boolean;
  inProvince: boolean;
  followUp: boolean;
  commercialEnrolled: boolean;
  inscp: number;
  fulamt: number;
  overlmt: number;
  preself: number;
}

const shapeArb: fc.Arbitrary<BillShape> = fc.record({
  medType: fc.constantFrom('11', '13', '14', '21'),
  hospitalLevel: fc.constantFrom('1', '2', '3'),
  referred: fc.boolean(),
  inProvince: fc.boolean(),
  followUp: fc.boolean(),
  commercialEnrolled: fc.boolean(),
  // fen: up to 400,000.00 yuan in scope, small amounts (edges) as likely as large ones
  inscp: fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 40_000_000 })),
  fulamt: fc.integer({ min: 0, max: 5_000_000 }),
  overlmt: fc.integer({ min: 0, max: 500_000 }),
  preself: fc.integer({ min: 0, max: 1_000_000 }),
});

interface Person {
  region: Region;
  insutype: Insutype;
  identities: string[];
}

const personArb = (identities: (region: Region) => fc.Arbitrary<string[]>): fc.Arbitrary<Person> =>
  fc.constantFrom<Region>('baoshan', 'panzhihua').chain((region) =>
    fc.record({
      region: fc.constant(region),
      insutype: fc.constantFrom<Insutype>('390', '310'),
      identities: identities(region),
    }),
  );

/** none, one, or several categories (duplicates allowed) */
const anyIdentities = (region: Region) =>
  fc.oneof(
    fc.constant<string[]>([]),
    fc.constantFrom(...CATEGORIES[region]).map((c) => [c]),
    fc.array(fc.constantFrom(...CATEGORIES[region]), { minLength: 2, maxLength: 4 }),
  );
const oneIdentity = (region: Region) => fc.constantFrom(...CATEGORIES[region]).map((c) => [c]);

function toBill(p: Person, s: BillShape, i: number): Bill {
  const month = String(1 + (i % 12)).padStart(2, '0');
  return {
    fixmedinsCode: 'H0001',
    mdtrtId: `V${i}`,
    psnNo: 'P1',
    insutype: p.insutype,
    medType: s.medType,
    hospitalLevel: s.hospitalLevel,
    admissionDate: `2024-${month}-01`,
    dischargeDate: `2024-${month}-10`,
    referred: s.referred,
    inProvince: s.inProvince,
    followUp: s.followUp,
    commercialEnrolled: s.commercialEnrolled,
    identities: p.identities,
    medfeeSumamt: formatFen(s.inscp + s.fulamt + s.overlmt + s.preself),
    fulamtOwnpayAmt: formatFen(s.fulamt),
    overlmtSelfpay: formatFen(s.overlmt),
    preselfpayAmt: formatFen(s.preself),
    inscpScpAmt: formatFen(s.inscp),
  };
}

function runYear(p: Person, shapes: BillShape[]): SettlementResult[] {
  let acc: Accumulators = emptyAccumulators(2024);
  return shapes.map((s, i) => {
    const r = settle({ ruleSet: RULES[p.region], accumulators: acc, bill: toBill(p, s, i) });
    acc = r.accumulators;
    return r;
  });
}

const last = (rs: SettlementResult[]): SettlementResult => {
  const r = rs[rs.length - 1];
  if (r === undefined) throw new Error('empty year');
  return r;
};

const yearArb = (identities: (region: Region) => fc.Arbitrary<string[]>) =>
  fc.tuple(personArb(identities), fc.array(shapeArb, { minLength: 1, maxLength: 8 }));

function accumulatorAmounts(a: Accumulators): string[] {
  return [
    ...Object.values(a.basicDeductibleUsed),
    ...Object.values(a.basicPaid),
    a.criticalBase,
    a.criticalPaid,
    a.commercialBase,
    a.commercialPaid,
    ...Object.values(a.assistanceDeductibleUsed),
    ...Object.values(a.assistancePaid),
    a.tiltedBurden,
    a.tiltedPaid,
    a.inscpSelfPay,
    a.cashSelfPay,
  ];
}

const RUNS = { numRuns: 150 };

describe('settle properties', () => {
  it('funds plus the patient cash equal the total, to the fen, on every bill of a year', () => {
    fc.assert(
      fc.property(yearArb(anyIdentities), ([person, shapes]) => {
        for (const r of runYear(person, shapes)) {
          const s = r.setlinfo;
          // POLICY invariant: funds + psn_cash_pay = medfee_sumamt
          expect(fen(s.fundPaySumamt) + fen(s.psnCashPay)).toBe(fen(s.medfeeSumamt));
          expect(fen(s.fundPaySumamt)).toBe(
            fen(s.hifpPay) + fen(s.hifmiPay) + fen(s.mafPay) + fen(s.othPay),
          );
          expect(s.psnPartAmt).toBe(s.psnCashPay);
          // setldetail lines add up to the fund totals
          const lines = r.setldetail.reduce((sum, d) => sum + fen(d.fundPayamt), 0);
          expect(lines).toBe(fen(s.fundPaySumamt));
        }
      }),
      RUNS,
    );
  });

  it('nothing is negative: setlinfo, setldetail and accumulators', () => {
    fc.assert(
      fc.property(yearArb(anyIdentities), ([person, shapes]) => {
        for (const r of runYear(person, shapes)) {
          for (const v of Object.values(r.setlinfo) as string[])
            expect(fen(v)).toBeGreaterThanOrEqual(0);
          for (const d of r.setldetail) {
            expect(fen(d.fundPayamt)).toBeGreaterThanOrEqual(0);
            for (const st of d.setlProcInfo) {
              expect(fen(st.amount)).toBeGreaterThanOrEqual(0);
              expect(fen(st.base)).toBeGreaterThanOrEqual(0);
            }
          }
          for (const v of accumulatorAmounts(r.accumulators)) {
            expect(fen(v)).toBeGreaterThanOrEqual(0);
          }
        }
      }),
      RUNS,
    );
  });

  it('no fund exceeds its annual cap over a year', () => {
    // caps: 004 第十、十二条 (Panzhihua 800.00 低保 ordinary outpatient, 70,000.00 inpatient-chronic
    // for 低保 and below, 特困/孤儿 none), 004 第十三条 tilted 20,000.00; 002 第十二条 Baoshan
    // 28,421.00 per bucket (example figures); basic and critical caps: rule-set example values.
    const assistanceCap = (region: Region, category: string, bucket: string): Fen | null => {
      if (region === 'baoshan') return fen('28421.00');
      if (category === 'tekun' || category === 'guer') return null;
      if (bucket === 'ordinary-outpatient') return category === 'dibao' ? fen('800.00') : 0;
      return fen('70000.00');
    };
    const basicCap: Record<Insutype, Record<string, string>> = {
      '390': { pooled: '200000.00', 'ordinary-outpatient': '400.00' },
      '310': { pooled: '300000.00', 'ordinary-outpatient': '3000.00' },
    };
    fc.assert(
      fc.property(
        yearArb(oneIdentity),
        fc.array(shapeArb, { minLength: 4, maxLength: 10 }),
        ([person], shapes) => {
          const results = runYear(person, shapes);
          const acc = last(results).accumulators;
          const category = person.identities[0] ?? '';
          for (const [bucket, paid] of Object.entries(acc.assistancePaid)) {
            const cap = assistanceCap(person.region, category, bucket);
            if (cap !== null) expect(fen(paid)).toBeLessThanOrEqual(cap);
          }
          expect(fen(acc.tiltedPaid)).toBeLessThanOrEqual(fen('20000.00'));
          for (const [group, paid] of Object.entries(acc.basicPaid)) {
            const cap = basicCap[person.insutype][group];
            expect(cap).toBeDefined();
            expect(fen(paid)).toBeLessThanOrEqual(fen(cap ?? '0.00'));
          }
          expect(fen(acc.criticalPaid)).toBeLessThanOrEqual(fen('400000.00'));
          // the year's assistance on the bills is what the buckets and the tilted total recorded
          const maf = results.reduce((sum, r) => sum + fen(r.setlinfo.mafPay), 0);
          const recorded =
            Object.values(acc.assistancePaid).reduce((sum, v) => sum + fen(v), 0) +
            fen(acc.tiltedPaid);
          expect(maf).toBe(recorded);
        },
      ),
      RUNS,
    );
  });

  it('assistance never falls when the in-scope cost rises, from the same year-to-date position', () => {
    fc.assert(
      fc.property(
        yearArb((region) => fc.oneof(fc.constant<string[]>([]), oneIdentity(region))),
        shapeArb,
        fc.integer({ min: 1, max: 5_000_000 }),
        ([person, before], shape, extra) => {
          const position = last(runYear(person, before)).accumulators;
          const settleAt = (s: BillShape) =>
            settle({
              ruleSet: RULES[person.region],
              accumulators: position,
              bill: toBill(person, s, before.length),
            });
          const low = settleAt(shape);
          const high = settleAt({ ...shape, inscp: shape.inscp + extra });
          expect(fen(high.setlinfo.mafPay)).toBeGreaterThanOrEqual(fen(low.setlinfo.mafPay));
        },
      ),
      RUNS,
    );
  });

  it("a year's total assistance and tilted assistance do not depend on the order of the bills", () => {
    // Order independence needs an order-independent post-insurance base. Inpatient bills (med_type
    // 21) of 城乡居民 (390) at one hospital level, all referred and in the province, no commercial
    // insurance: the basic deductible is per visit, so each bill's basic pay is fixed (the pooled
    // cap, if reached, caps the year's total, which is order-independent). Critical illness works
    // on the accumulated base, so its year total depends only on the year's total base, up to one
    // rounding per bill. Assistance (annual deductible, one ratio, annual cap) and tilted assistance
    // (threshold on the accumulated burden, one ratio, cap) are then linear in the year's total, so
    // the totals differ between orders only by rounding: at most 0.01 per bill.
    const inpatientArb = fc.record({
      inscp: fc.integer({ min: 0, max: 30_000_000 }),
      fulamt: fc.integer({ min: 0, max: 100_000 }),
    });
    fc.assert(
      fc.property(
        personArb(oneIdentity).map((p): Person => ({ ...p, insutype: '390' })),
        fc.constantFrom<'1' | '2' | '3'>('1', '2', '3'),
        fc.array(inpatientArb, { minLength: 2, maxLength: 6 }),
        fc.nat(),
        (person, level, amounts, seed) => {
          const shapes: BillShape[] = amounts.map((a) => ({
            medType: '21',
            hospitalLevel: level,
            referred: true,
            inProvince: true,
            followUp: false,
            commercialEnrolled: false,
            inscp: a.inscp,
            fulamt: a.fulamt,
            overlmt: 0,
            preself: 0,
          }));
          // a permutation: reversed, then rotated by the seed
          const reversed = [...shapes].reverse();
          const k = seed % shapes.length;
          const permuted = [...reversed.slice(k), ...reversed.slice(0, k)];
          const totals = (ss: BillShape[]) => {
            const acc = last(runYear(person, ss)).accumulators;
            return {
              assistance: Object.values(acc.assistancePaid).reduce((s, v) => s + fen(v), 0),
              tilted: fen(acc.tiltedPaid),
            };
          };
          const a = totals(shapes);
          const b = totals(permuted);
          expect(Math.abs(a.assistance - b.assistance)).toBeLessThanOrEqual(shapes.length);
          expect(Math.abs(a.tilted - b.tilted)).toBeLessThanOrEqual(shapes.length);
        },
      ),
      RUNS,
    );
  });

  it('a person with no category gets no assistance and no assistance lines', () => {
    fc.assert(
      fc.property(
        yearArb(() => fc.constant<string[]>([])),
        ([person, shapes]) => {
          for (const r of runYear(person, shapes)) {
            expect(r.setlinfo.mafPay).toBe('0.00');
            expect(r.categoryUsed).toBeNull();
            expect(r.setldetail.some((d) => d.fund === 'assistance' || d.fund === 'tilted')).toBe(
              false,
            );
          }
        },
      ),
      RUNS,
    );
  });

  it('the same input twice gives the same output', () => {
    fc.assert(
      fc.property(yearArb(anyIdentities), ([person, shapes]) => {
        expect(JSON.stringify(runYear(person, shapes))).toBe(
          JSON.stringify(runYear(person, shapes)),
        );
      }),
      RUNS,
    );
  });
});
