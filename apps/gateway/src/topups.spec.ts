/**
 * Top-ups as part of their settlement (issue 15, docs/adr/0009): the numbers of the issue, on the
 * embedded store (PGlite) with the shipped rule sets. Panzhihua ordinary outpatient at a level-1
 * hospital (EXAMPLE insurance values of the rule set): basic 60 %, basic annual cap 400.00;
 * 低保 assistance 70 % of the in-scope personal part, annual cap 800.00 (004 第九条、第十条).
 */
import { randomUUID } from 'node:crypto';
import Ajv2020 from 'ajv/dist/2020';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type PgliteDb } from '@onebill/ledger';
import { projectRoot } from '@onebill/rules';
import type { IdentityService } from './identity.service';
import type { IntakeService, Outcome } from './intake.service';
import {
  EXAMPLES,
  type Visit,
  identityChange,
  intakeOnPglite,
  outpatientVisit,
  reversalXml,
  setTag,
} from './testing/intake-fixtures';
import { settlementView } from './topups';

const ADMISSION = readFileSync(join(EXAMPLES, 'admission-panzhihua.xml'), 'utf8');
const INPATIENT = readFileSync(join(EXAMPLES, 'discharge-panzhihua-21-dibao.xml'), 'utf8');
const topupResultValid = new Ajv2020({ strict: false, allErrors: true }).compile(
  JSON.parse(
    readFileSync(join(projectRoot(), 'contracts/events/topup-result.v1.schema.json'), 'utf8'),
  ) as object,
);
const contractErrors = (v: unknown): unknown[] =>
  topupResultValid(v) ? [] : (topupResultValid.errors ?? ['invalid']);

const tag = setTag;
const visit = (psn: string, day: string, inscp: string, mdtrtId?: string): Visit =>
  outpatientVisit({ psn, day, inscp, ...(mdtrtId === undefined ? {} : { mdtrtId }) });
const reversal = reversalXml;
const change = identityChange;

