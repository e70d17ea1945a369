/**
 * The contract's example messages are what integrators copy first: each must name a designated
 * institution of the registry (config/hospitals.json) with the registry's level and region, or the
 * gateway would reject it (HOSPITAL_LEVEL_MISMATCH / UNKNOWN_HOSPITAL).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuleBook, projectRoot } from './index';

const DIR = join(projectRoot(), 'contracts/discharge/examples');
const tag = (xml: string, name: string): string | undefined =>
  new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

describe('contract examples against the hospital registry', () => {
  const rules = RuleBook.load();
  const files = readdirSync(DIR).filter((f) => f.endsWith('.xml'));

  it.each(files)('%s names a registered hospital of its level and region', (file) => {
    const xml = readFileSync(join(DIR, file), 'utf8');
    const code = tag(xml, 'fixmedins_code');
    const hospital = rules.hospital(code ?? '');
    expect(hospital).toBeDefined();
    const level = tag(xml, 'hosp_lv');
    if (level !== undefined) expect(level).toBe(hospital?.level);
    const region = new RegExp(`-(${rules.regions().join('|')})[.-]`).exec(file)?.[1];
    expect(region).toBeDefined();
    expect(hospital?.region).toBe(region);
  });
});
