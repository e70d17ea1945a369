/**
 * High-burden alerts that can be acted on (issue 15, docs/adr/0009 decision 7), on the embedded
 * store with the shipped rule sets: keyed to the person's county, withdrawn when a reversal takes
 * the person back under the line, raised again when they cross it again, acknowledged by a role.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type PgliteDb, acknowledgeAlert, findAlert, listAlerts } from '@onebill/ledger';
import { projectRoot } from '@onebill/rules';
import type { IdentityService } from './identity.service';
import type { IntakeService } from './intake.service';
import {
  type Visit,
  setTag as tag,
  intakeOnPglite,
  outpatientVisit,
  reversalXml,
} from './testing/intake-fixtures';

/** Ordinary outpatient at H51040000006 (东区, 510402): 150.00 in scope, `own` out of scope. */
const visit = (psn: string, day: string, own: string): Visit =>
  outpatientVisit({
    psn,
    day,
    inscp: '150.00',
    own,
    mdtrtId: `MDT-AL-${randomUUID().slice(0, 10)}`,
  });
const reversal = (mdtrtId: string): string => reversalXml('H51040000006', mdtrtId);

describe('high-burden alerts (issue 15)', () => {
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

  const alertEvents = async (psn: string) => {
    const { rows } = await db.query<{ payload: string }>(
      `SELECT payload FROM outbox WHERE topic = 'alerts.high-burden.v1' AND key = $1 ORDER BY id`,
      [psn],
    );
    return rows.map((r) => JSON.parse(r.payload) as Record<string, unknown>);
  };

  it("keys the alert to the person's county, withdraws it when a reversal takes them under the line, raises it again", async () => {
    const psn = `P-ALERT-${randomUUID().slice(0, 8)}`;
    // registered in 仁和区 (510411), treated in 东区 (510402)
    await identities.process(
      JSON.stringify({
        issuer: 'civil-affairs',
        reference: randomUUID(),
        psn_no: psn,
        admdvs: '510411',
        category: 'dibao',
        valid_from: '2024-01-01',
        valid_to: null,
      }),
      http,
    );
    // 004 第十八条: the line is 0.50 × the 2024 PCDI 43,567.00 (example figure) = 21,783.50.
    // Each bill: basic 90.00, 低保 70 % of 60.00 = 42.00 (004 第十条), cash 18.00 + out of scope
    await intake.submit(visit(psn, '2024-03-01', '15000.00').xml, http); // cash 15,018.00
    const second = visit(psn, '2024-04-01', '7000.00'); // 22,036.00: above the line
    await intake.submit(second.xml, http);
    const raised = await findAlert(db, psn, 2024);
    expect(raised).toMatchObject({
      status: 'open',
      admdvs: '510411',
      admdvsSource: 'registry',
      cashSelfPay: '22036.00',
      threshold: '21783.50',
    });
    expect((await listAlerts(db, { admdvs: '510411' })).map((a) => a.psnNo)).toContain(psn);
    expect((await listAlerts(db, { admdvs: '510402' })).map((a) => a.psnNo)).not.toContain(psn);

    // the reversal takes the person back to 15,018.00, under the line: withdrawn
    expect((await intake.submit(reversal(second.mdtrtId), http)).status).toBe('reversed');
    expect(await findAlert(db, psn, 2024)).toMatchObject({
      status: 'withdrawn',
      cashSelfPay: '15018.00',
    });
    // crossing again raises it again: 15,018.00 + 8,018.00 = 23,036.00
    await intake.submit(visit(psn, '2024-05-01', '8000.00').xml, http);
    expect(await findAlert(db, psn, 2024)).toMatchObject({
      status: 'open',
      cashSelfPay: '23036.00',
    });
    const events = await alertEvents(psn);
    expect(events.map((e) => e.event_type)).toEqual([
      'high-burden',
      'high-burden-withdrawn',
      'high-burden',
    ]);
    expect(events[1]).toMatchObject({
      admdvs: '510411',
      cash_self_pay: '15018.00',
      revises_event_id: events[0]!.event_id,
    });

    // an operator acknowledges it, once
    expect(await acknowledgeAlert(db, psn, 2024, 'operator-1')).toMatchObject({
      status: 'acknowledged',
      acknowledgedBy: 'operator-1',
    });
    expect(await acknowledgeAlert(db, psn, 2024, 'operator-2')).toBeNull();
  });

  it("falls back to the hospital's county when the registry does not know the person", async () => {
    const psn = `P-ALERT-H-${randomUUID().slice(0, 8)}`;
    await intake.submit(visit(psn, '2024-03-01', '22000.00').xml, http);
    expect(await findAlert(db, psn, 2024)).toMatchObject({
      admdvs: '510402',
      admdvsSource: 'hospital',
    });
  });

  it('Baoshan pushes a person whose burden exceeds the local monitoring standard (002 第二十六条)', async () => {
    const psn = `P-ALERT-BS-${randomUUID().slice(0, 8)}`;
    let x = readFileSync(
      join(projectRoot(), 'contracts/discharge/examples/discharge-baoshan-11-none.xml'),
      'utf8',
    );
    x = tag(x, 'psn_no', psn);
    x = tag(x, 'mdtrt_id', `MDT-BS-${randomUUID().slice(0, 10)}`);
    // 8,000.00 out of scope, all the patient's: above the 2024 monitoring standard 7,200.00
    // (EXAMPLE figure, config/figures/baoshan-2024.json)
    x = tag(x, 'medfee_sumamt', '8096.40');
    x = tag(x, 'fulamt_ownpay_amt', '8000.00');
    expect((await intake.submit(x, http)).status).toBe('settled');
    const events = await alertEvents(psn);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      event_type: 'high-burden',
      region: 'baoshan',
      threshold: '7200.00',
      share: '1.00',
      figure: 'monitoringStandard',
      article: '002 第二十六条',
      admdvs_source: 'hospital',
    });
  });
});