describe('top-ups are part of their settlement (issue 15)', () => {
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

  const settled = (o: Outcome) => {
    if (o.status !== 'settled') throw new Error(`expected settled, got ${JSON.stringify(o)}`);
    return o.settlement;
  };
  const accumulators = async (psn: string) => {
    const { rows } = await db.query<{
      data: {
        basicPaid: Record<string, string>;
        assistancePaid: Record<string, string>;
        cashSelfPay: string;
      };
    }>(`SELECT data FROM accumulators WHERE psn_no = $1 AND year = 2024`, [psn]);
    return rows[0]!.data;
  };
  const countyEvents = async (setlId: string) => {
    const { rows } = await db.query<{ payload: string }>(
      `SELECT payload FROM outbox WHERE topic = 'settlement.events.v1' ORDER BY id`,
    );
    return rows
      .map((r) => JSON.parse(r.payload) as Record<string, unknown>)
      .filter((e) => e.setl_id === setlId);
  };

  it('reversing a topped-up bill reverses its top-up; the corrected bill pays what it alone would', async () => {
    const psn = `P-REV-TOPUP-${randomUUID().slice(0, 8)}`;
    const a = visit(psn, '2024-05-11', '300.00');
    const b = visit(psn, '2024-05-12', '2300.00');
    const sa = settled(await intake.submit(a.xml, http));
    settled(await intake.submit(b.xml, http));
    // basic 60 % of 300.00 = 180.00; of 2300.00 the cap's rest 400.00 − 180.00 = 220.00
    expect(sa.result.setlinfo.hifpPay).toBe('180.00');
    const o = await identities.process(change(psn, 'dibao', '2024-03-01'), http);
    if (o.status !== 'recorded') throw new Error(o.status);
    // 低保 70 % of 120.00 = 84.00; then of 2080.00, capped at 800.00 − 84.00 = 716.00 (004 第十条)
    expect(o.topups.map((t) => t.deltas.assistance)).toEqual(['84.00', '716.00']);

    const r = await intake.submit(reversal(a.fixmedinsCode, a.mdtrtId), http);
    expect(r.status).toBe('reversed');
    const events = await countyEvents(sa.setlId);
    const reversals = events.filter((e) => e.event_type === 'reversed');
    // −A (the basic 180.00 of the original bill) and −top-up (the assistance 84.00)
    expect(reversals).toHaveLength(2);
    expect(reversals.map((e) => e.fund_pay_sumamt).sort()).toEqual(['-180.00', '-84.00']);
    const topupEvent = events.find((e) => e.event_type === 'top-up')!;
    expect(reversals.find((e) => e.fund_pay_sumamt === '-84.00')).toMatchObject({
      reverses_event_id: topupEvent.event_id,
      medfee_sumamt: '0.00',
      psn_cash_pay: '84.00',
      funds: [{ fund: 'assistance', amount: '-84.00' }],
    });
    // the accumulators as if neither the bill nor its top-up had happened: the 2300.00 bill's
    const acc = await accumulators(psn);
    expect(acc.assistancePaid['ordinary-outpatient']).toBe('716.00');
    expect(acc.cashSelfPay).toBe('1364.00');

    // the corrected bill: basic 180.00, 低保 84.00 (the cap's rest), cash 36.00
    const again = settled(
      await intake.submit(visit(psn, '2024-05-11', '300.00', a.mdtrtId).xml, http),
    );
    expect(again.result.setlinfo.hifpPay).toBe('180.00');
    expect(again.result.setlinfo.mafPay).toBe('84.00');
    expect(again.result.setlinfo.psnCashPay).toBe('36.00');
  });

  it('a bill reversed before the identity arrives never re-enters the recomputation', async () => {
    const psn = `P-REV-FIRST-${randomUUID().slice(0, 8)}`;
    const a = visit(psn, '2024-05-11', '300.00');
    settled(await intake.submit(a.xml, http));
    const sb = settled(await intake.submit(visit(psn, '2024-05-12', '200.00').xml, http));
    expect((await intake.submit(reversal(a.fixmedinsCode, a.mdtrtId), http)).status).toBe(
      'reversed',
    );
    const o = await identities.process(change(psn, 'dibao', '2024-03-01'), http);
    if (o.status !== 'recorded') throw new Error(o.status);
    // the 200.00 bill: basic 120.00, personal 80.00, 低保 70 % = 56.00 (004 第十条、第十九条)
    expect(o.topups.map((t) => [t.setlId, t.deltas.assistance])).toEqual([[sb.setlId, '56.00']]);
    const acc = await accumulators(psn);
    expect(acc.basicPaid['ordinary-outpatient']).toBe('120.00');
    expect(acc.cashSelfPay).toBe('24.00');
    // the next bill of 500.00: basic the cap's rest 280.00, personal 220.00, 低保 154.00, cash 66.00
    const next = settled(await intake.submit(visit(psn, '2024-06-01', '500.00').xml, http));
    expect(next.result.setlinfo.hifpPay).toBe('280.00');
    expect(next.result.setlinfo.mafPay).toBe('154.00');
    expect(next.result.setlinfo.psnCashPay).toBe('66.00');
  });

  it('the hospital is told about a top-up and its reversal; the settlement shows its top-ups and totals', async () => {
    const psn = `P-HIS-${randomUUID().slice(0, 8)}`;
    const a = visit(psn, '2024-05-11', '200.00');
    const s = settled(await intake.submit(a.xml, http));
    const o = await identities.process(change(psn, 'dibao', '2024-03-01'), http);
    if (o.status !== 'recorded') throw new Error(o.status);
    const his = async (type: string) => {
      const { rows } = await db.query<{ payload: string }>(
        `SELECT payload FROM outbox WHERE topic = 'his.settlement-result.v1'
           AND headers ->> 'event-type' = $1 AND payload LIKE $2`,
        [type, `%${s.setlId}%`],
      );
      return rows.map((r) => JSON.parse(r.payload) as Record<string, unknown>);
    };
    // 低保 70 % of 80.00 = 56.00 (004 第十条、第十九条): refund 56.00 to the patient
    const told = await his('top-up');
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({
      status: 'top-up',
      setl_id: s.setlId,
      mdtrt_id: a.mdtrtId,
      topup_id: o.topups[0]!.topupId,
      refund_to_patient: '56.00',
      changes: { maf_pay: '56.00', psn_cash_pay: '-56.00' },
      totals: { maf_pay: '56.00', psn_cash_pay: '24.00', hifp_pay: '120.00' },
    });
    // what the gateway writes is what contracts/events/topup-result.v1.schema.json says
    expect(contractErrors(told[0])).toEqual([]);
    expect(
      contractErrors(
        JSON.parse(
          readFileSync(
            join(projectRoot(), 'contracts/events/examples/topup-result.v1.json'),
            'utf8',
          ),
        ),
      ),
    ).toEqual([]);
    expect(contractErrors({ ...told[0], refund_to_patient: undefined })).not.toEqual([]);
    const view = await settlementView(db, s);
    expect(view.totals).toMatchObject({
      maf_pay: '56.00',
      psn_cash_pay: '24.00',
      hifp_pay: '120.00',
    });
    expect(view.topups).toEqual([
      expect.objectContaining({ topup_id: o.topups[0]!.topupId, maf_pay: '56.00', status: 'paid' }),
    ]);

    expect((await intake.submit(reversal(a.fixmedinsCode, a.mdtrtId), http)).status).toBe(
      'reversed',
    );
    const untold = await his('top-up-reversed');
    expect(untold).toHaveLength(1);
    expect(untold[0]).toMatchObject({
      status: 'top-up-reversed',
      setl_id: s.setlId,
      topup_id: o.topups[0]!.topupId,
      changes: { maf_pay: '-56.00', psn_cash_pay: '56.00' },
    });
    expect(contractErrors(untold[0])).toEqual([]);
    const after = await settlementView(db, { ...s, status: 'reversed' });
    expect(after.topups[0]).toMatchObject({ status: 'reversed' });
    expect(after.totals).toMatchObject({ maf_pay: '0.00', fund_pay_sumamt: '0.00' });
  });

  it('the preview reads the registry like the settlement and says which identity it used', async () => {
    const psn = `P-PREVIEW-${randomUUID().slice(0, 8)}`;
    await identities.process(change(psn, 'dibao', '2024-01-01'), http);
    const v = visit(psn, '2024-05-11', '200.00');
    const p = await intake.preview(v.xml);
    expect(p.result?.setlinfo.mafPay).toBe('56.00');
    expect(p.identities).toEqual({ categories: ['dibao'], source: 'registry' });
    const s = settled(await intake.submit(v.xml, http));
    expect(s.result.setlinfo.mafPay).toBe(p.result?.setlinfo.mafPay);
    expect(s.result.setlinfo.psnCashPay).toBe(p.result?.setlinfo.psnCashPay);
    // a person the registry does not know: the message's identities, and the answer says so
    const other = await intake.preview(INPATIENT);
    expect(other.identities).toEqual({ categories: ['dibao', 'monitored'], source: 'message' });
  });

  it('the deposit waiver reads the registry (004 第十六条)', async () => {
    const admit = (psn: string, identitiesXml: string) => {
      let x = tag(ADMISSION, 'psn_no', psn);
      x = tag(x, 'mdtrt_id', `MDT-ADM-${randomUUID().slice(0, 10)}`);
      return x.replace(/<identities>.*<\/identities>/, identitiesXml);
    };
    // a registry 特困 sent with a blank message: no deposit
    const tekun = `P-WAIVE-${randomUUID().slice(0, 8)}`;
    await identities.process(change(tekun, 'tekun', '2024-01-01'), http);
    const o1 = await intake.submit(admit(tekun, '<identities/>'), http);
    if (o1.status !== 'admitted') throw new Error(o1.status);
    expect(o1.depositWaiver).toMatchObject({ applies: true, category: 'tekun' });
    expect(o1.identities).toEqual({ categories: ['tekun'], source: 'registry' });
    // a 低保 that ended on 03-31 but is still in the message: asked for a deposit
    const ended = `P-ENDED-${randomUUID().slice(0, 8)}`;
    await identities.process(change(ended, 'dibao', '2024-01-01', '2024-03-31'), http);
    const o2 = await intake.submit(
      admit(ended, '<identities><identity>dibao</identity></identities>'),
      http,
    );
    if (o2.status !== 'admitted') throw new Error(o2.status);
    expect(o2.depositWaiver.applies).toBe(false);
    expect(o2.identities).toEqual({ categories: [], source: 'registry' });
  });
});
