/**
 * A throwaway third region ("testland") for the tests of libs/rules/README.md "Adding a region":
 * its three files — rule set, yearly figures of 2024, one hospital in the registry — written into
 * a folder beside copies of the shipped rule sets, figures and registry, ready for
 * `RuleBook.load(newRegion(dir))`. Test code only (tsconfig.build.json leaves `testing/` out).
 *
 * The rule set is a copy of Panzhihua's (panzhihua-2023.v1.json) with the region, version, dates
 * and one policy figure changed: the 防止返贫监测 inpatient deductible is 8 % of the PCDI instead of
 * 5 % (the copy's article "testland 第十二条", from 004 第十二条), and its 2024 PCDI is 50,000.00.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../load';

const ROOT = projectRoot();
const SHIPPED = {
  ruleSets: join(ROOT, 'libs/rules/rulesets'),
  figures: join(ROOT, 'config/figures'),
  registry: join(ROOT, 'config/hospitals.json'),
};
/** The new region's one hospital (level 1, county agency 990101). */
export const TESTLAND_HOSPITAL = 'H99010000001';

interface Bucket {
  name: string;
  article: string;
  terms: Record<string, { deductible: unknown; ratio: string; annualCap: string | null }>;
}

/** The three files of the new region, written beside copies of the shipped ones. */
export function newRegion(dir: string): {
  ruleSetDir: string;
  figuresDir: string;
  registryFile: string;
} {
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
    fixmedins_code: TESTLAND_HOSPITAL,
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
