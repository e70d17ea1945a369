/**
 * Identity feed, retroactive top-ups, the registry-wins rule and high-burden alerts, on the
 * embedded default store (PGlite) with the shipped rule sets and figures (issue 6).
 */
import { randomUUID } from 'node:crypto';
import { type PgliteDb } from '@onebill/ledger';
import type { IdentityService } from './identity.service';
import type { IntakeService, Outcome } from './intake.service';
import { identityChange, intakeOnPglite, outpatientVisit } from './testing/intake-fixtures';

/** An ordinary outpatient visit: in-scope `inscp`, out-of-scope `own` (all the patient's). */
const visit = (psn: string, day: string, inscp: string, own = '0.00', identities = ''): string =>
  outpatientVisit({
    psn,
    day,
    inscp,
    own,
    identities,
    mdtrtId: `MDT-ID-${randomUUID().slice(0, 12)}`,
  }).xml;

const change = (psn: string, category: string, from: string, ref: string = randomUUID()): string =>
  identityChange(psn, category, from, null, ref);

describe('identity feed and retroactive assistance (PGlite)', () => {
  let db: PgliteDb;
  let intake: IntakeService;
  let identities: IdentityService;
  const http = { kind: 'http' as const };

  beforeAll(async () => {
    ({ db, intake, identities } = await intakeOnPglite());
  });

  afterAll(async () => {
    await db.close();
  });

  const settledOf = (o: Outcome) => {
    if (o.status !== 'settled') throw new Error(`expected settled, got ${o.status}`);
    return o.settlement;
  };

  it('a person settled without a category and identified later as 低保 gets the difference as a top-up', async () => {
    const psn = `P-TOPUP-${randomUUID().slice(0, 8)}`;
    const s = settledOf(await intake.submit(visit(psn, '2024-05-11', '150.00'), http));
    // basic, ordinary outpatient, level 1: 150.00 × 0.60 = 90.00 (panzhihua-2023 example values);
    // no identity: no assistance, the patient pays 60.00
    expect(s.result.setlinfo.hifpPay).toBe('90.00');
    expect(s.result.setlinfo.mafPay).toBe('0.00');

    const o = await identities.process(change(psn, 'dibao', '2024-03-01'), http);
    if (o.status !== 'recorded') throw new Error(JSON.stringify(o));
    // 低保 ordinary outpatient: 70 % of the in-scope personal part 60.00 = 42.00 (004 第十条)
    expect(o.topups).toHaveLength(1);
    expect(o.topups[0]).toMatchObject({
      setlId: s.setlId,
      deltas: {
        basic: '0.00',
        critical: '0.00',
        commercial: '0.00',
        assistance: '42.00',
        tilted: '0.00',
      },
      psnCashDelta: '-42.00',
    });
    const { rows: ev } = await db.query<{ payload: string }>(
      `SELECT payload FROM outbox WHERE event_id = $1`,
      [o.topups[0]!.eventId],
    );
    expect(JSON.parse(ev[0]!.payload)).toMatchObject({
      event_type: 'top-up',
      setl_id: s.setlId,
      tops_up_event_id: s.eventId,
      fund_pay_sumamt: '42.00',
      psn_cash_pay: '-42.00',
      medfee_sumamt: '0.00',
      funds: [{ fund: 'assistance', amount: '42.00' }],
    });
    // the person's position now counts the assistance paid
    const { rows: acc } = await db.query<{ data: { assistancePaid: Record<string, string> } }>(
      `SELECT data FROM accumulators WHERE psn_no = $1 AND year = 2024`,
      [psn],
    );
    expect(acc[0]!.data.assistancePaid).toEqual({ 'ordinary-outpatient': '42.00' });
  });

  it('the same change twice is one change and one top-up; another reference with the same content adds nothing', async () => {
    const psn = `P-TWICE-${randomUUID().slice(0, 8)}`;
    await intake.submit(visit(psn, '2024-06-01', '100.00'), http);
    const msg = change(psn, 'dibao', '2024-01-15', 'REF-TWICE');
    const first = await identities.process(msg, http);
    const again = await identities.process(msg, http);
    expect(first.status).toBe('recorded');
    expect(again.status).toBe('duplicate');
    const other = await identities.process(change(psn, 'dibao', '2024-01-15'), http);
    if (other.status !== 'recorded') throw new Error(other.status);
    expect(other.topups).toEqual([]);
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM topups WHERE psn_no = $1`,
      [psn],
    );
    expect(rows[0]!.n).toBe(1);
  });

  it('bills before the identification date are not topped up (identification-date window, 004 第十九条)', async () => {
    const psn = `P-WINDOW-${randomUUID().slice(0, 8)}`;
    await intake.submit(visit(psn, '2024-02-10', '100.00'), http);
    const after = settledOf(await intake.submit(visit(psn, '2024-04-10', '100.00'), http));
    const o = await identities.process(change(psn, 'dibao', '2024-03-01'), http);
    if (o.status !== 'recorded') throw new Error(o.status);
    expect(o.topups.map((t) => t.setlId)).toEqual([after.setlId]);
  });

  it('an identity that ends claws nothing back, and later bills are computed without it', async () => {
    const psn = `P-END-${randomUUID().slice(0, 8)}`;
    await identities.process(change(psn, 'dibao', '2024-01-01', 'REF-END-1'), http);
    const s = settledOf(await intake.submit(visit(psn, '2024-05-01', '100.00'), http));
    expect(s.result.setlinfo.mafPay).toBe('28.00'); // 70 % of 40.00 (004 第十条)
    const ended = JSON.stringify({
      issuer: 'civil-affairs',
      reference: 'REF-END-2',
      psn_no: psn,
      admdvs: '510402',
      category: 'dibao',
      valid_from: '2024-01-01',
      valid_to: '2024-04-30',
    });
    const o = await identities.process(ended, http);
    if (o.status !== 'recorded') throw new Error(o.status);
    expect(o.topups).toEqual([]);
    const { rows } = await db.query<{ maf_pay: string; status: string }>(
      `SELECT maf_pay::text AS maf_pay, status FROM settlements WHERE setl_id = $1`,
      [s.setlId],
    );
    expect(rows[0]).toEqual({ maf_pay: '28.00', status: 'settled' });
    const later = settledOf(await intake.submit(visit(psn, '2024-06-01', '100.00'), http));
    expect(later.result.setlinfo.mafPay).toBe('0.00');
  });

  it('the registry wins over the message, and the bill says so', async () => {
    const psn = `P-REG-${randomUUID().slice(0, 8)}`;
    await identities.process(change(psn, 'dibao', '2024-01-01'), http);
    const s = settledOf(
      await intake.submit(
        visit(psn, '2024-05-01', '100.00', '0.00', '<identity>tekun</identity>'),
        http,
      ),
    );
    expect(s.result.categoryUsed).toBe('dibao');
    expect(s.result.warnings.join(' ')).toMatch(/IDENTITY_FROM_REGISTRY.*dibao.*tekun/);
    const { rows } = await db.query<{ identities_used: string[] }>(
      `SELECT identities_used FROM settlements WHERE setl_id = $1`,
      [s.setlId],
    );
    expect(rows[0]!.identities_used).toEqual(['dibao']);
  });

  it('bad changes are rejected naming the field; the flow goes on', async () => {
    const o = await identities.process(
      JSON.stringify({
        issuer: 'civil-affairs',
        reference: 'R',
        psn_no: 'P1',
        admdvs: '5104',
        category: 'rich',
        valid_from: '2024-02-30',
      }),
      http,
    );
    if (o.status !== 'rejected') throw new Error(o.status);
    expect(o.problems.map((p) => p.field).sort()).toEqual(['admdvs', 'category', 'valid_from']);
    const notJson = await identities.process('<identity/>', http);
    expect(notJson.status).toBe('rejected');
  });

  it('crossing 50 % of the PCDI raises one alert for the person and year (004 第十八条)', async () => {
    const psn = `P-BURDEN-${randomUUID().slice(0, 8)}`;
    // panzhihua 2024 pcdi 43,567.00 (example figure) × 0.50 = 21,783.50. Out-of-scope cost is all
    // the patient's: 15,000.00 + 60.00, then 7,000.00 + 60.00 → 22,120.00 crosses, then more
    const bills = [
      visit(psn, '2024-03-01', '150.00', '15000.00'),
      visit(psn, '2024-04-01', '150.00', '7000.00'),
      visit(psn, '2024-05-01', '150.00', '3000.00'),
    ];
    for (const b of bills) await intake.submit(b, http);
    await intake.submit(bills[1]!, http); // a resend: a duplicate, no second alert
    const { rows } = await db.query<{ payload: string }>(
      `SELECT payload FROM outbox WHERE topic = 'alerts.high-burden.v1' AND key = $1`,
      [psn],
    );
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]!.payload)).toMatchObject({
      psn_no: psn,
      year: 2024,
      threshold: '21783.50',
      cash_self_pay: '22120.00',
      article: '004 第十八条',
    });
  });
});
