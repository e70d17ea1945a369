/**
 * The gateway heals by itself from PostgreSQL faults, and its health endpoints tell the truth
 * (issue 11, items 1, 5 and 8; docs/adr/0010). Real parts only: a PostgreSQL cluster of this
 * test's own (port 55433, stopped and restarted here), the compiled gateway as a process, the
 * shared broker for the traffic, and a broker of this test's own (port 29092, started in the
 * background while the database faults run) with a second, quiet gateway on it — the shared broker
 * is never stopped. On the quiet gateway: a partition held up by a lock is reported stalled by
 * name, and a frozen broker (SIGSTOP: no answer at all, the worst case for a probe) is reported
 * with the relay stalled while HTTP intake stays ready and settles; a broker SIGKILLed and started
 * again is healed from without a restart (HTTP settles meanwhile, Kafka intake resumes); a gateway
 * started on the quiet
 * gateway's database with the shared broker (another cluster) refuses to start (docs/adr/0022).
 *
 * With bills flowing over Kafka and HTTP: a fast restart, a stop of OUTAGE_MS, and every session
 * terminated. The process stays alive, /health/ready names the database down with the reason
 * during the outage and up after, HTTP answers 503 (STORE_UNAVAILABLE) then 201 with no restart,
 * and in the end every bill is settled exactly once, no message became an INTERNAL_ERROR reject,
 * and the county events add up to the ledger.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { KafkaClient, TOPIC_SPECS, Topics, validateSettlementEvent } from '@onebill/messaging';
import { billXml, fen, hospitalOf, newRun } from './support/bills';
import { writeCredentials } from './support/credentials';
import { eventually } from './support/eventually';
import { GatewayProcess, ROOT } from './support/gateway-process';
import { KafkaTap, positionGroupAtEnd } from './support/kafka-tap';
import { PgCluster } from './support/pg-cluster';

const PG_PORT = 55433;
const OWN_KAFKA_PORT = 29092;
/** How long PostgreSQL stays stopped (the "stop of a minute", shortened for CI). */
const OUTAGE_MS = 20_000;
const CONSUMER_STALL_MS = 4_000;
const RELAY_STALL_MS = 3_000;

const RUN = newRun('F');
/**
 * The quiet gateway's store: a database of its own on the run's server (not this test's cluster,
 * whose faults must not reach it). Not the run's shared database: that one holds the Kafka
 * positions of the run's broker, and the quiet gateway reads a broker of its own, whose offsets
 * start at 0 again: the gateway refuses such a database (docs/adr/0022), as the last test shows.
 */
const SHARED_DB = process.env.DATABASE_URL ?? '';
const QUIET_DB_NAME = `onebill_quiet_${RUN.toLowerCase().replace(/[^a-z0-9]/g, '_')}`;
const QUIET_DB = (() => {
  const url = new URL(SHARED_DB);
  url.pathname = `/${QUIET_DB_NAME}`;
  return url.toString();
})();

/** One query on its own connection to `url` (a cluster stopped later must not crash the test). */
async function queryOnce<R extends object>(url: string, sql: string): Promise<R[]> {
  const { Client } = await import('pg');
  const c = new Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<R>(sql)).rows;
  } finally {
    await c.end();
  }
}

/** Runs one statement on the run's server (outside any database of this test). */
const onServer = async (sql: string): Promise<void> => {
  await queryOnce(SHARED_DB, sql);
};

/** scripts/kafka/<name> for the broker of this test's own (KAFKA_CACHE_DIR if set). */
async function runScript(name: string): Promise<string> {
  const cacheDir = process.env.KAFKA_CACHE_DIR;
  const { stdout } = await promisify(execFile)('bash', [join(ROOT, 'scripts/kafka', name)], {
    env: {
      ...process.env,
      KAFKA_PORT: String(OWN_KAFKA_PORT),
      ...(cacheDir === undefined || cacheDir === '' ? {} : { KAFKA_CACHE_DIR: cacheDir }),
    },
    timeout: 180_000,
  });
  return stdout;
}
const GROUP = `faults-db-${RUN}`;
const CRED = writeCredentials();
const AUTH = CRED.header(CRED.operator);
const TEMPLATES = [
  'discharge-panzhihua-21-dibao.xml',
  'discharge-panzhihua-11-none.xml',
  'discharge-baoshan-21-dibao_edge.xml',
  'discharge-baoshan-11-none.xml',
];

