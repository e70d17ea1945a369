/**
 * The parallel audit replay (issue 17: worker threads, the persons split between them) gives the
 * sequential replay's report: the same counts and the same differences in the same order, on a
 * seeded archive (PGlite) with an altered amount, an altered archived message and a settlement
 * without its archived input.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type PgliteDb } from '@onebill/ledger';
import { openTestPglite } from '@onebill/ledger/testing/pglite';
import { RuleBook, projectRoot } from '@onebill/rules';
import { type AuditReport, auditReplay, personShare } from './replay';
import { seedLedger } from './testing/seed';

const examples = join(projectRoot(), 'contracts/discharge/examples');
const discharges = readdirSync(examples)
  .filter((f) => f.startsWith('discharge-'))
  .map((f) => readFileSync(join(examples, f), 'utf8'));

/** The example bills as other visits of 11 persons (a person's bills carry accumulators). */
function variants(n: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    discharges[i % discharges.length]!.replace(
      /<mdtrt_id>[^<]*</,
      `<mdtrt_id>PAR${String(i).padStart(6, '0')}<`,
    ).replace(/<psn_no>([^<]*)</, (_m, p: string) => `<psn_no>${p}-${i % 11}<`),
  );
}

/** The report without the fields that say when and how fast it ran. */
function content(
  r: AuditReport,
): Omit<AuditReport, 'startedAt' | 'finishedAt' | 'seconds' | 'billsPerSecond'> {
  const { startedAt: _s, finishedAt: _f, seconds: _t, billsPerSecond: _b, ...rest } = r;
  return rest;
}

describe('parallel audit replay', () => {
  let db: PgliteDb;
  const rules = RuleBook.load();

  beforeAll(async () => {
    db = await openTestPglite({ migrate: true });
    const seeded = await seedLedger(db, rules, variants(180), { pageSize: 50 });
    await db.query(`UPDATE settlements SET hifp_pay = hifp_pay + 0.01 WHERE setl_id = $1`, [
      seeded[23]!.setlId,
    ]);
    await db.exec(`ALTER TABLE archive DISABLE TRIGGER archive_append_only`);
    await db.query(
      `UPDATE archive SET content = replace(content, '<fu_flag>0<', '<fu_flag>1<')
       WHERE kind = 'in' AND content LIKE $1`,
      [`%${seeded[101]!.mdtrtId}%`],
    );
    await db.query(`UPDATE settlements SET inbox_id = NULL WHERE mdtrt_id = $1`, [
      seeded[150]!.mdtrtId,
    ]);
  }, 120_000);

  afterAll(async () => {
    await db?.close();
  });

  it('reports what the sequential replay reports, bill for bill', async () => {
    const sequential = await auditReplay(db, rules, {}, { pageSize: 40 });
    const progress: number[] = [];
    const parallel = await auditReplay(
      db,
      rules,
      {},
      { pageSize: 40, workers: 3, onProgress: (p) => progress.push(p.done) },
    );
    // the seeded faults are found (so the comparison is not between two empty lists)
    expect(sequential).toMatchObject({ total: 180, matched: 177, differing: 2, failed: 1 });
    expect(sequential.differences.map((d) => d.mdtrtId)).toEqual([
      'PAR000023',
      'PAR000101',
      'PAR000150',
    ]);
    expect(content(parallel)).toEqual(content(sequential));
    expect(progress.at(-1)).toBe(180);
  }, 120_000);

  it('sends a person’s bills to one worker, and spreads the persons', () => {
    const persons = Array.from({ length: 300 }, (_, i) => `P${i}`);
    const shares = persons.map((p) => personShare(p, 3));
    expect(persons.map((p) => personShare(p, 3))).toEqual(shares); // stable
    for (const k of [0, 1, 2]) {
      expect(shares.filter((s) => s === k).length).toBeGreaterThan(60);
    }
  });
});
