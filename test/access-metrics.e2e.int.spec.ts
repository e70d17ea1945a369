/**
 * Access control and metrics of the running gateway (issue 4), as deployed: the compiled process,
 * a real Kafka broker and a real PostgreSQL. Credentials come from a GATEWAY_CREDENTIALS_FILE of
 * token hashes; every route group answers 401 without a valid token and 403 to a wrong role, with
 * no data; a hospital sees and sends only its own bills; /metrics moves by what was sent.
 */
import { type Db, openDb } from '@onebill/ledger';
import { Topics } from '@onebill/messaging';
import { billXml, hospitalOf, newRun, reversalXml } from './support/bills';
import { writeCredentials } from './support/credentials';
import { eventually } from './support/eventually';
import { GatewayHarness } from './support/harness';

const RUN = newRun('A');
const GROUP = `gateway-access-${RUN}`;
// hospital A (Panzhihua, level 3) and hospital B (Baoshan), both in config/hospitals.json
const A_TEMPLATE = 'discharge-panzhihua-21-dibao.xml';
const B_TEMPLATE = 'discharge-baoshan-13-de_facto_orphan.xml';
const HOSPITAL_A = hospitalOf(billXml(RUN, A_TEMPLATE, 'x'));
const HOSPITAL_B = hospitalOf(billXml(RUN, B_TEMPLATE, 'x'));
const CRED = writeCredentials([HOSPITAL_A, HOSPITAL_B]);

type Call = [method: 'GET' | 'POST', path: string];

/** One call per route group of the API; every one carries data or changes state. */
const PROTECTED: Call[] = [
  ['POST', '/api/v1/settlements/preview'],
  ['POST', '/api/v1/settlements'],
  ['POST', '/api/v1/reversals'],
  ['POST', '/api/v1/admissions'],
  ['GET', '/api/v1/settlements/S000'],
  ['GET', '/api/v1/settlements?fixmedins_code=H1&mdtrt_id=M1'],
  ['GET', '/api/v1/stats'],
  ['GET', '/api/v1/whoami'],
  ['GET', '/api/v1/console/flow'],
  ['GET', '/api/v1/console/bills/S000'],
  ['GET', '/api/v1/messages'],
  ['GET', '/api/v1/rejects'],
  ['GET', '/api/v1/rejects/1'],
  ['POST', '/api/v1/rejects/1/resubmit'],
  ['GET', '/api/v1/alerts'],
  ['POST', '/api/v1/alerts/P1/2024/acknowledge'],
  ['GET', '/api/v1/outbox/parked'],
  ['POST', '/api/v1/outbox/parked/00000000-0000-4000-8000-000000000000/republish'],
  ['GET', '/api/v1/audit/actions'],
  ['GET', '/metrics'],
];

/** Routes a role may not call at all (403), whatever the data. */
const FORBIDDEN: Array<[role: 'auditor' | 'hospital', call: Call]> = [
  ['auditor', ['POST', '/api/v1/settlements/preview']],
  ['auditor', ['POST', '/api/v1/settlements']],
  ['auditor', ['POST', '/api/v1/reversals']],
  ['auditor', ['POST', '/api/v1/admissions']],
  ['auditor', ['POST', '/api/v1/rejects/1/resubmit']],
  ['hospital', ['POST', '/api/v1/rejects/1/resubmit']],
  ['hospital', ['GET', '/metrics']],
  ['hospital', ['GET', '/api/v1/stats']],
  // the changes operators make (recorded in the operators' audit log), and that log
  ['auditor', ['POST', '/api/v1/alerts/P1/2024/acknowledge']],
  ['hospital', ['POST', '/api/v1/alerts/P1/2024/acknowledge']],
  ['hospital', ['GET', '/api/v1/alerts']],
  ['auditor', ['POST', '/api/v1/outbox/parked/00000000-0000-4000-8000-000000000000/republish']],
  ['hospital', ['POST', '/api/v1/outbox/parked/00000000-0000-4000-8000-000000000000/republish']],
  ['auditor', ['GET', '/api/v1/outbox/parked']],
  ['hospital', ['GET', '/api/v1/audit/actions']],
];

