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
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Accumulators, compiled, emptyAccumulators, settle } from '@onebill/engine';
import { fundModuleOf, parseFundYear } from '@onebill/funds';
import { RuleBook, projectRoot } from './load';
import type { RuleSetError } from './types';

const ROOT = projectRoot();
const SHIPPED = {
  ruleSets: join(ROOT, 'libs/rules/rulesets'),
  figures: join(ROOT, 'config/figures'),
  registry: join(ROOT, 'config/hospitals.json'),
};
const HOSPITAL = 'H99010000001';

interface Bucket {
  name: string;
  article: string;
  terms: Record<string, { deductible: unknown; ratio: string; annualCap: string | null }>;
}

/** The three files of the new region, written beside copies of the shipped ones. */
function newRegion(dir: string): { ruleSetDir: string; figuresDir: string; registryFile: string } {
  const ruleSetDir = join(dir, 'rulesets');
  const figuresDir = join(dir, 'figures');
  for (const [from, to] of [
    [SHIPPED.ruleSets, ruleSetDir],
    [SHIPPED.figures, figuresDir],
  ] as const) {
    mkdirSync(to);
    for (const f of readdirSync(from).filter((n) => n.endsWith('.json')))
      copyFileSync(join(from, f), join(to, f));
  }

  // 1. the rule set: a copy of Panzhihua's, its region, version, dates and one figure changed
  const rs = JSON.parse(
    readFileSync(join(SHIPPED.ruleSets, 'panzhihua-2023.v1.json'), 'utf8'),
  ) as Record<string, unknown> & { assistance: Bucket[] };
  delete rs.$schema;
  rs.region = 'testland';
  rs.name = 'Testland (throwaway region of libs/rules/src/new-region.spec.ts)';
  rs.version = 'testland-2024.1';
  rs.effectiveFrom = '2024-01-01';
  rs.effectiveTo = null;
  rs.pcdiScope = 'testland city PCDI of the previous year (testland 第十二条)';
  const inpatient = rs.assistance.find((b) => b.name === 'inpatient-chronic');
  if (inpatient === undefined) throw new Error('the copied rule set has no inpatient bucket');
  inpatient.article = 'testland 第十一条、第十二条 (copied from 004 第十一条、第十二条)';
  const monitored = inpatient.terms.monitored;
  if (monitored === undefined) throw new Error('the copied rule set has no monitored terms');
  monitored.deductible = { pctOfFigure: '0.08', figure: 'pcdi' };
  writeFileSync(join(ruleSetDir, 'testland-2024.v1.json'), JSON.stringify(rs, null, 2));

  // 2. the yearly figures of 2024: every figure the rule set names
  const figures = JSON.parse(
    readFileSync(join(SHIPPED.figures, 'panzhihua-2024.json'), 'utf8'),
  ) as Record<string, unknown> & { figures: Record<string, { amount: string }> };
  delete figures.$schema;
  figures.region = 'testland';
  figures.note = 'EXAMPLE figures of a throwaway test region';
  const pcdi = figures.figures.pcdi;
  if (pcdi === undefined) throw new Error('the copied figures have no pcdi');
  pcdi.amount = '50000.00';
  writeFileSync(join(figuresDir, 'testland-2024.json'), JSON.stringify(figures, null, 2));

  // 3. the registry: the shipped hospitals and one of the new region
  const registry = JSON.parse(readFileSync(SHIPPED.registry, 'utf8')) as {
    hospitals: Record<string, string>[];
  } & Record<string, unknown>;
  delete registry.$schema;
  registry.hospitals.push({
    fixmedins_code: HOSPITAL,
    name: 'Testland hospital (example)',
    admdvs: '990101',
    county: 'Test county',
    level: '1',
    region: 'testland',
  });
  const registryFile = join(dir, 'hospitals.json');
  writeFileSync(registryFile, JSON.stringify(registry, null, 2));
  return { ruleSetDir, figuresDir, registryFile };
}

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
