/**
 * The gateway's monthly clearing against the county payment service's payables for the same month
 * (issue 15): bills, retroactive top-ups (004 第十九条), a reversal of a topped-up bill and its
 * resubmission, settled through the IntakeService/IdentityService on a PostgreSQL database of its
 * own; the settlement events the gateway wrote are then ingested by the county service's own
 * ingest and payables code (apps/county-payments) into the same database. Both must owe the
 * hospitals the same per fund, to the fen.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FundKind } from '@onebill/engine';
import { PgDb, migrate } from '@onebill/ledger';
import { monthlyClearing, annualClearing, assistanceSpending } from '@onebill/audit';
import { RuleBook, projectRoot } from '@onebill/rules';
import type { InboundMessage } from '@onebill/messaging';
import { type Dec, ZERO, decimalOf, formatDecimal } from '@onebill/money';
import { IdentityService } from '../apps/gateway/src/identity.service';
import { IntakeService, formatTime, type Outcome } from '../apps/gateway/src/intake.service';
import { Logger } from '../apps/gateway/src/log';
import { SettlementEventIngest } from '../apps/county-payments/src/ingest';
import {
  listPayables,
  migrate as migrateCounty,
} from '../apps/county-payments/src/payables.repository';

const EXAMPLES = join(projectRoot(), 'contracts/discharge/examples');
const OUTPATIENT = readFileSync(join(EXAMPLES, 'discharge-panzhihua-11-none.xml'), 'utf8');
const INPATIENT = readFileSync(join(EXAMPLES, 'discharge-panzhihua-21-dibao.xml'), 'utf8');
const COUNTY = '510402';

function tag(xml: string, name: string, value: string): string {
  return xml.replace(new RegExp(`<${name}>[^<]*</${name}>`), `<${name}>${value}</${name}>`);
}

function outpatient(
  psn: string,
  day: string,
  inscp: string,
  mdtrtId = `MDT-${randomUUID().slice(0, 12)}`,
) {
  let x = tag(OUTPATIENT, 'mdtrt_id', mdtrtId);
  x = tag(x, 'psn_no', psn);
  x = tag(x, 'cmi_flag', '0');
  x = tag(x, 'begntime', `${day} 08:30:00`);
  x = tag(x, 'endtime', `${day} 11:45:00`);
  x = tag(x, 'medfee_sumamt', inscp);
  x = tag(x, 'fulamt_ownpay_amt', '0.00');
  x = tag(x, 'overlmt_selfpay', '0.00');
  x = tag(x, 'preselfpay_amt', '0.00');
  x = tag(x, 'inscp_scp_amt', inscp);
  return { xml: x, mdtrtId };
}

/** The example inpatient bill of 48,620.35 at 攀枝花市中心医院 (东区, 510402), no identity sent. */
function inpatient(psn: string) {
  let x = tag(INPATIENT, 'fixmedins_code', 'H51040000001');
  x = tag(x, 'mdtrt_id', `MDT-IN-${randomUUID().slice(0, 12)}`);
  x = tag(x, 'psn_no', psn);
  return x.replace(/<identities>.*<\/identities>/, '<identities/>');
}

