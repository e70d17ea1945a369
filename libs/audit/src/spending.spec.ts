import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FundInputError } from '@onebill/funds';
import { fundStatementGiven, fundYearFile, readFundYear, readSpending } from './statements';

const dir = mkdtempSync(join(tmpdir(), 'spending-'));
const write = (name: string, data: unknown): string => {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(data));
  return file;
};

function problems(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof FundInputError) return e.problems;
    throw e;
  }
  throw new Error('expected a FundInputError');
}

describe('funds --spending: a statement from given spending', () => {
  const baoshan = readFundYear(fundYearFile('baoshan', 2026));

  it('computes the statement of the spending given, not the ledger’s', () => {
    const file = write('ok.json', {
      region: 'baoshan',
      year: 2026,
      spending: { '530502': '12360000.00', '530521': '4700000.00' },
    });
    const s = fundStatementGiven(baoshan, readSpending(file, baoshan), file);
    const row = (c: string) => s.statement.rows.find((r) => 'county' in r && r.county === c);
    // 隆阳区 budget 12,000,000.00 (EXAMPLE), overspend 360,000.00 = 3 % (inclusive): the city's
    // accumulated surplus covers it all (002 第二十一条（一）)
    expect(row('530502')).toMatchObject({
      overspend: '360000.00',
      cityShare: '360000.00',
      countyShare: '0.00',
    });
    // 施甸县 budget 4,500,000.00, overspend 200,000.00 = 4.44 %: city 50 %, county 50 % (（二）)
    expect(row('530521')).toMatchObject({ cityShare: '100000.00', countyShare: '100000.00' });
    expect(s.spendingSource).toBe(file);
  });

  it('names an unknown county with the known ones, and a wrong year', () => {
    const file = write('bad.json', {
      region: 'baoshan',
      year: 2025,
      spending: { '530599': '1.00' },
    });
    expect(problems(() => readSpending(file, baoshan))).toEqual([
      `${file}: year: 2025 but the fund data is of 2026`,
      `${file}: spending: unknown county '530599'; known: 530502, 530521, 530523, 530524, 530581`,
    ]);
  });

  it('checks the file against its schema, every problem on its own line', () => {
    const file = write('schema.json', {
      region: 'baoshan',
      year: 2026,
      spend: {},
      spending: { '530502': '12.345' },
    });
    expect(problems(() => readSpending(file, baoshan))).toEqual([
      `${file}: unknown key 'spend'; known: region, year, note, spending`,
      `${file}: spending.530502: "12.345" must match pattern "^(0|[1-9][0-9]{0,11})(\\.[0-9]{1,2})?$"`,
    ]);
  });

  it('checks a fund data file against its schema before its arithmetic', () => {
    const file = write('baoshan-2026.json', {
      region: 'baoshan',
      year: 2026,
      revision: 1,
      example: true,
      note: 'test',
      cityAccumulatedSurplus: '1.00',
      counties: [{ admdvs: '530502', name: '隆阳区', budget: '1.00', budgets: '2.00' }],
    });
    expect(problems(() => readFundYear(file))).toEqual([
      `${file}: counties[0]: unknown key 'budgets'; known: admdvs, name, budget`,
    ]);
  });
});
