/**
 * The path of libs/rules/README.md "Adding a region", walked with a throwaway third region
 * ("testland"): its rule set, its yearly figures and one hospital in the registry are the only
 * files added — in temp folders beside copies of the shipped ones, handed to the same loader the
 * gateway uses (`RuleBook.load({ ruleSetDir, figuresDir, registryFile })`) — and a bill of its
 * hospital is settled by the engine under its own rule set. No source file names the region.
 *
 * The rule set is a copy of Panzhihua's (panzhihua-2023.v1.json) with the region, version, dates
 * and one policy figure changed: the 防止返贫监测 inpatient deductible is 8 % of the PCDI instead of
 * 5 % (the copy's article "testland 第十二条", from 004 第十二条), and its PCDI is 50,000.00.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Accumulators, compiled, emptyAccumulators, settle } from '@onebill/engine';
import { fundModuleOf, parseFundYear } from '@onebill/funds';
import { RuleBook } from './load';
import { TESTLAND_HOSPITAL as HOSPITAL, newRegion } from './testing/new-region';
import type { RuleSetError } from './types';

/** Basic and critical-illness insurance at their caps (the copy's insurance.basic.390 pooled cap
 * 200,000.00 and ordinary-outpatient cap 400.00, insurance.critical.390.annualCap 400,000.00): the
 * assistance base is the whole in-scope cost. */
const insuranceExhausted = (): Accumulators => ({
  ...emptyAccumulators(2024),
  basicPaid: { pooled: '200000.00', 'ordinary-outpatient': '400.00' },
  criticalPaid: '400000.00',
});

describe('adding a region (libs/rules/README.md "Adding a region")', () => {
  let dir: string;
  let book: RuleBook;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'onebill-new-region-'));
    book = RuleBook.load(newRegion(dir));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads beside the shipped regions from its three files', () => {
    expect(book.regions()).toEqual(['baoshan', 'panzhihua', 'testland']);
    expect(book.hospital(HOSPITAL)).toMatchObject({ region: 'testland', level: '1' });
    // the shipped data is unchanged: Panzhihua still resolves with its own figures
    expect(book.resolve('panzhihua', '2024-05-10').version).toBe('panzhihua-2023.2+figures-2024.1');
  });

  it("settles its hospital's bill under its own rule set and figures (testland 第十二条)", () => {
    const hospital = book.hospital(HOSPITAL);
    if (hospital === undefined) throw new Error('no hospital');
    const resolved = book.resolve(hospital.region, '2024-05-10');
    expect(resolved.version).toBe('testland-2024.1+figures-2024.1');
    const ruleSet = compiled(resolved);
    const r = settle({
      ruleSet,
      accumulators: insuranceExhausted(),
      bill: {
        fixmedinsCode: HOSPITAL,
        mdtrtId: 'T1',
        psnNo: 'P9900000001',
        insutype: '390',
        medType: '21',
        hospitalLevel: hospital.level,
        admissionDate: '2024-05-01',
        dischargeDate: '2024-05-10',
        referred: true,
        // out of province: tilted assistance (the copy's 004 第十三条) stays out of the figure
        inProvince: false,
        followUp: false,
        commercialEnrolled: false,
        identities: ['monitored'],
        medfeeSumamt: '5000.00',
        fulamtOwnpayAmt: '0.00',
        overlmtSelfpay: '0.00',
        preselfpayAmt: '0.00',
        inscpScpAmt: '5000.00',
      },
    });
    expect(r.ruleSetVersion).toBe('testland-2024.1+figures-2024.1');
    const assistance = r.setldetail.find((d) => d.fund === 'assistance');
    // testland 第十二条: deductible 8 % × 50,000.00 = 4,000.00 (Panzhihua's 5 % × 43,567.00 would
    // be 2,178.35); ratio 65 % (copied): (5,000.00 − 4,000.00) × 0.65 = 650.00
    expect(assistance?.setlProcInfo[0]).toMatchObject({
      step: 'deductible',
      deductible: '4000.00',
    });
    expect(assistance?.fundPayamt).toBe('650.00');
    expect(r.setlinfo.mafPay).toBe('650.00');
  });

  it('a region missing one of its files is refused at load, naming the file to add', () => {
    const sub = mkdtempSync(join(tmpdir(), 'onebill-new-region-'));
    try {
      const files = newRegion(sub);
      rmSync(join(files.figuresDir, 'testland-2024.json'));
      const partial = RuleBook.load(files);
      expect(() => partial.resolve('testland', '2024-05-10')).toThrow(
        expect.objectContaining({
          code: 'NO_FIGURES_FOR_YEAR',
          message: expect.stringContaining('config/figures/testland-2024.json') as unknown,
        }) as RuleSetError,
      );
    } finally {
      rmSync(sub, { recursive: true, force: true });
    }
  });

  it('needs no funds module: the region simply has no fund statement', () => {
    expect(fundModuleOf('testland')).toBeUndefined();
    expect(() =>
      parseFundYear({ region: 'testland', year: 2024, revision: 1, example: false }),
    ).toThrow(/has no fund rules \(regions with fund rules: baoshan, jilin, panzhihua\)/);
  });
});
