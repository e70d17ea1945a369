import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuleBook, projectRoot } from './load';
import { accumulatorProblems, readAccumulators } from './inputs';
import { RuleSetError } from './types';

const root = projectRoot();
const book = RuleBook.load();
const panzhihua = book.resolve('panzhihua', '2024-05-10');

function caught(fn: () => unknown): RuleSetError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RuleSetError) return e;
    throw e;
  }
  throw new Error('expected a RuleSetError');
}

describe('checked operator inputs', () => {
  it('--ytd: a misspelt bucket is an error naming it and the known ones (issue 14)', () => {
    // the case: 低保 with 69,000.00 already paid under a misspelt bucket would have been
    // paid 7,000.00 instead of the 1,000.00 left under the 70,000.00 cap (004 第十二条)
    const e = caught(() =>
      readAccumulators(
        { year: 2024, assistancePaid: { inpatient_chronic: '69000.00' } },
        panzhihua,
        2024,
      ),
    );
    expect(e.code).toBe('INVALID_ACCUMULATORS');
    expect(e.problems).toEqual([
      "ytd.assistancePaid: unknown bucket 'inpatient_chronic'; known: inpatient-chronic, ordinary-outpatient",
    ]);
  });

  it('--ytd: every problem at once, one line each', () => {
    const problems = accumulatorProblems(
      {
        year: 2023,
        tiltedBurden: '12.5',
        basicPaid: { pool: '1.00' },
        assistanceDeductibleUsed: { 'inpatient-chronic': '1.00' },
        extra: true,
      },
      panzhihua,
      2024,
    );
    expect(problems).toEqual([
      "ytd: unknown key 'extra'; known: year, basicDeductibleUsed, basicPaid, criticalBase, criticalPaid, commercialBase, commercialPaid, assistanceDeductibleUsed, assistancePaid, tiltedBurden, tiltedPaid, inscpSelfPay, cashSelfPay",
      'ytd.tiltedBurden: "12.5" must match pattern "^(0|[1-9][0-9]{0,7})\\.[0-9]{2}$"',
      "ytd.basicPaid: unknown cap group 'pool'; known: ordinary-outpatient, pooled",
      'ytd.year: accumulators of 2023 given for a bill discharged in 2024 (自然年度)',
    ]);
  });

  it('--ytd: a valid position is read, missing figures as 0.00', () => {
    const acc = readAccumulators(
      { year: 2024, assistancePaid: { 'inpatient-chronic': '69000.00' } },
      panzhihua,
      2024,
    );
    expect(acc.assistancePaid).toEqual({ 'inpatient-chronic': '69000.00' });
    expect(acc.tiltedBurden).toBe('0.00');
  });

  /** A copy of the shipped rule sets and registry, with `edit` applied to one file. */
  function bookWith(edit: {
    file: string;
    change: (d: Record<string, unknown>) => void;
  }): () => RuleBook {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    cpSync(join(root, 'libs/rules/rulesets'), join(dir, 'rulesets'), { recursive: true });
    cpSync(join(root, 'config/hospitals.json'), join(dir, 'hospitals.json'));
    const path = join(dir, edit.file);
    const data = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    delete data.$schema;
    edit.change(data);
    writeFileSync(path, JSON.stringify(data));
    return () =>
      RuleBook.load({
        ruleSetDir: join(dir, 'rulesets'),
        registryFile: join(dir, 'hospitals.json'),
      });
  }

  it('registry: a hospital of an unknown region names the known regions', () => {
    const load = bookWith({
      file: 'hospitals.json',
      change: (d) => {
        (d.hospitals as { region: string }[])[0]!.region = 'panzhihau';
      },
    });
    const e = caught(load);
    expect(e.code).toBe('INVALID_REGISTRY');
    expect(e.problems).toEqual([
      expect.stringMatching(
        /hospitals\.json: hospitals\[0\]\.region: unknown region 'panzhihau'; known: baoshan, panzhihua$/,
      ),
    ]);
  });

  it('rule set: a category or bucket it does not define is named with the known ones', () => {
    const load = bookWith({
      file: 'rulesets/baoshan-2023.v1.json',
      change: (d) => {
        (d.depositWaiver as { categories: string[] }).categories.push('te_kun');
        (d.settings as { emergencyBucket: { value: string } }).emergencyBucket.value =
          'outpatients';
      },
    });
    const e = caught(load);
    expect(e.code).toBe('INVALID_RULE_SET');
    expect(e.problems).toHaveLength(2);
    expect(e.problems[0]).toMatch(
      /depositWaiver\.categories: unknown category 'te_kun'; known: county_named, /,
    );
    expect(e.problems[1]).toMatch(
      /settings\.emergencyBucket\.value: unknown bucket 'outpatients'; known: inpatient, none, outpatient$/,
    );
  });

  it('rule set: an unknown reading value lists the allowed ones', () => {
    const load = bookWith({
      file: 'rulesets/panzhihua-2023.v1.json',
      change: (d) => {
        (d.settings as { identityTie: { value: string } }).identityTie.value = 'first';
      },
    });
    expect(caught(load).problems).toEqual([
      expect.stringMatching(
        /settings\.identityTie\.value: "first" is not one of "category-rank", "identity-order"$/,
      ),
    ]);
  });
});
