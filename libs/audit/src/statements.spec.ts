/**
 * Reconciliation, clearing and fund statements over a ledger on the embedded default (PGlite).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { D, type Dec } from '@onebill/money';
import { parseFundYear } from '@onebill/funds';
import { type PgliteDb, reverseSettlement } from '@onebill/ledger';
import { openTestPglite } from '@onebill/ledger/testing/pglite';
import { DECLARED_FUNDS, type DeclaredFund, decodeDeclaration } from '@onebill/messaging';
import { RuleBook, projectRoot } from '@onebill/rules';
import { fundTotals } from './compare';
import { parseCsv } from './csv';
import { DeclarationError, parseCsvDeclarations } from './declarations';
import { reconciliationCsv } from './render';
import {
  annualClearing,
  assistanceSpending,
  fundStatementOf,
  monthlyClearing,
  reconcile,
} from './statements';
import { type Seeded, seedLedger } from './testing/seed';

const root = projectRoot();
const examples = join(root, 'contracts/discharge/examples');
const panzhihua = readdirSync(examples)
  .filter((f) => f.startsWith('discharge-panzhihua-'))
  .map((f) => readFileSync(join(examples, f), 'utf8'));

/** Bills of hospital H51040000006 (东区, 510402) in May 2024, each another visit. */
function mayBills(n: number, hospital = 'H51040000006'): string[] {
  return Array.from({ length: n }, (_v, i) =>
    panzhihua[i % panzhihua.length]!.replace(
      /<fixmedins_code>[^<]*</,
      `<fixmedins_code>${hospital}<`,
    )
      .replace(/<hosp_lv>[^<]*</, '<hosp_lv>1<')
      .replace(/<mdtrt_id>[^<]*</, `<mdtrt_id>REC${i}<`)
      .replace(/<psn_no>[^<]*</, `<psn_no>REC-P${i}<`),
  );
}

interface FundRow {
  setl_id: string;
  setldetail: Parameters<typeof fundTotals>[0];
}

async function fundsOf(db: PgliteDb, setlId: string) {
  const { rows } = await db.query<FundRow>(
    `SELECT setl_id, result -> 'setldetail' AS setldetail FROM settlements WHERE setl_id = $1`,
    [setlId],
  );
  return fundTotals(rows[0]!.setldetail);
}

