import fc from 'fast-check';

import { allocateByFactors, FundInputError } from './index';
import type { FactorAllocationInput } from './index';

// 003 第七条: score = (Σ weight × factor / Σ factor over regions) × performance × fiscal.
const threeRegions = (wA: string, wB: string): FactorAllocationInput => ({
  total: '1000.00',
  factors: [
    { id: 'A', kind: 'general', weight: wA },
    { id: 'B', kind: 'special', weight: wB },
  ],
  regions: [
    { id: 'R1', factors: { A: '100', B: '50' }, performance: '1', fiscal: '1' },
    { id: 'R2', factors: { A: '300', B: '50' }, performance: '0.5', fiscal: '1' },
    { id: 'R3', factors: { A: '100', B: '100' }, performance: '1', fiscal: '1.5' },
  ],
});

const sumFen = (amounts: string[]): bigint =>
  amounts.reduce((s, a) => s + BigInt(a.replace('.', '')), 0n);

describe('Jilin factor method (003 第七条)', () => {
  it('003 第七条: hand-computed 3-region example, largest remainder to the fen', () => {
    // ΣA = 500, ΣB = 200. Normalised: R1 A .2 B .25; R2 A .6 B .25; R3 A .2 B .5
    // need: R1 .6×.2+.4×.25 = .22; R2 .6×.6+.4×.25 = .46; R3 .6×.2+.4×.5 = .32
    // × performance × fiscal: R1 .22; R2 .46×.5 = .23; R3 .32×1.5 = .48; Σ = .93
    // in fen: R1 100000×.22/.93 = 23655.913…; R2 24731.182…; R3 51612.903…
    // floors 23655 + 24731 + 51612 = 99998 → 2 fen to the largest remainders: R1 (.913), R3 (.903)
    const r = allocateByFactors(threeRegions('0.6', '0.4'));
    expect(r.rows.map((x) => [x.id, x.amount])).toEqual([
      ['R1', '236.56'],
      ['R2', '247.31'],
      ['R3', '516.13'],
    ]);
    expect(r.rows.map((x) => x.score)).toEqual([
      '0.220000000000',
      '0.230000000000',
      '0.480000000000',
    ]);
    expect(r.rows[0]?.share).toBe('0.236559139785'); // .22 / .93
    expect(r.total).toBe('1000.00');
  });

  it('003 第七条: the weights are data — weight B = 0 gives a different, hand-computed split', () => {
    // scores: R1 .2; R2 .6×.5 = .3; R3 .2×1.5 = .3; Σ .8 → 250.00, 375.00, 375.00
    const r = allocateByFactors(threeRegions('1', '0'));
    expect(r.rows.map((x) => x.amount)).toEqual(['250.00', '375.00', '375.00']);
  });

  it('003 第七条: equal scores — ties go to the smaller id, whatever the input order', () => {
    // 100.00 / 3 = 33.333… each: floors 3333 × 3 = 9999, 1 fen left → region "a"
    const region = (id: string): FactorAllocationInput['regions'][number] => ({
      id,
      factors: { n: '1' },
      performance: '1',
      fiscal: '1',
    });
    const input = (ids: string[]): FactorAllocationInput => ({
      total: '100.00',
      factors: [{ id: 'n', kind: 'general', weight: '1' }],
      regions: ids.map(region),
    });
    const amounts = (ids: string[]): Record<string, string> =>
      Object.fromEntries(allocateByFactors(input(ids)).rows.map((x) => [x.id, x.amount]));
    expect(amounts(['a', 'b', 'c'])).toEqual({ a: '33.34', b: '33.33', c: '33.33' });
    expect(amounts(['c', 'b', 'a'])).toEqual({ a: '33.34', b: '33.33', c: '33.33' });
  });

  it('003 第七条: a region with a performance coefficient of 0 gets nothing', () => {
    const input = threeRegions('0.6', '0.4');
    const r = allocateByFactors({
      ...input,
      regions: input.regions.map((g) => (g.id === 'R2' ? { ...g, performance: '0' } : g)),
    });
    // scores .22, 0, .48; Σ .70 → 1000 × .22/.7 = 314.2857… ; 1000 × .48/.7 = 685.7142…
    // floors 31428 + 68571 = 99999 → 1 fen to R1 (.57 > .42)
    expect(r.rows.map((x) => x.amount)).toEqual(['314.29', '0.00', '685.71']);
  });

  it('003 第七条: the amounts always add up to the total exactly (property)', () => {
    const dec = fc.integer({ min: 0, max: 1_000_000 }).map((n) => String(n));
    const coef = fc.integer({ min: 1, max: 300 }).map((n) => (n / 100).toFixed(2));
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 99_999_999_999n }),
        fc.array(fc.tuple(dec, dec, coef, coef), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 100 }),
        (totalFen, rows, w) => {
          const total = `${totalFen / 100n}.${String(totalFen % 100n).padStart(2, '0')}`;
          const regions = rows.map(([a, b, p, f], i) => ({
            id: `r${String(i).padStart(2, '0')}`,
            factors: { A: i === 0 ? '1' : a, B: i === 0 ? '1' : b },
            performance: p,
            fiscal: f,
          }));
          const weightA = (w / 100).toFixed(2);
          const weightB = ((100 - w) / 100).toFixed(2);
          const r = allocateByFactors({
            total,
            factors: [
              { id: 'A', kind: 'general', weight: weightA },
              { id: 'B', kind: 'general', weight: weightB },
            ],
            regions,
          });
          expect(sumFen(r.rows.map((x) => x.amount))).toBe(totalFen);
        },
      ),
      { numRuns: 300 },
    );
  });

  describe('bad input errors name the field', () => {
    const field = (input: unknown): string => {
      try {
        allocateByFactors(input as FactorAllocationInput);
      } catch (e) {
        expect(e).toBeInstanceOf(FundInputError);
        expect((e as Error).message).toContain((e as FundInputError).field);
        return (e as FundInputError).field;
      }
      return 'no error';
    };
    const good = threeRegions('0.6', '0.4');

    it('weights not adding up to 1', () => {
      expect(field(threeRegions('0.6', '0.3'))).toBe('input.factors[].weight');
    });
    it('a missing factor value', () => {
      const regions = good.regions.map((g, i) => (i === 1 ? { ...g, factors: { A: '1' } } : g));
      expect(field({ ...good, regions })).toBe('input.regions[1].factors.B');
    });
    it('an unknown factor', () => {
      const regions = good.regions.map((g, i) =>
        i === 0 ? { ...g, factors: { ...g.factors, C: '1' } } : g,
      );
      expect(field({ ...good, regions })).toBe('input.regions[0].factors.C');
    });
    it('a coefficient as a number', () => {
      const regions = good.regions.map((g, i) => (i === 0 ? { ...g, performance: 1 } : g));
      expect(field({ ...good, regions })).toBe('input.regions[0].performance');
    });
    it('a total that is not an amount', () => {
      expect(field({ ...good, total: '1e5' })).toBe('input.total');
    });
    it('a factor that is 0 everywhere', () => {
      const regions = good.regions.map((g) => ({ ...g, factors: { ...g.factors, B: '0' } }));
      expect(field({ ...good, regions })).toBe('input.regions[].factors.B');
    });
    it('a duplicate region and a bad kind', () => {
      const regions = [...good.regions, good.regions[0]];
      expect(field({ ...good, regions })).toBe('input.regions[3].id');
      const factors = [
        { id: 'A', kind: 'general', weight: '1' },
        { id: 'B', kind: 'extra', weight: '0' },
      ];
      expect(field({ ...good, factors })).toBe('input.factors[1].kind');
    });
  });
});
