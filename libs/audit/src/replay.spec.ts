/**
 * Audit replay and what-if on the embedded default (PGlite): bills settled as the gateway
 * settles them, replayed from the archive.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArchiveSealer, type PgliteDb, verifyArchive } from '@onebill/ledger';
import { openTestPglite } from '@onebill/ledger/testing/pglite';
import { parseWireFen } from '@onebill/money';
import { RuleBook, projectRoot } from '@onebill/rules';
import { auditCsv, whatIfCsv } from './render';
import { auditReplay, whatIfReplay } from './replay';
import { parseCsv } from './csv';
import { seedLedger } from './testing/seed';

const root = projectRoot();
const examples = join(root, 'contracts/discharge/examples');
const discharges = readdirSync(examples)
  .filter((f) => f.startsWith('discharge-'))
  .map((f) => readFileSync(join(examples, f), 'utf8'));

/** The example bills again as other visits of a few persons each (accumulators carry over). */
function variants(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const xml = discharges[i % discharges.length]!;
    out.push(
      xml
        .replace(/<mdtrt_id>[^<]*</, `<mdtrt_id>AUD${String(i).padStart(6, '0')}<`)
        .replace(/<psn_no>([^<]*)</, (_m, p: string) => `<psn_no>${p}-${i % 7}<`),
    );
  }
  return out;
}

/** Panzhihua ordinary outpatient, level 1, no identity, no commercial insurance. */
function outpatient(i: number, inscp: string): string {
  return discharges
    .find((x) => x.includes('<fixmedins_code>H51040000006<') && x.includes('<med_type>11<'))!
    .replace(/<mdtrt_id>[^<]*</, `<mdtrt_id>WIF${i}<`)
    .replace(/<psn_no>[^<]*</, `<psn_no>WIF-P${i}<`)
    .replace(/<cmi_flag>1</, '<cmi_flag>0<')
    .replace(/<medfee_sumamt>[^<]*</, `<medfee_sumamt>${inscp}<`)
    .replace(/<fulamt_ownpay_amt>[^<]*</, '<fulamt_ownpay_amt>0.00<')
    .replace(/<preselfpay_amt>[^<]*</, '<preselfpay_amt>0.00<')
    .replace(/<inscp_scp_amt>[^<]*</, `<inscp_scp_amt>${inscp}<`);
}

describe('audit replay', () => {
  let db: PgliteDb;
  const rules = RuleBook.load();

  beforeEach(async () => {
    db = await openTestPglite({ migrate: true });
  });

  afterEach(async () => {
    await db.close();
  });

  it('replays every stored settlement to exactly what is stored', async () => {
    const seeded = await seedLedger(db, rules, variants(240), { pageSize: 50 });
    const progress: number[] = [];
    const report = await auditReplay(
      db,
      rules,
      {},
      {
        pageSize: 64,
        onProgress: (p) => progress.push(p.done),
      },
    );
    expect(report).toMatchObject({ total: 240, matched: 240, differing: 0, failed: 0 });
    expect(report.differences).toEqual([]);
    expect(progress.at(-1)).toBe(240);
    expect(progress.length).toBeGreaterThan(2);
    // filters narrow it: one bill, one hospital, one person
    const one = seeded[17]!;
    expect((await auditReplay(db, rules, { bill: one.mdtrtId })).total).toBe(1);
    expect((await auditReplay(db, rules, { bill: one.setlId })).total).toBe(1);
    const byHospital = await auditReplay(db, rules, { hospital: one.fixmedinsCode });
    expect(byHospital.total).toBe(
      seeded.filter((s) => s.fixmedinsCode === one.fixmedinsCode).length,
    );
    expect((await auditReplay(db, rules, { from: '2099-01-01' })).total).toBe(0);
  });

  it('an altered stored amount: replay and the archive verification point at that bill', async () => {
    const seeded = await seedLedger(db, rules, variants(60));
    const target = seeded[23]!;
    await new ArchiveSealer(db).sealNow();
    await db.query(`UPDATE settlements SET hifp_pay = hifp_pay + 0.01 WHERE setl_id = $1`, [
      target.setlId,
    ]);
    const report = await auditReplay(db, rules, {});
    expect(report).toMatchObject({ total: 60, matched: 59, differing: 1 });
    const [d] = report.differences;
    expect(d).toMatchObject({ setlId: target.setlId, mdtrtId: target.mdtrtId });
    expect(d!.diffs).toHaveLength(1);
    const diff = d!.diffs[0]!;
    expect(diff.field).toBe('hifp_pay');
    // one fen apart
    expect(parseWireFen(diff.stored, 'stored') - parseWireFen(diff.replayed, 'replayed')).toBe(1);

    const verify = await verifyArchive(db);
    expect(verify.ok).toBe(false);
    expect(verify.firstBroken).toMatchObject({
      setlId: target.setlId,
      mdtrtId: target.mdtrtId,
      reason: 'LEDGER_ROW_ALTERED',
    });

    const csv = parseCsv(auditCsv(report));
    expect(csv[0]).toEqual([
      'setl_id',
      'mdtrt_id',
      'fixmedins_code',
      'clr_optins',
      'psn_no',
      'rule_set_version',
      'status',
      'field',
      'stored',
      'replayed',
      'error',
    ]);
    expect(csv.slice(1)).toEqual([
      [
        target.setlId,
        target.mdtrtId,
        target.fixmedinsCode,
        d!.clrOptins,
        d!.psnNo,
        d!.ruleSetVersion,
        'settled',
        'hifp_pay',
        diff.stored,
        diff.replayed,
        '',
      ],
    ]);
  });

  it('an archived message altered behind the guard no longer replays to its bill', async () => {
    const seeded = await seedLedger(db, rules, variants(10));
    await db.exec(`ALTER TABLE archive DISABLE TRIGGER archive_append_only`);
    await db.query(
      `UPDATE archive SET content = replace(content, '<fu_flag>0<', '<fu_flag>1<')
       WHERE kind = 'in' AND content LIKE $1`,
      [`%${seeded[4]!.mdtrtId}%`],
    );
    const report = await auditReplay(db, rules, {});
    expect(report.differing).toBe(1);
    expect(report.differences[0]!.setlId).toBe(seeded[4]!.setlId);
    expect(report.differences[0]!.diffs.map((x) => x.field)).toContain('bill');
  });

  it('a settlement without its archived input is reported as failed, not matched', async () => {
    await seedLedger(db, rules, variants(3));
    await db.query(`UPDATE settlements SET inbox_id = NULL WHERE mdtrt_id = 'AUD000001'`);
    const report = await auditReplay(db, rules, {});
    expect(report).toMatchObject({ total: 3, matched: 2, failed: 1 });
    expect(report.differences[0]!.error).toMatch(/no archived inbound message/);
  });
});