interface Health {
  status: string;
  details: Record<
    string,
    { status: string; state: string; action?: string; stalled?: Array<{ topic: string }> } & Record<
      string,
      unknown
    >
  >;
}

async function health(
  base: string,
  path = '/health/ready',
): Promise<{ code: number; body: Health }> {
  const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { code: res.status, body: (await res.json()) as Health };
}

async function post(
  base: string,
  xml: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/api/v1/settlements`, {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/xml' },
    body: xml,
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Bills over Kafka (with a resend now and then) and over HTTP, until stopped. */
class Traffic {
  readonly kafkaVisits = new Set<string>();
  /** visit → the HTTP bill and the last answer it got (0: no answer) */
  readonly http = new Map<string, { xml: string; status: number }>();
  readonly httpStatuses: number[] = [];
  private n = 0;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly producer: Producer,
    private readonly base: string,
  ) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.tick();
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private bill(kind: string): { visit: string; xml: string } {
    this.n += 1;
    const visit = `${kind}${this.n}`;
    return { visit: `${RUN}-${visit}`, xml: billXml(RUN, TEMPLATES[this.n % 4] as string, visit) };
  }

  private async tick(): Promise<void> {
    const batch = [this.bill('K'), this.bill('K'), this.bill('K')];
    const messages = batch.map((b) => ({ key: hospitalOf(b.xml), value: b.xml }));
    // a redelivery of the same bill: settled once
    if (this.n % 10 < 3 && batch[0] !== undefined)
      messages.push(messages[0] as (typeof messages)[0]);
    await this.producer.send({ topic: Topics.hisDischarge, messages });
    for (const b of batch) this.kafkaVisits.add(b.visit);

    const h = this.bill('H');
    let status = 0;
    try {
      status = (await post(this.base, h.xml)).status;
    } catch {
      status = 0; // no answer in time: the desk will send it again
    }
    this.http.set(h.visit, { xml: h.xml, status });
    this.httpStatuses.push(status);
  }

  /** The cashier's desk sends again every bill that got no settlement answer. */
  async resendUnanswered(): Promise<number> {
    let resent = 0;
    for (const [visit, h] of this.http) {
      if (h.status === 201 || h.status === 200) continue;
      const r = await post(this.base, h.xml);
      expect([visit, r.status]).toEqual([visit, expect.any(Number)]);
      expect([200, 201]).toContain(r.status);
      h.status = r.status;
      resent += 1;
    }
    return resent;
  }

  get visits(): Set<string> {
    return new Set([...this.kafkaVisits, ...this.http.keys()]);
  }
}

describe('PostgreSQL faults and truthful health (own cluster, the compiled gateway)', () => {
  let pg: PgCluster;
  let gw: GatewayProcess;
  let producer: Producer;
  let tap: KafkaTap;
  let traffic: Traffic;
  const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');

  let ownSide: Promise<{ gateway: GatewayProcess; pid: number; producer: Producer }>;

  async function startOwnSide(): Promise<{
    gateway: GatewayProcess;
    pid: number;
    producer: Producer;
  }> {
    const out = await runScript('start.sh');
    const pid = Number(/^KAFKA_PID=(\d+)$/m.exec(out)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no broker pid in: ${out}`);
    await onServer(`CREATE DATABASE ${QUIET_DB_NAME}`);
    const gateway = await GatewayProcess.start({
      KAFKA_BROKERS: `127.0.0.1:${OWN_KAFKA_PORT}`,
      DATABASE_URL: QUIET_DB,
      KAFKA_GROUP_ID: `${GROUP}-b`,
      GATEWAY_CREDENTIALS_FILE: CRED.file,
      HEALTH_INTERVAL_MS: '250',
      RELAY_STALL_MS: String(RELAY_STALL_MS),
      CONSUMER_STALL_MS: String(CONSUMER_STALL_MS),
    });
    const his = new Kafka({
      clientId: `${GROUP}-his-b`,
      brokers: [`127.0.0.1:${OWN_KAFKA_PORT}`],
      logLevel: logLevel.NOTHING,
    }).producer();
    await his.connect();
    return { gateway, pid, producer: his };
  }

  const alive = (): void => {
    expect(gw.exited).toBe(false);
  };

  beforeAll(async () => {
    pg = await PgCluster.create(PG_PORT);
    await pg.sql('postgres', 'CREATE DATABASE onebill');
    const admin = new KafkaClient({ brokers, clientId: `${GROUP}-admin`, logLevel: 'nothing' });
    await admin.admin().ensureTopics(TOPIC_SPECS);
    await admin.close();
    await positionGroupAtEnd(GROUP, [Topics.hisDischarge, Topics.hisAdmission]);
    await positionGroupAtEnd(`${GROUP}-identity`, [Topics.identityChanges]);
    tap = await KafkaTap.open([Topics.settlementEvents]);
    producer = new Kafka({
      clientId: `${GROUP}-his`,
      brokers,
      logLevel: logLevel.NOTHING,
    }).producer({
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    gw = await GatewayProcess.start({
      KAFKA_BROKERS: brokers.join(','),
      DATABASE_URL: pg.url('onebill'),
      KAFKA_GROUP_ID: GROUP,
      GATEWAY_CREDENTIALS_FILE: CRED.file,
      OUTBOX_POLL_MS: '20',
      HEALTH_INTERVAL_MS: '250',
      DB_PROBE_INTERVAL_MS: '1000',
      DB_CONNECT_TIMEOUT_MS: '2000',
      // under traffic on a loaded machine a batch may take seconds: the defaults' order of size
      CONSUMER_STALL_MS: '30000',
      RELAY_STALL_MS: '30000',
    });
    traffic = new Traffic(producer, gw.base);
    // the broker of this test's own and a gateway on it start meanwhile (a JVM start is slow)
    ownSide = startOwnSide();
    ownSide.catch(() => undefined); // awaited (and reported) by its test
  }, 180_000);

  afterAll(async () => {
    if (gw?.exited) console.log(`gateway output:\n${gw.output.join('').slice(-6000)}`);
    const own = await ownSide?.catch(() => undefined);
    await own?.producer.disconnect();
    await own?.gateway.stop('SIGTERM');
    await runScript('stop.sh').catch(() => undefined);
    await onServer(`DROP DATABASE IF EXISTS ${QUIET_DB_NAME} WITH (FORCE)`).catch(() => undefined);
    await traffic?.stop();
    await gw?.stop('SIGTERM');
    await producer?.disconnect();
    await tap?.close();
    pg?.destroy();
  });

  it('sends security headers on every answer and no X-Powered-By', async () => {
    for (const path of [
      '/health',
      '/console',
      '/api/v1/openapi.yaml',
      '/api/v1/stats',
      '/nowhere',
    ]) {
      const res = await fetch(`${gw.base}${path}`);
      await res.arrayBuffer();
      expect([path, res.headers.get('x-powered-by')]).toEqual([path, null]);
      expect([path, res.headers.get('x-frame-options')]).toEqual([path, 'DENY']);
      expect([path, res.headers.get('x-content-type-options')]).toEqual([path, 'nosniff']);
      expect([path, res.headers.get('referrer-policy')]).toEqual([path, 'no-referrer']);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
    }
  });

  it('survives a restart, a stop and terminated sessions under traffic; settles every bill once', async () => {
    traffic.start();
    await eventually(() =>
      expect(traffic.httpStatuses.filter((s) => s === 201).length).toBeGreaterThan(3),
    );
    expect(await health(gw.base)).toMatchObject({ code: 200 });

    // 1. a fast restart (57P01 to every session, idle or busy)
    await pg.restart();
    await eventually(async () => expect(await health(gw.base)).toMatchObject({ code: 200 }), {
      timeoutMs: 30_000,
    });
    alive();
    const afterRestart = traffic.httpStatuses.length;
    await eventually(() =>
      expect(
        traffic.httpStatuses.slice(afterRestart).filter((s) => s === 201).length,
      ).toBeGreaterThan(1),
    );

    // 2. a stop: readiness names the database with the reason, HTTP answers 503 in the API's shape
    const stoppedAt = Date.now();
    pg.stop();
    const down = await eventually(
      async () => {
        const r = await health(gw.base);
        expect(r.code).toBe(503);
        expect(r.body.details.database?.status).toBe('down');
        return r.body;
      },
      { timeoutMs: 15_000 },
    );
    expect(down.details.database?.state).toMatch(/^unavailable: .+/);
    expect(down.details.database?.action).toContain('DATABASE_URL');
    expect(down.details.consumer?.state).toBe('paused: waiting for the database');
    expect(down.details.broker?.status).toBe('up'); // the broker is not to blame
    expect((await health(gw.base, '/health/intake')).code).toBe(503);
    const refused = await post(gw.base, billXml(RUN, TEMPLATES[0] as string, 'OUT1'));
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({
      status: 'unavailable',
      errors: [{ code: 'STORE_UNAVAILABLE', field: null }],
    });
    traffic.http.set(`${RUN}-OUT1`, {
      xml: billXml(RUN, TEMPLATES[0] as string, 'OUT1'),
      status: 503,
    });
    const during = traffic.httpStatuses.length;
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
    alive();
    expect(traffic.httpStatuses.slice(during)).not.toContain(201);
    expect(traffic.httpStatuses.slice(during).length).toBeGreaterThan(0);
    await pg.start();
    await eventually(async () => expect(await health(gw.base)).toMatchObject({ code: 200 }), {
      timeoutMs: 30_000,
    });
    const afterStop = traffic.httpStatuses.length;
    await eventually(() =>
      expect(traffic.httpStatuses.slice(afterStop).filter((s) => s === 201).length).toBeGreaterThan(
        1,
      ),
    );
    alive();

    // 3. every session of the gateway terminated (pg_terminate_backend), twice
    for (let i = 0; i < 2; i++) {
      expect(await pg.terminateBackends('onebill')).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    await eventually(async () => expect(await health(gw.base)).toMatchObject({ code: 200 }), {
      timeoutMs: 30_000,
    });
    alive();
    await traffic.stop();

    // during the faults the desk got a settlement or a 503 with the reason: never a 500
    expect(new Set(traffic.httpStatuses)).toEqual(new Set([201, 503]));
    // the desk sends what got no answer again; then every bill is settled exactly once
    await traffic.resendUnanswered();
    const visits = traffic.visits;
    await eventually(
      async () => {
        const [row] = await pg.sql<{ n: number; d: number }>(
          'onebill',
          `SELECT count(*)::int AS n, count(DISTINCT mdtrt_id)::int AS d
             FROM settlements WHERE mdtrt_id LIKE $1 AND status = 'settled'`,
          [`${RUN}-%`],
        );
        expect(row).toEqual({ n: visits.size, d: visits.size });
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    // no message was turned into a reject because the store was down
    const [internal] = await pg.sql<{ n: number }>(
      'onebill',
      `SELECT count(*)::int AS n FROM rejects WHERE reason_code = 'INTERNAL_ERROR'`,
    );
    expect(internal?.n).toBe(0);
    // the counties receive every settlement (deduped by event id), and their sum is the ledger's.
    // Other gateways on the shared broker (other groups) settle these bills in their own stores
    // and publish their own events: ours are those of our ledger's settlements.
    const ours = new Map(
      (
        await pg.sql<{ setl_id: string; amount: string }>(
          'onebill',
          `SELECT setl_id, fund_pay_sumamt::text AS amount FROM settlements
            WHERE mdtrt_id LIKE $1 AND status = 'settled'`,
          [`${RUN}-%`],
        )
      ).map((r) => [r.setl_id, fen(r.amount)]),
    );
    const ledgerSum = [...ours.values()].reduce((a, b) => a + b, 0n);
    await eventually(
      () => {
        const events = new Map<string, { setlId: string; amount: bigint }>();
        for (const m of tap.on(Topics.settlementEvents)) {
          const parsed = validateSettlementEvent(JSON.parse(m.value) as unknown);
          if (!parsed.ok || !ours.has(parsed.value.setl_id)) continue;
          events.set(parsed.value.event_id, {
            setlId: parsed.value.setl_id,
            amount: fen(parsed.value.fund_pay_sumamt),
          });
        }
        expect(events.size).toBe(visits.size);
        expect(new Set([...events.values()].map((e) => e.setlId)).size).toBe(visits.size);
        expect([...events.values()].reduce((a, e) => a + e.amount, 0n)).toBe(ledgerSum);
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    alive();
  });

  describe('a quiet gateway on a broker of its own', () => {
    it('reports a stalled partition by topic and number while the database answers', async () => {
      const { gateway: b, producer: his } = await ownSide;
      const base = b.base;
      await eventually(async () => expect(await health(base)).toMatchObject({ code: 200 }), {
        timeoutMs: 30_000,
      });
      const { Client } = await import('pg');
      const blocker = new Client({ connectionString: QUIET_DB });
      // the cluster is stopped in afterAll: a client left open must not crash the test process
      blocker.on('error', () => undefined);
      await blocker.connect();
      try {
        // a lock every message's first write (its inbox row, settled or rejected) waits on: the
        // partition has lag and its offset stands still
        await blocker.query('BEGIN');
        await blocker.query('LOCK TABLE inbox IN SHARE MODE');
        const xml = billXml(RUN, TEMPLATES[1] as string, 'STALL1');
        await his.send({
          topic: Topics.hisDischarge,
          messages: [{ key: hospitalOf(xml), value: xml }],
        });
        let last: unknown = null;
        const stalled = await eventually(
          async () => {
            const r = await health(base);
            last = r.body;
            expect(r.code).toBe(503);
            expect(r.body.details.consumer?.status).toBe('down');
            return r.body;
          },
          // the monitor needs CONSUMER_STALL_MS of standing still; on a loaded machine the first
          // samples of a fresh group can come late
          { timeoutMs: CONSUMER_STALL_MS + 40_000, intervalMs: 250 },
        ).catch((e: unknown) => {
          // what readiness said last, for whoever reads a failed run
          console.log(
            `[faults-db] readiness while the partition should stall: ${JSON.stringify(last)}`,
          );
          throw e;
        });
        expect(stalled.details.consumer?.state).toMatch(/^stalled: his\.discharge\.v1\[\d+\]/);
        expect(stalled.details.consumer?.stalled?.[0]?.topic).toBe(Topics.hisDischarge);
        expect(stalled.details.database?.status).toBe('up');
        expect((await health(base, '/health/intake')).code).toBe(200);
      } finally {
        await blocker.query('ROLLBACK');
        await blocker.end();
      }
      await eventually(async () => expect(await health(base)).toMatchObject({ code: 200 }), {
        timeoutMs: 30_000,
      });
      const check = new Client({ connectionString: QUIET_DB });
      check.on('error', () => undefined);
      await check.connect();
      try {
        // once the lock is gone the message is recorded, once. The inbox holds raw bytes of every
        // charset the other tests sent (GBK among them): search the bytes, never decode them all.
        const { rows } = await eventually(
          async () => {
            const r = await check.query<{ n: number }>(
              "SELECT count(*)::int AS n FROM inbox WHERE position(convert_to($1, 'UTF8') IN payload_bytes) > 0",
              [`<mdtrt_id>${RUN}-STALL1</mdtrt_id>`],
            );
            expect(r.rows[0]?.n).toBe(1);
            return r;
          },
          { timeoutMs: 30_000 },
        );
        expect(rows[0]?.n).toBe(1);
      } finally {
        await check.end();
      }
    });

    it('keeps HTTP intake ready while the broker hangs, names broker and relay, and recovers', async () => {
      const { gateway: b, pid } = await ownSide;
      const base = b.base;
      // the broker freezes (a hung JVM, a network partition): requests get no answer at all
      process.kill(pid, 'SIGSTOP');
      try {
        // the cashier's desk still settles: its events wait in the outbox
        expect((await post(base, billXml(RUN, TEMPLATES[2] as string, 'B1'))).status).toBe(201);
        const down = await eventually(
          async () => {
            const r = await health(base);
            expect(r.code).toBe(503);
            expect(r.body.details.broker?.status).toBe('down');
            expect(r.body.details.relay?.status).toBe('down');
            return r.body;
          },
          { timeoutMs: RELAY_STALL_MS + 30_000, intervalMs: 250 },
        );
        expect(down.details.broker?.state).toMatch(/^unreachable: /);
        expect(down.details.relay?.state).toMatch(/^stalled: the oldest unpublished event is/);
        expect(down.details.relay?.action).toContain('see broker');
        expect(down.details.database?.status).toBe('up');
        // answered from the monitor's state, not by waiting on the broker
        const started = Date.now();
        const intake = await health(base, '/health/intake');
        expect(intake.code).toBe(200);
        expect((await health(base)).code).toBe(503);
        expect(Date.now() - started).toBeLessThan(1_000);
        expect((await post(base, billXml(RUN, TEMPLATES[3] as string, 'B2'))).status).toBe(201);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await eventually(
        async () => {
          const r = await health(base);
          expect(r.code).toBe(200);
          expect(r.body.details.relay?.backlog).toBe(0);
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      expect(b.exited).toBe(false);
    });

    it('heals from a broker killed and started again: HTTP settles meanwhile, Kafka intake resumes, no restart', async () => {
      const { gateway: b, producer: his, pid } = await ownSide;
      const base = b.base;
      await eventually(async () => expect(await health(base)).toMatchObject({ code: 200 }), {
        timeoutMs: 60_000,
      });
      // the broker dies at once (a crash, an OOM kill): no clean shutdown, no leader hand-over
      process.kill(pid, 'SIGKILL');
      await eventually(
        async () => {
          const r = await health(base);
          expect(r.code).toBe(503);
          expect(r.body.details.broker?.status).toBe('down');
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      expect((await health(base, '/health/intake')).code).toBe(200);
      expect((await post(base, billXml(RUN, TEMPLATES[0] as string, 'K1'))).status).toBe(201);
      // the operator (or systemd) starts it again: the same data folder, so the same cluster, and
      // the database's binding to it holds (docs/adr/0022)
      await runScript('start.sh');
      await eventually(
        async () => {
          const r = await health(base);
          expect(r.code).toBe(200);
          expect(r.body.details.relay?.backlog).toBe(0);
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      // the consumer is back in its group: a bill sent over Kafka now is settled, once
      const xml = billXml(RUN, TEMPLATES[1] as string, 'K2');
      await eventually(
        async () => {
          await his.send({
            topic: Topics.hisDischarge,
            messages: [{ key: hospitalOf(xml), value: xml }],
          });
        },
        { timeoutMs: 60_000, intervalMs: 1_000 },
      );
      await eventually(
        async () => {
          const rows = await queryOnce<{ status: string }>(
            QUIET_DB,
            `SELECT status FROM settlements WHERE mdtrt_id IN ('${RUN}-K1', '${RUN}-K2') ORDER BY mdtrt_id`,
          );
          expect(rows.map((r) => r.status)).toEqual(['settled', 'settled']);
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      expect(b.exited).toBe(false);
    });

    it("refuses to start on a database that holds another Kafka cluster's positions", async () => {
      // the quiet database holds its broker's positions (offsets from 0, like every new cluster's);
      // the shared broker's records at those offsets would be taken for redeliveries and skipped
      const { gateway: b } = await ownSide;
      const before = await inboxCount(QUIET_DB);
      const refused = await GatewayProcess.refused({
        KAFKA_BROKERS: brokers.join(','),
        DATABASE_URL: QUIET_DB,
        KAFKA_GROUP_ID: `${GROUP}-wrong-cluster`,
        GATEWAY_CREDENTIALS_FILE: CRED.file,
      });
      expect(refused.code).toBe(1);
      // one line that says what is wrong and what to do, no stack
      expect(refused.output).toMatch(
        /this database holds the Kafka positions of cluster \S+ \(bound [^)]+\), but the brokers in KAFKA_BROKERS are cluster \S+/,
      );
      expect(refused.output).toContain('Point KAFKA_BROKERS at cluster');
      expect(refused.output).not.toMatch(/^\s+at /m);
      // nothing was read into it, and the gateway on its own cluster goes on
      expect(await inboxCount(QUIET_DB)).toBe(before);
      expect((await health(b.base)).code).toBe(200);
    });
  });
});

async function inboxCount(url: string): Promise<number> {
  const rows = await queryOnce<{ n: number }>(url, 'SELECT count(*)::int AS n FROM inbox');
  return rows[0]?.n ?? -1;
}