const reversal = (fixmedinsCode: string, mdtrtId: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?><reversal version="1"><fixmedins_code>${fixmedinsCode}` +
  `</fixmedins_code><mdtrt_id>${mdtrtId}</mdtrt_id><reason>费用录入错误</reason></reversal>`;

const change = (psn: string, category: string, from: string): string =>
  JSON.stringify({
    issuer: 'civil-affairs',
    reference: randomUUID(),
    psn_no: psn,
    admdvs: COUNTY,
    category,
    valid_from: from,
    valid_to: null,
  });

describe('gateway clearing = county payables, top-ups included (PostgreSQL)', () => {
  const name = `onebill_clearing_${randomBytes(5).toString('hex')}`;
  const rules = RuleBook.load();
  const log = new Logger('error', {}, () => undefined);
  let admin: PgDb;
  let db: PgDb;

  beforeAll(async () => {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('DATABASE_URL is not set: the integration global setup did not run');
    admin = PgDb.fromUrl(url, 1);
    await admin.exec(`CREATE DATABASE ${name}`);
    const own = new URL(url);
    own.pathname = `/${name}`;
    db = PgDb.fromUrl(own.toString(), 3);
    await migrate(db);
    await migrateCounty(db);
  });

  afterAll(async () => {
    await db.close();
    await admin.exec(`DROP DATABASE ${name}`);
    await admin.close();
  });

  it('owes each fund the same for the month, to the fen', async () => {
    const intake = new IntakeService(db, rules, log, { maxMessageBytes: 65536 });
    const identities = new IdentityService(db, rules, log);
    const http = { kind: 'http' as const };
    const ok = (o: Outcome, status: Outcome['status']): void => {
      if (o.status !== status) throw new Error(`expected ${status}: ${JSON.stringify(o)}`);
    };
    const month = formatTime(new Date()).slice(0, 7);

    // person 1: two outpatient bills, 低保 from March, then the first bill reversed and resent
    const p1 = `P-CLR-${randomUUID().slice(0, 8)}`;
    const a = outpatient(p1, '2024-05-11', '300.00');
    ok(await intake.submit(a.xml, http), 'settled');
    ok(await intake.submit(outpatient(p1, '2024-05-12', '2300.00').xml, http), 'settled');
    const c1 = await identities.process(change(p1, 'dibao', '2024-03-01'), http);
    if (c1.status !== 'recorded') throw new Error(c1.status);
    // 004 第十条: 70 % of 120.00 = 84.00; of 2,080.00 capped at 800.00 − 84.00 = 716.00
    expect(c1.topups.map((t) => t.deltas.assistance)).toEqual(['84.00', '716.00']);
    ok(await intake.submit(reversal('H51040000006', a.mdtrtId), http), 'reversed');
    ok(await intake.submit(outpatient(p1, '2024-05-11', '300.00', a.mdtrtId).xml, http), 'settled');

    // person 2: an inpatient stay settled without identity, then identified 特困 (004 第十九条):
    // the top-up moves money in more than one fund
    const p2 = `P-CLR-${randomUUID().slice(0, 8)}`;
    ok(await intake.submit(inpatient(p2), http), 'settled');
    const c2 = await identities.process(change(p2, 'tekun', '2024-01-01'), http);
    if (c2.status !== 'recorded') throw new Error(c2.status);
    expect(c2.topups).toHaveLength(1);

    // the county service ingests every settlement event the gateway wrote, with its own code
    const { rows } = await db.query<{ event_id: string; key: string; payload: string }>(
      `SELECT event_id::text AS event_id, key, payload FROM outbox
       WHERE topic = 'settlement.events.v1' ORDER BY id`,
    );
    const messages: InboundMessage[] = rows.map((r, i) => ({
      topic: 'settlement.events.v1',
      partition: 0,
      offset: String(i),
      key: Buffer.from(r.key),
      value: Buffer.from(r.payload),
      headers: { 'event-id': Buffer.from(r.event_id) },
      timestamp: String(Date.now()),
    }));
    const ingest = new SettlementEventIngest(db, [COUNTY], { warn: () => undefined });
    await ingest.handleBatch({
      topic: 'settlement.events.v1',
      partition: 0,
      messages,
      highWatermark: String(messages.length),
      signal: new AbortController().signal,
      heartbeat: () => Promise.resolve(),
      // the county service's database is up for the whole test: nothing to wait for
      whenReady: () => Promise.resolve(),
    });
    expect(ingest.stats.rejected).toBe(0);
    expect(formatTime(new Date()).slice(0, 7)).toBe(month); // the run did not straddle a month

    // fund_pay_type → fund, as the events name them
    const fundOf = new Map<string, FundKind>();
    for (const r of rows) {
      const e = JSON.parse(r.payload) as { funds: { fund_pay_type: string; fund: FundKind }[] };
      for (const f of e.funds) fundOf.set(f.fund_pay_type, f.fund);
    }
    const payables = await listPayables(db, { month });
    const county = new Map<string, Dec>();
    for (const p of payables.rows.filter((x) => x.admdvs === COUNTY)) {
      const k = `${p.fixmedins_code}|${fundOf.get(p.fund_pay_type)}`;
      county.set(k, (county.get(k) ?? ZERO).plus(decimalOf(p.amount, 'payables.amount')));
    }
    const clearing = await monthlyClearing(db, COUNTY, month);
    const gateway = new Map<string, Dec>();
    for (const l of clearing.lines) {
      const k = `${l.fixmedinsCode}|${l.fund}`;
      gateway.set(k, (gateway.get(k) ?? ZERO).plus(decimalOf(l.owed, 'clearing.owed')));
    }
    const keys = [...new Set([...county.keys(), ...gateway.keys()])].sort();
    const show = (m: Map<string, Dec>) =>
      keys.map((k) => `${k} ${formatDecimal(m.get(k) ?? ZERO)}`);
    expect(show(gateway)).toEqual(show(county));
    // the top-ups are in it: assistance owed for person 1 is 800.00 in all (716.00 + 84.00)
    const assistance = clearing.lines.find(
      (l) => l.fixmedinsCode === 'H51040000006' && l.fund === 'assistance',
    )!;
    expect(assistance).toMatchObject({
      topupCount: 2,
      toppedUp: '800.00',
      topupsReversed: '84.00',
    });
    expect(assistance.owed).toBe('800.00');

    // the annual clearing of the month's year: nothing left for the balance; the fund statement
    // spends what the bills now stand at, top-ups included
    const year = await annualClearing(db, COUNTY, Number(month.slice(0, 4)));
    for (const t of year.totals) expect(`${t.fund} ${t.balance}`).toBe(`${t.fund} 0.00`);
    const spent = await assistanceSpending(db, Number(month.slice(0, 4)), [COUNTY]);
    const owedAssistance = clearing.totals
      .filter((t) => t.fund === 'assistance' || t.fund === 'tilted')
      .reduce((s, t) => s.plus(decimalOf(t.owed, 'clearing.owed')), ZERO);
    expect(spent[COUNTY]).toBe(formatDecimal(owedAssistance));
  });
});
