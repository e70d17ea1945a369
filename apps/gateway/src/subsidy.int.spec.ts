/**
 * Enrollment subsidies over a period, one county per person, and withdrawing a mistaken identity
 * period (issue 15 item 6; docs/adr/0009 decisions 8 and 8a), on a real PostgreSQL (a schema of
 * its own) with the shipped rule sets and figures.
 *
 * Amounts: Panzhihua 2024 individual contribution 400.00 (config/figures/panzhihua-2024.json,
 * EXAMPLE values); 004 第六条: 特困 in full (400.00), 低保 75 % (300.00).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type PgDb, identityPeriods, migrate } from '@onebill/ledger';
import { createSchema, dropSchemaAndClose, openInSchema } from '@onebill/ledger/testing/postgres';
import { RuleBook } from '@onebill/rules';
import { IdentityService } from './identity.service';
import { IntakeService, type Outcome } from './intake.service';
import { Logger } from './log';
import { countyReport, personSubsidy } from './subsidy';
import { outpatientVisit } from './testing/intake-fixtures';

const YEAR_2024 = { year: 2024, from: '2024-01-01', to: '2024-12-31' };
const OPERATOR = { name: 'ops-anna', role: 'operator' };

describe('subsidy reports and withdrawn identity periods (PostgreSQL)', () => {
  const schema = `subsidy_it_${randomBytes(5).toString('hex')}`;
  const rules = RuleBook.load();
  const log = new Logger('error', {}, () => undefined);
  const http = { kind: 'http' as const };
  let db: PgDb;
  let intake: IntakeService;
  let identities: IdentityService;

  beforeAll(async () => {
    await createSchema(schema);
    db = openInSchema(schema, 3);
    await migrate(db);
    intake = new IntakeService(db, rules, log, { maxMessageBytes: 65536 });
    identities = new IdentityService(db, rules, log);
  });

  afterAll(() => dropSchemaAndClose(db, schema));

  /** Records an identity change; its change id. */
  const identify = async (
    psn: string,
    category: string,
    admdvs: string,
    validFrom: string,
    validTo: string | null = null,
  ): Promise<string> => {
    const o = await identities.process(
      JSON.stringify({
        issuer: 'civil-affairs',
        reference: randomUUID(),
        psn_no: psn,
        admdvs,
        category,
        valid_from: validFrom,
        valid_to: validTo,
      }),
      http,
    );
    if (o.status !== 'recorded') throw new Error(JSON.stringify(o));
    return o.changeId;
  };

  const settled = (o: Outcome) => {
    if (o.status !== 'settled') throw new Error(`expected settled, got ${o.status}`);
    return o.settlement;
  };

  it('a county report over the year: mid-year identifications in, each person in one county, a withdrawn period out', async () => {
    const run = randomUUID().slice(0, 6);
    // 米易县 510421: A 低保 since 2023-10-01; B 特困 identified on 2024-06-01
    await identify(`A-${run}`, 'dibao', '510421', '2023-10-01');
    await identify(`B-${run}`, 'tekun', '510421', '2024-06-01');
    // C moved: 低保 in 东区 510402 until 05-31, then in 510421 from 06-01
    await identify(`C-${run}`, 'dibao', '510402', '2023-01-01', '2024-05-31');
    await identify(`C-${run}`, 'dibao', '510421', '2024-06-01');
    // D: a 特困 period in 510421 sent for the wrong person, then withdrawn
    const d = await identify(`D-${run}`, 'tekun', '510421', '2024-02-01');
    const w = await identities.withdraw(
      `D-${run}`,
      d,
      'wrong person (civil affairs ticket 17)',
      OPERATOR,
    );
    expect(w.status).toBe('withdrawn');

    const miyi = await countyReport(db, rules, '510421', 'panzhihua', YEAR_2024);
    expect(miyi.people.map((p) => p.psnNo).sort()).toEqual([`A-${run}`, `B-${run}`]);
    // 低保 75 % of 400.00 = 300.00, 特困 in full 400.00 (004 第六条)
    expect(miyi.byCategory).toEqual([
      { category: 'dibao', persons: 1, subsidyPerPerson: '300.00', total: '300.00' },
      { category: 'tekun', persons: 1, subsidyPerPerson: '400.00', total: '400.00' },
    ]);
    expect(miyi.total).toBe('700.00');
    const b = miyi.people.find((p) => p.psnNo === `B-${run}`)!;
    expect(b.county).toMatchObject({
      contributionDate: '2024-06-01',
      basis: 'identified-in-period',
    });

    // C counts in 510402 once, with the reason naming 510421; never 300 + 300
    const dongqu = await countyReport(db, rules, '510402', 'panzhihua', YEAR_2024);
    expect(dongqu.people.map((p) => p.psnNo)).toEqual([`C-${run}`]);
    expect(dongqu.total).toBe('300.00');
    expect(dongqu.people[0]!.county.alsoRegisteredIn).toEqual(['510421']);
    expect(dongqu.people[0]!.county.reason).toContain('not counted in 510421');
    // 2025: only 510421's identity overlaps
    const next = await personSubsidy(db, rules, `C-${run}`, {
      year: 2025,
      from: '2025-01-01',
      to: '2025-12-31',
    });
    expect(next?.county.admdvs).toBe('510421');

    // the one-day snapshot on 1 January (the old report) misses B
    const snapshot = await countyReport(db, rules, '510421', 'panzhihua', {
      year: 2024,
      from: '2024-01-01',
      to: '2024-01-01',
    });
    expect(snapshot.people.map((p) => p.psnNo)).toEqual([`A-${run}`]);
  });

  it('withdrawing a mistaken period: kept with who, when and why, left out by registry, preview, settlement and subsidy; bills paid under it listed, unchanged', async () => {
    const psn = `P-WD-${randomUUID().slice(0, 8)}`;
    // 150.00 in scope on 05-11, no identity: basic 90.00, the patient 60.00 (panzhihua-2023
    // example values)
    const s = settled(
      await intake.submit(outpatientVisit({ psn, day: '2024-05-11', inscp: '150.00' }).xml, http),
    );
    expect(s.result.setlinfo.mafPay).toBe('0.00');
    // 低保 sent with a wrong valid_from (03-01 instead of 06-01): a top-up of 42.00, 70 % of the
    // in-scope personal part 60.00 (004 第十条)
    const wrong = await identities.process(
      JSON.stringify({
        issuer: 'civil-affairs',
        reference: `wrong-${psn}`,
        psn_no: psn,
        admdvs: '510402',
        category: 'dibao',
        valid_from: '2024-03-01',
        valid_to: null,
      }),
      http,
    );
    if (wrong.status !== 'recorded') throw new Error(JSON.stringify(wrong));
    expect(wrong.topups.map((t) => t.deltas.assistance)).toEqual(['42.00']);
    const topupId = wrong.topups[0]!.topupId;

    const w = await identities.withdraw(
      psn,
      wrong.changeId,
      'valid_from should be 2024-06-01',
      OPERATOR,
    );
    if (w.status !== 'withdrawn') throw new Error(JSON.stringify(w));
    expect(w.period).toEqual({
      category: 'dibao',
      validFrom: '2024-03-01',
      validTo: null,
      admdvs: '510402',
    });
    expect(w.changeIds).toEqual([wrong.changeId]);
    // the bill topped up under it is listed for review, not changed
    expect(w.billsToReview).toEqual([
      expect.objectContaining({
        setlId: s.setlId,
        dischargeDate: '2024-05-11',
        topupIds: [topupId],
      }),
    ]);
    const { rows: bill } = await db.query<{ status: string; maf_pay: string }>(
      `SELECT status, maf_pay::text FROM settlements WHERE setl_id = $1`,
      [s.setlId],
    );
    expect(bill).toEqual([{ status: 'settled', maf_pay: '0.00' }]);
    const { rows: tops } = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM topups WHERE setl_id = $1`,
      [s.setlId],
    );
    expect(tops[0]!.n).toBe('1');

    // the audit trail: the withdrawal row and the operator's action, archived in the chain
    const { rows: action } = await db.query<{
      actor: string;
      role: string;
      target: string;
      detail: { reason: string; withdrawal_id: string; bills_to_review: string[] };
    }>(`SELECT actor, role, target, detail FROM operator_actions WHERE id = $1::bigint`, [
      w.actionId,
    ]);
    expect(action[0]).toMatchObject({
      actor: 'ops-anna',
      role: 'operator',
      target: `${psn} dibao 2024-03-01`,
      detail: {
        reason: 'valid_from should be 2024-06-01',
        withdrawal_id: w.withdrawalId,
        bills_to_review: [s.setlId],
      },
    });
    const { rows: archived } = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM archive WHERE kind = 'operator' AND ref = $1`,
      [w.actionId],
    );
    expect(archived[0]!.n).toBe('1');
    // not deleted: the change is still in the history; the withdrawal cannot be edited away
    const { rows: history } = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM identity_changes WHERE psn_no = $1`,
      [psn],
    );
    expect(history[0]!.n).toBe('1');
    await expect(
      db.query(`DELETE FROM identity_withdrawals WHERE id = $1::bigint`, [w.withdrawalId]),
    ).rejects.toThrow(/append-only/);
    // once only
    expect(await identities.withdraw(psn, wrong.changeId, 'again', OPERATOR)).toMatchObject({
      status: 'already-withdrawn',
      withdrawalId: w.withdrawalId,
    });
    expect(
      await identities.withdraw(`${psn}-other`, wrong.changeId, 'not theirs', OPERATOR),
    ).toMatchObject({ status: 'not-found' });

    // the registry, the preview, a settlement and the subsidy leave it out
    expect(await identityPeriods(db, psn)).toEqual([]);
    const later = outpatientVisit({ psn, day: '2024-05-20', inscp: '150.00' });
    const preview = await intake.preview(later.xml);
    expect(preview.result?.setlinfo.mafPay).toBe('0.00');
    const s2 = settled(await intake.submit(later.xml, http));
    expect(s2.result.setlinfo.mafPay).toBe('0.00');
    expect(await personSubsidy(db, rules, psn, YEAR_2024)).toBeNull();

    // the issuer's correction (06-01) counts: a bill of 06-10 gets the 低保 assistance, the
    // subsidy counts from 06-01 in 510402
    await identify(psn, 'dibao', '510402', '2024-06-01');
    const june = settled(
      await intake.submit(outpatientVisit({ psn, day: '2024-06-10', inscp: '150.00' }).xml, http),
    );
    expect(june.result.setlinfo.mafPay).toBe('42.00');
    const sub = await personSubsidy(db, rules, psn, YEAR_2024);
    expect(sub).toMatchObject({
      county: { admdvs: '510402', contributionDate: '2024-06-01' },
      subsidy: { category: 'dibao', subsidy: '300.00' },
    });
  });
});