describe('what-if', () => {
  let db: PgliteDb;
  const rules = RuleBook.load();

  beforeEach(async () => {
    db = await openTestPglite({ migrate: true });
  });

  afterEach(async () => {
    await db.close();
  });

  /** A rule book whose Panzhihua basic ordinary-outpatient ratio at level 1 is `ratio`. */
  function whatIfBook(ratio: string): RuleBook {
    const dir = mkdtempSync(join(tmpdir(), 'whatif-'));
    const src = join(root, 'libs/rules/rulesets');
    for (const f of readdirSync(src).filter((x) => x.endsWith('.json'))) {
      const data = JSON.parse(readFileSync(join(src, f), 'utf8')) as {
        region: string;
        version: string;
        supersededBy?: string;
        $schema?: string;
        insurance: {
          basic: Record<string, Record<string, { ratioByLevel: Record<string, string> }>>;
        };
      };
      delete data.$schema;
      // a superseded version is kept for replay only; the what-if is of the version in force
      if (data.supersededBy !== undefined) continue;
      if (data.region === 'panzhihua') {
        data.version = data.version.replace(/\.\d+$/, '.99');
        data.insurance.basic['390']!['ordinary-outpatient']!.ratioByLevel['1'] = ratio;
      }
      writeFileSync(join(dir, f), JSON.stringify(data));
    }
    return RuleBook.load({ ruleSetDir: dir });
  }

  it('a changed basic ratio moves exactly the expected amount from the patient to the fund', async () => {
    // three persons, one level-1 ordinary-outpatient visit each, in-scope 150.00, 80.00, 333.33
    await seedLedger(db, rules, [
      outpatient(1, '150.00'),
      outpatient(2, '80.00'),
      outpatient(3, '333.33'),
    ]);
    const report = await whatIfReplay(db, whatIfBook('0.70'), {});
    // Basic insurance, ordinary outpatient, level 1 (panzhihua-2023 rule set,
    // insurance.basic.390.ordinary-outpatient, EXAMPLE values; order of tiers 004 第八条):
    // stored at 0.60: 90.00 + 48.00 + 200.00 (333.33 × 0.60 = 199.998) = 338.00
    // what-if 0.70:  105.00 + 56.00 + 233.33 (333.33 × 0.70 = 233.331) = 394.33
    // delta +56.33 for the fund, −56.33 for the patient; nobody reaches the 400.00 cap.
    const basic = report.totals.find((t) => t.fund === 'basic')!;
    expect(basic).toEqual({ fund: 'basic', stored: '338.00', whatIf: '394.33', delta: '56.33' });
    const patient = report.totals.find((t) => t.fund === 'patient')!;
    expect(patient.delta).toBe('-56.33');
    for (const t of report.totals.filter((x) => x.fund !== 'basic' && x.fund !== 'patient')) {
      expect(t.delta).toBe('0.00');
    }
    expect(report).toMatchObject({ total: 3, changed: 3, failed: 0 });
    expect(report.versions).toEqual(['panzhihua-2023.99+figures-2024.1']);
    expect(report.impact.filter((i) => i.fund === 'basic')).toEqual([
      {
        county: '510402',
        category: 'none',
        fund: 'basic',
        bills: 3,
        stored: '338.00',
        whatIf: '394.33',
        delta: '56.33',
      },
    ]);
    const csv = parseCsv(whatIfCsv(report));
    expect(csv).toContainEqual(['*', '*', 'basic', '3', '338.00', '394.33', '56.33']);
  });

  it("carries a person's what-if accumulators to the next bill (the cap is reached sooner)", async () => {
    // one person, two visits of 300.00: stored at 0.60 → 180.00 + 180.00 (cap 400.00 not hit)
    // at 0.90: 270.00, then 400.00 − 270.00 = 130.00 left under the annual cap
    const a = outpatient(7, '300.00');
    const b = outpatient(8, '300.00').replace('<psn_no>WIF-P8<', '<psn_no>WIF-P7<');
    await seedLedger(db, rules, [a, b]);
    const report = await whatIfReplay(db, whatIfBook('0.90'), {});
    const basic = report.totals.find((t) => t.fund === 'basic')!;
    expect(basic).toEqual({ fund: 'basic', stored: '360.00', whatIf: '400.00', delta: '40.00' });
  });
});