describe('reconciliation, clearing and fund statements', () => {
  let db: PgliteDb;
  const rules = RuleBook.load();
  let seeded: Seeded[];

  beforeEach(async () => {
    db = await openTestPglite({ migrate: true });
    seeded = await seedLedger(db, rules, mayBills(12), { setlTime: () => '2024-05-20 10:00:00' });
  });

  afterEach(async () => {
    await db.close();
  });

  /** The hospital's own detail lines, as it would declare them (3202), from our own amounts. */
  async function detailLines(of: Seeded[]): Promise<string> {
    const lines = [
      'fixmedins_code,clr_optins,month,setl_id,mdtrt_id,basic,critical,commercial,assistance,tilted',
    ];
    for (const s of of) {
      const f = await fundsOf(db, s.setlId);
      lines.push(
        `${s.fixmedinsCode},510402,2024-05,${s.setlId},${s.mdtrtId},${f.basic},${f.critical},${f.commercial},${f.assistance},${f.tilted}`,
      );
    }
    return lines.join('\n');
  }

  it('a declaration equal to our bills matches on every fund', async () => {
    const [declaration] = parseCsvDeclarations(await detailLines(seeded));
    const report = await reconcile(db, declaration!);
    expect(report.matched).toBe(true);
    expect(report.bills).toEqual([]);
    expect(report.lines.map((l) => l.fund)).toEqual([
      'basic',
      'critical',
      'commercial',
      'assistance',
      'tilted',
    ]);
  });

  it('a declaration missing one bill names that bill, and the totals differ by its amounts', async () => {
    const missing = seeded[5]!;
    const [declaration] = parseCsvDeclarations(
      await detailLines(seeded.filter((s) => s !== missing)),
    );
    const report = await reconcile(db, declaration!);
    expect(report.matched).toBe(false);
    expect(report.bills.map((b) => [b.setlId, b.mdtrtId, b.kind])).toEqual([
      [missing.setlId, missing.mdtrtId, 'missing-declared'],
    ]);
    const f = await fundsOf(db, missing.setlId);
    for (const line of report.lines) {
      expect(line.difference).toBe(new D(f[line.fund]).negated().toFixed(2));
      expect(line.matched).toBe(new D(f[line.fund]).isZero());
    }
    const csv = parseCsv(reconciliationCsv(report));
    expect(csv.filter((r) => r[0] === 'bill').every((r) => r[5] === missing.setlId)).toBe(true);
  });

  it('a declared line with our setl_id but another visit is a visit mismatch, not a match', async () => {
    const moved = seeded[3]!;
    const text = (await detailLines(seeded)).replace(
      `${moved.setlId},${moved.mdtrtId},`,
      `${moved.setlId},REC-ELSEWHERE,`,
    );
    const report = await reconcile(db, parseCsvDeclarations(text)[0]!);
    expect(report.matched).toBe(false);
    // the amounts are right: only the visit is wrong
    expect(report.lines.every((l) => l.matched)).toBe(true);
    expect(report.bills).toEqual([
      {
        setlId: moved.setlId,
        mdtrtId: moved.mdtrtId,
        kind: 'visit-mismatch',
        declaredMdtrtId: 'REC-ELSEWHERE',
        funds: [],
      },
    ]);
    const csv = parseCsv(reconciliationCsv(report)).filter((r) => r[0] === 'bill');
    expect(csv.map((r) => [r[5], r[7]])).toEqual([[moved.setlId, 'visit-mismatch']]);
  });

  it('a declared bill that was reversed is labelled reversed, not missing', async () => {
    const gone = seeded[7]!;
    const lines = await detailLines(seeded);
    await db.transaction(async (tx) => {
      await reverseSettlement(tx, gone.setlId, { reason: 'test' });
    });
    const report = await reconcile(db, parseCsvDeclarations(lines)[0]!);
    expect(report.bills.map((b) => [b.setlId, b.kind])).toEqual([[gone.setlId, 'reversed']]);
    expect(report.bills[0]!.reversedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('declared totals that are not the sum of the declared lines are flagged', async () => {
    const [d] = parseCsvDeclarations(await detailLines(seeded));
    const sum = (f: DeclaredFund): Dec =>
      d!.bills!.reduce((a, b) => a.plus(b.funds[f] ?? '0'), new D(0));
    const totals = Object.fromEntries(DECLARED_FUNDS.map((f) => [f, sum(f).toFixed(2)])) as Record<
      DeclaredFund,
      string
    >;
    totals.basic = sum('basic').plus('10.00').toFixed(2);
    const report = await reconcile(db, { ...d!, totals });
    expect(report.matched).toBe(false);
    expect(report.inconsistentTotals).toEqual([
      {
        fund: 'basic',
        declaredTotal: totals.basic,
        sumOfLines: sum('basic').toFixed(2),
        difference: '10.00',
      },
    ]);
  });

  it('XML totals only (3201): a difference lists the bills of the cell behind it', async () => {
    const xml = `<?xml version="1.0"?>
<reconciliation version="1">
  <fixmedins_code>H51040000006</fixmedins_code>
  <clr_optins>510402</clr_optins>
  <month>2024-05</month>
  <totals><basic>1.00</basic></totals>
</reconciliation>`;
    const d = decodeDeclaration(xml);
    if (!d.ok) throw new Error(JSON.stringify(d.errors));
    const report = await reconcile(db, d.declaration);
    expect(report.matched).toBe(false);
    expect(report.bills.filter((b) => b.kind === 'listed')).toHaveLength(12);
  });

  it('a bad declaration names the line and the column', () => {
    expect(() =>
      parseCsvDeclarations(
        'fixmedins_code,clr_optins,month,setl_id,basic\nH51040000006,510402,2024-13,S1,12.5x\n',
      ),
    ).toThrow(DeclarationError);
    try {
      parseCsvDeclarations(
        'fixmedins_code,clr_optins,month,setl_id,basic\nH51040000006,510402,2024-13,S1,12.5x\n',
      );
    } catch (e) {
      expect((e as DeclarationError).problems.map((p) => p.field)).toEqual([
        'line 2.month',
        'line 2.basic',
      ]);
    }
    const x = decodeDeclaration(
      '<reconciliation version="1"><fixmedins_code>H1</fixmedins_code><clr_optins>51040</clr_optins><month>2024-05</month><totals><bonus>1</bonus></totals></reconciliation>',
    );
    expect(x.ok).toBe(false);
    if (!x.ok) expect(x.errors.map((e) => e.field)).toEqual(['clr_optins', 'totals.bonus']);
  });

  it('monthly clearing: settled in the month less reversals made in it; a later reversal changes a later month', async () => {
    const [a, b] = [seeded[0]!, seeded[1]!];
    await db.transaction(async (tx) => {
      await reverseSettlement(tx, a.setlId, { reason: 'test' });
      await reverseSettlement(tx, b.setlId, { reason: 'test' });
    });
    // a reversed in May (Beijing), b in June
    await db.query(
      `UPDATE settlements SET reversed_at = '2024-05-25 02:00:00+00' WHERE setl_id = $1`,
      [a.setlId],
    );
    await db.query(
      `UPDATE settlements SET reversed_at = '2024-06-03 02:00:00+00' WHERE setl_id = $1`,
      [b.setlId],
    );
    const fa = await fundsOf(db, a.setlId);
    const fb = await fundsOf(db, b.setlId);
    let all = { basic: new D(0), assistance: new D(0) };
    for (const s of seeded) {
      const f = await fundsOf(db, s.setlId);
      all = { basic: all.basic.plus(f.basic), assistance: all.assistance.plus(f.assistance) };
    }
    const may = await monthlyClearing(db, '510402', '2024-05');
    const basic = may.lines.find((l) => l.fund === 'basic')!;
    expect(basic).toMatchObject({
      fixmedinsCode: 'H51040000006',
      settledBills: 12,
      reversedBills: 1,
    });
    expect(basic.settled).toBe(all.basic.toFixed(2));
    expect(basic.owed).toBe(all.basic.minus(fa.basic).toFixed(2));
    const june = await monthlyClearing(db, '510402', '2024-06');
    expect(june.lines.find((l) => l.fund === 'basic')).toMatchObject({
      settledBills: 0,
      reversedBills: 1,
      owed: new D(fb.basic).negated().toFixed(2),
    });
    // annual clearing of 2024: due = the bills still settled; the monthly statements cleared the
    // same, since both reversals fell in 2024 → balance 0.00
    const year = await annualClearing(db, '510402', 2024);
    const yb = year.lines.find((l) => l.fund === 'basic')!;
    expect(yb.due).toBe(all.basic.minus(fa.basic).minus(fb.basic).toFixed(2));
    expect(yb.balance).toBe('0.00');
  });

  it('annual clearing: a reversal after the year end is the balance of the annual clearing', async () => {
    const c = seeded[2]!;
    await db.transaction(async (tx) => {
      await reverseSettlement(tx, c.setlId, { reason: 'late' });
    });
    await db.query(
      `UPDATE settlements SET reversed_at = '2025-02-10 02:00:00+00' WHERE setl_id = $1`,
      [c.setlId],
    );
    const fc = await fundsOf(db, c.setlId);
    const year = await annualClearing(db, '510402', 2024);
    const yb = year.lines.find((l) => l.fund === 'basic')!;
    expect(yb.balance).toBe(new D(fc.basic).negated().toFixed(2));
    // and it is not in February 2025's monthly statement (it belongs to 2024's annual clearing)
    const feb = await monthlyClearing(db, '510402', '2025-02');
    expect(feb.lines).toEqual([]);
  });

  it("fund statement: the year's assistance spending per county against the funds raised", async () => {
    const spending = await assistanceSpending(db, 2024, ['510402', '510403']);
    let expected = new D(0);
    for (const s of seeded) {
      const f = await fundsOf(db, s.setlId);
      expected = expected.plus(f.assistance).plus(f.tilted);
    }
    expect(spending).toEqual({ '510402': expected.toFixed(2), '510403': '0.00' });
    const data = parseFundYear(
      JSON.parse(readFileSync(join(root, 'config/funds/panzhihua-2024.json'), 'utf8')),
    );
    const { statement } = await fundStatementOf(db, data);
    if (statement.region !== 'panzhihua') throw new Error('expected the Panzhihua statement');
    const east = statement.rows.find((r) => r.county === '510402')!;
    expect(east).toMatchObject({ spending: expected.toFixed(2) });
  });
});
