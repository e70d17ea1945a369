/**
 * The generator takes a region's categories and person-number prefix from the data (the rule
 * book and the registry), so a new region's hospital needs no edit here (libs/rules/README.md
 * "Adding a region"), and the shipped regions' bills are the same for the same seed as before.
 */
import { RuleBook } from '@onebill/rules';
import { BillGenerator, type HospitalRef, hospitalRefs } from './generate';

const bills = (hospitals: HospitalRef[], n: number) => {
  const g = new BillGenerator({ seed: 7, year: 2024, hospitals, persons: 50 });
  return Array.from({ length: n }, () => g.bill());
};

describe('BillGenerator hospitals from the rule book', () => {
  const book = RuleBook.load();

  it('gives the shipped regions the same bills as the region-only references', () => {
    const refs = hospitalRefs(book);
    const regionOnly = refs.map(({ code, level, region }) => ({ code, level, region }));
    expect(bills(refs, 300)).toEqual(bills(regionOnly, 300));
    expect(new Set(bills(refs, 300).map((b) => b.psnNo.slice(0, 3)))).toEqual(
      new Set(['P51', 'P53']),
    );
  });

  it("a new region's hospital gets its own categories and its province's person numbers", () => {
    const out = bills(
      [
        {
          code: 'H99010000001',
          level: '1',
          region: 'testland',
          admdvs: '990101',
          categories: ['x'],
        },
      ],
      100,
    );
    expect(new Set(out.map((b) => b.psnNo.slice(0, 3)))).toEqual(new Set(['P99']));
    expect(new Set(out.flatMap((b) => b.identities))).toEqual(new Set(['x']));
  });
});