/** The value of one sample of a Prometheus text exposition (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{([^}]*)\})? ([0-9.e+-]+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const x of (m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)) have.set(x[1] ?? '', x[2] ?? '');
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) total += Number(m[4]);
  }
  return total;
}

describe('access control and metrics (real Kafka, real PostgreSQL, the compiled process)', () => {
  let harness: GatewayHarness;
  let db: Db;

  const call = async (
    [method, path]: Call,
    token?: string,
    body?: string,
  ): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(`${harness.base}${path}`, {
      method,
      headers: {
        ...(token === undefined ? {} : CRED.header(token)),
        ...(method === 'POST' ? { 'content-type': 'application/xml' } : {}),
      },
      ...(method === 'POST' ? { body: body ?? billXml(RUN, A_TEMPLATE, 'unused') } : {}),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = { text };
    }
    return { status: res.status, json };
  };

  const publish = (xmls: string[]): Promise<void> => harness.publish(xmls);

  const inboxRows = async (visit: string): Promise<number> => {
    const r = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM inbox WHERE payload LIKE $1',
      [`%<mdtrt_id>${RUN}-${visit}</mdtrt_id>%`],
    );
    return r.rows[0]?.n ?? 0;
  };

  beforeAll(async () => {
    db = await openDb({ databaseUrl: process.env.DATABASE_URL ?? '' });
    harness = await GatewayHarness.open(GROUP, CRED.file);
  });

  afterAll(async () => {
    await harness?.close();
    await db?.close();
  });

  it.each(PROTECTED)(
    '%s %s answers 401 with no data, without a token or with a wrong one',
    async (method, path) => {
      for (const token of [undefined, 'ob_operator_not-a-configured-token-at-all']) {
        const r = await call([method, path], token);
        expect(r.status).toBe(401);
        expect(Object.keys(r.json).sort()).toEqual(['errors', 'status']);
        expect(r.json.status).toBe('unauthorized');
      }
    },
  );

  it.each(FORBIDDEN)('%s may not %j: 403 with no data', async (role, route) => {
    const token = role === 'auditor' ? CRED.auditor : (CRED.hospital[HOSPITAL_A] as string);
    const r = await call(route, token);
    expect(r.status).toBe(403);
    expect(Object.keys(r.json).sort()).toEqual(['errors', 'status']);
    expect((r.json.errors as Array<{ code: string }>)[0]?.code).toBe('FORBIDDEN');
  });

  it('keeps health, the API contract and the console assets public; they carry no data', async () => {
    for (const path of [
      '/health',
      '/health/ready',
      '/api/v1/openapi.yaml',
      '/console',
      '/console/app.js',
    ]) {
      const res = await fetch(`${harness.base}${path}`);
      expect([path, res.status]).toEqual([path, 200]);
      await res.arrayBuffer();
    }
  });

  it("holds a hospital to its own bills: it cannot send, read or list another hospital's", async () => {
    const tokenA = CRED.hospital[HOSPITAL_A] as string;
    const tokenB = CRED.hospital[HOSPITAL_B] as string;
    const billA = billXml(RUN, A_TEMPLATE, 'H1');
    const settled = await call(['POST', '/api/v1/settlements'], tokenA, billA);
    expect(settled.status).toBe(201);
    const setlId = (settled.json.setlinfo as { setl_id: string }).setl_id;
    const psnNo = (settled.json.setlinfo as { psn_no: string }).psn_no;

    // A reads its own; the operator and the auditor read it too
    for (const token of [tokenA, CRED.operator, CRED.auditor])
      expect((await call(['GET', `/api/v1/settlements/${setlId}`], token)).status).toBe(200);

    // B neither reads it by id, by bill, by person, nor sees it in lists: no data, no existence
    const byId = await call(['GET', `/api/v1/settlements/${setlId}`], tokenB);
    expect(byId.status).toBe(404);
    expect(JSON.stringify(byId.json)).not.toContain(psnNo);
    const byBill = await call(
      ['GET', `/api/v1/settlements?fixmedins_code=${HOSPITAL_A}&mdtrt_id=${RUN}-H1`],
      tokenB,
    );
    expect(byBill.status).toBe(404);
    expect((await call(['GET', `/api/v1/console/bills/${setlId}`], tokenB)).status).toBe(404);
    const byPerson = await call(['GET', `/api/v1/settlements?psn_no=${psnNo}`], tokenB);
    expect(byPerson.json.settlements).toEqual([]);
    const listed = await call(['GET', '/api/v1/messages?limit=500'], tokenB);
    const ids = listed.json.messages as Array<{ setl_id: string | null; fixmedins_code: string }>;
    expect(ids.some((m) => m.setl_id === setlId)).toBe(false);
    expect(ids.every((m) => m.fixmedins_code === HOSPITAL_B)).toBe(true);
    const mine = await call(['GET', '/api/v1/messages?limit=500'], tokenA);
    expect(
      (mine.json.messages as Array<{ setl_id: string | null }>).some((m) => m.setl_id === setlId),
    ).toBe(true);

    // B may not send A's bill (nor reverse it): 403 before anything is stored
    const billA2 = billXml(RUN, A_TEMPLATE, 'H2');
    const foreign = await call(['POST', '/api/v1/settlements'], tokenB, billA2);
    expect(foreign.status).toBe(403);
    expect((foreign.json.errors as Array<{ code: string; field: string }>)[0]).toMatchObject({
      code: 'FORBIDDEN_HOSPITAL',
      field: 'fixmedins_code',
    });
    expect(await inboxRows('H2')).toBe(0);
    // nor by dressing it up: B's code in a comment before A's element, or A's element with a
    // space before its '>' — the decoder reads A's bill either way, so the answer stays 403
    for (const disguised of [
      billA2.replace(
        '<fixmedins_code>',
        `<!-- <fixmedins_code>${HOSPITAL_B}</fixmedins_code> -->\n    <fixmedins_code>`,
      ),
      billA2.replace(
        /<fixmedins_code>([^<]*)<\/fixmedins_code>/,
        '<fixmedins_code >$1</fixmedins_code >',
      ),
    ]) {
      const sneaked = await call(['POST', '/api/v1/settlements'], tokenB, disguised);
      expect(sneaked.status).toBe(403);
      expect((sneaked.json.errors as Array<{ code: string }>)[0]?.code).toBe('FORBIDDEN_HOSPITAL');
    }
    expect(await inboxRows('H2')).toBe(0);
    // a message of B's that does not decode is rejected and kept under B, whatever it names
    const garbled = billXml(RUN, A_TEMPLATE, 'H3').replace(/<psn_no>[^<]*<\/psn_no>/, '');
    const bad = await call(['POST', '/api/v1/settlements'], tokenB, garbled);
    expect(bad.status).toBe(422);
    const kept = await db.query<{ fixmedins_code: string | null }>(
      `SELECT r.fixmedins_code FROM rejects r JOIN inbox i ON i.id = r.inbox_id
        WHERE i.payload LIKE $1`,
      [`%${RUN}-H3%`],
    );
    expect(kept.rows.map((r) => r.fixmedins_code)).toEqual([HOSPITAL_B]);
    // the operator reads the message as it came (to fix it); the auditor and the hospital masked
    const certno = /<certno>([^<]+)<\/certno>/.exec(garbled)?.[1] ?? '';
    expect(certno.length).toBeGreaterThan(14);
    const rejectPath = ['GET', `/api/v1/rejects/${String(bad.json.reject_id)}`] as const;
    const asOperator = await call([...rejectPath], CRED.operator);
    expect(asOperator.json.original_payload).toContain(certno);
    for (const token of [CRED.auditor, tokenB]) {
      const masked = await call([...rejectPath], token);
      expect(masked.status).toBe(200);
      expect(masked.json.original_payload).not.toContain(certno);
      expect(masked.json.original_payload).toContain(`${certno.slice(0, 6)}********`);
    }
    // its rejected event has left the outbox before the next test counts published events
    await eventually(async () => {
      const pending = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
      );
      expect(pending.rows[0]?.n).toBe(0);
    });
    const reverse = await call(['POST', '/api/v1/reversals'], tokenB, reversalXml(billA, setlId));
    expect(reverse.status).toBe(403);
    expect(
      (await call(['GET', `/api/v1/settlements/${setlId}`], CRED.operator)).json.settlement_status,
    ).toBe('settled');
  });

  it('moves the counters of /metrics by what was sent', async () => {
    const before = (await call(['GET', '/metrics'], CRED.auditor)).json.text as string;
    const good = [1, 2, 3].map((i) => billXml(RUN, B_TEMPLATE, `M${i}`));
    const broken = billXml(RUN, B_TEMPLATE, 'M4').replace(/<psn_no>[^<]*<\/psn_no>/, '');
    const conflicting = billXml(RUN, B_TEMPLATE, 'M1', {
      extra: { tag: 'fulamt_ownpay_amt', yuan: 5 },
    });
    await publish([...good, broken]);
    await eventually(async () => expect(await inboxRows('M4')).toBe(1));
    await eventually(async () => {
      const r = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM settlements WHERE mdtrt_id LIKE $1`,
        [`${RUN}-M%`],
      );
      expect(r.rows[0]?.n).toBe(3);
    });
    await publish([good[0] as string, conflicting]); // a resend and a conflict
    await eventually(async () => expect(await inboxRows('M1')).toBe(3));
    const first = await call(
      ['GET', `/api/v1/settlements?fixmedins_code=${HOSPITAL_B}&mdtrt_id=${RUN}-M2`],
      CRED.operator,
    );
    const setlId = (first.json.setlinfo as { setl_id: string }).setl_id;
    const reversed = await call(
      ['POST', '/api/v1/reversals'],
      CRED.operator,
      reversalXml(good[1] as string, setlId),
    );
    expect(reversed.status).toBe(200);
    // an operator's reversal over HTTP is in the operators' audit log, by name (docs/adr/0015)
    const log = await call(['GET', '/api/v1/audit/actions?limit=1000'], CRED.auditor);
    expect(
      (log.json.actions as Array<Record<string, unknown>>).filter((a) => a.target === setlId),
    ).toEqual([
      expect.objectContaining({
        action: 'reverse',
        actor: 'test-operator',
        role: 'operator',
        outcome: 'reversed',
      }),
    ]);

    const county = (
      (await call(['GET', `/api/v1/settlements/${setlId}`], CRED.operator)).json.setlinfo as {
        clr_optins: string;
      }
    ).clr_optins;
    const delta = async (name: string, labels: Record<string, string>): Promise<number> => {
      const after = (await call(['GET', '/metrics'], CRED.operator)).json.text as string;
      return sample(after, name, labels) - sample(before, name, labels);
    };
    expect(await delta('onebill_settlements_total', { hospital: HOSPITAL_B, county })).toBe(3);
    expect(await delta('onebill_duplicates_total', { hospital: HOSPITAL_B })).toBe(1);
    expect(await delta('onebill_conflicts_total', { hospital: HOSPITAL_B })).toBe(1);
    expect(
      await delta('onebill_rejects_total', { reason: 'MISSING_FIELD', hospital: HOSPITAL_B }),
    ).toBe(1);
    expect(await delta('onebill_reversals_total', { hospital: HOSPITAL_B, county })).toBe(1);
    expect(
      await delta('onebill_messages_consumed_total', {
        source: 'kafka',
        topic: Topics.hisDischarge,
      }),
    ).toBe(6);
    expect(
      await delta('onebill_settle_duration_seconds_count', { source: 'kafka', outcome: 'settled' }),
    ).toBe(3);
    // 3 settlements + 1 reversal → 4 county events and 4 hospital results; 2 rejects (incl. conflict)
    await eventually(async () => {
      expect(
        await delta('onebill_events_published_total', { topic: Topics.settlementEvents }),
      ).toBe(4);
      expect(
        await delta('onebill_events_published_total', { topic: Topics.hisDischargeRejected }),
      ).toBe(2);
    });
    const after = (await call(['GET', '/metrics'], CRED.operator)).json.text as string;
    expect(after).toMatch(/^onebill_outbox_backlog \d+$/m);
    expect(after).toMatch(
      /^onebill_consumer_lag\{topic="his\.discharge\.v1",partition="\d+"\} \d+$/m,
    );
  });
});
