/**
 * More than one gateway (issue 17 item 4): two compiled gateway processes in one consumer group
 * on the shared broker, against a PostgreSQL database of this test's own (created here on the
 * integration server, dropped at the end). A stream of bills goes in; one instance is SIGKILLed
 * mid-stream; the other takes over its partitions once the group notices (the session timeout).
 * In the end every bill is settled exactly once (one ledger row per mdtrt_id, none missing) and
 * the county's events — collapsed by event id, since the relay publishes at least once — are the
 * ledger's settlements, to the fen. `npm run bench:e2e -- --instances 2 --kill-one-at 0.3` is the
 * same check at a larger count, with throughput figures.
 */
import { Client } from 'pg';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Topics, validateSettlementEvent } from '@onebill/messaging';
import { RuleBook } from '@onebill/rules';
import { fen, newRun } from './support/bills';
import { writeCredentials } from './support/credentials';
import { eventually } from './support/eventually';
import { GatewayProcess } from './support/gateway-process';
import { KafkaTap, positionGroupAtEnd } from './support/kafka-tap';
import { runFeed } from './support/feed';

const RUN = newRun('N');
const GROUP = `instances-${RUN}`;
const TOTAL = 300;
/** the kill comes once this many bills are settled, with the rest still coming */
const KILL_AFTER = 60;
const CRED = writeCredentials();

interface Row {
  mdtrt_id: string;
  status: string;
  event_id: string;
  fund_pay_sumamt: string;
}

describe('two gateway instances in one consumer group, one SIGKILLed mid-stream', () => {
  const server = process.env.DATABASE_URL ?? '';
  const database = `onebill_inst_${RUN.toLowerCase()}`; // letters and digits: safe to interpolate
  let url = '';
  let db: Client;
  let tap: KafkaTap;
  let producer: Producer;
  const gateways: GatewayProcess[] = [];

  async function admin<T>(f: (c: Client) => Promise<T>): Promise<T> {
    const c = new Client({ connectionString: server });
    await c.connect();
    try {
      return await f(c);
    } finally {
      await c.end();
    }
  }

  const settlements = async (): Promise<Row[]> =>
    (
      await db.query<Row>(
        `SELECT mdtrt_id, status, event_id::text AS event_id,
                fund_pay_sumamt::text AS fund_pay_sumamt
           FROM settlements WHERE mdtrt_id LIKE $1`,
        [`${RUN}-%`],
      )
    ).rows;

  beforeAll(async () => {
    await admin((c) => c.query(`CREATE DATABASE ${database}`));
    const u = new URL(server);
    u.pathname = `/${database}`;
    url = u.toString();
    db = new Client({ connectionString: url });
    await db.connect();
    tap = await KafkaTap.open([Topics.settlementEvents]);
    await positionGroupAtEnd(GROUP, [Topics.hisDischarge, Topics.hisAdmission]);
    await positionGroupAtEnd(`${GROUP}-identity`, [Topics.identityChanges]);
    const env = {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '',
      DATABASE_URL: url,
      KAFKA_GROUP_ID: GROUP,
      OUTBOX_POLL_MS: '20',
      GATEWAY_CREDENTIALS_FILE: CRED.file,
    };
    // one after the other: the first migrates the fresh database
    gateways.push(await GatewayProcess.start(env));
    gateways.push(await GatewayProcess.start(env));
    producer = new Kafka({
      clientId: `${GROUP}-his`,
      brokers: (process.env.KAFKA_BROKERS ?? '').split(','),
      logLevel: logLevel.NOTHING,
    }).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
  }, 240_000);

  afterAll(async () => {
    await Promise.allSettled(gateways.map((g) => g.stop('SIGTERM')));
    await producer?.disconnect();
    await tap?.close();
    await db?.end();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  }, 120_000);

  it('settles every bill exactly once and the county events sum to the ledger', async () => {
    const rules = RuleBook.load();
    const feed = runFeed(RUN, rules, { persons: 200, duplicates: 0, malformed: 0 });
    const bills = Array.from({ length: TOTAL }, () => {
      const m = feed.message();
      if (m.bill === undefined) throw new Error(`the simulator gave a ${m.kind} message`);
      const visit = `${RUN}-${m.bill.mdtrtId}`;
      return {
        visit,
        xml: m.xml.replace(/<mdtrt_id>[^<]*<\/mdtrt_id>/, `<mdtrt_id>${visit}</mdtrt_id>`),
      };
    });
    // keyed by visit, not by hospital: the bills spread over every partition, so both instances
    // have work and the killed one leaves some behind
    const publishing = (async () => {
      for (let i = 0; i < TOTAL; i += 30) {
        await producer.send({
          topic: Topics.hisDischarge,
          messages: bills.slice(i, i + 30).map((b) => ({ key: b.visit, value: b.xml })),
        });
        await new Promise((r) => setTimeout(r, 150));
      }
    })();

    await eventually(
      async () => expect((await settlements()).length).toBeGreaterThanOrEqual(KILL_AFTER),
      {
        timeoutMs: 90_000,
        intervalMs: 20,
      },
    );
    const victim = gateways[1] as GatewayProcess;
    await victim.stop('SIGKILL');
    const atKill = (await settlements()).length;
    await publishing;

    const rows = await eventually(
      async () => {
        const r = await settlements();
        expect(r.length).toBeGreaterThanOrEqual(TOTAL);
        return r;
      },
      { timeoutMs: 150_000, intervalMs: 250 },
    );
    expect(atKill).toBeLessThan(TOTAL); // the kill really was mid-stream
    expect(gateways[0]?.exited).toBe(false);
    // one settlement per bill, every bill settled
    expect(rows).toHaveLength(TOTAL);
    expect(new Set(rows.map((r) => r.mdtrt_id))).toEqual(new Set(bills.map((b) => b.visit)));
    expect(rows.every((r) => r.status === 'settled')).toBe(true);

    // the county's events, by event id, are the ledger's settlements, to the fen. Only this
    // deployment's events count: on the shared broker a gateway of another test's group may
    // also settle these bills into its own database (its event ids are not in our outbox)
    const outbox = new Set(
      (await db.query<{ id: string }>(`SELECT event_id::text AS id FROM outbox`)).rows.map(
        (r) => r.id,
      ),
    );
    const events = await eventually(
      () => {
        const seen = new Map<string, { fundPay: bigint; visit: string }>();
        for (const m of tap.on(Topics.settlementEvents)) {
          const parsed = validateSettlementEvent(JSON.parse(m.value) as unknown);
          if (!parsed.ok || !parsed.value.mdtrt_id.startsWith(`${RUN}-`)) continue;
          if (!outbox.has(parsed.value.event_id)) continue;
          seen.set(parsed.value.event_id, {
            fundPay: fen(parsed.value.fund_pay_sumamt),
            visit: parsed.value.mdtrt_id,
          });
        }
        expect(seen.size).toBe(TOTAL);
        return seen;
      },
      { timeoutMs: 90_000 },
    );
    expect(new Set(events.keys())).toEqual(new Set(rows.map((r) => r.event_id)));
    const countySum = [...events.values()].reduce((s, e) => s + e.fundPay, 0n);
    const ledgerSum = rows.reduce((s, r) => s + fen(r.fund_pay_sumamt), 0n);
    expect(countySum).toBe(ledgerSum);
    expect(ledgerSum).toBeGreaterThan(0n);
  }, 360_000);
});
