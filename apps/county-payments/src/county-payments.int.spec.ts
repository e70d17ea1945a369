/**
 * The county payment service against the real broker and the real PostgreSQL (KAFKA_BROKERS and
 * DATABASE_URL from test/support/global-setup.ts). Counties and event ids are fresh per run, so
 * the shared topic and a reused database do not disturb the assertions.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import {
  KafkaClient,
  Topics,
  kafkaSettingsFromEnv,
  type KafkaBatchConsumer,
  type KafkaLogSink,
  type KafkaProducer,
  type OutboundMessage,
  type SettlementEvent,
} from '@onebill/messaging';
import { openDb, type Db } from '@onebill/ledger';
import { sumAmounts } from '@onebill/money';
import { eventually } from '../../../test/support/eventually';
import { positionGroupAtEnd } from '../../../test/support/kafka-tap';
import { loadConfig, type CountyPaymentsConfig } from './config';
import { SettlementEventIngest } from './ingest';
import { migrate } from './payables.repository';
import { CountyPaymentsRuntime } from './runtime';

const quiet: KafkaLogSink = { error: () => undefined, warn: () => undefined, log: () => undefined };
const COUNTY_A = `9${randomInt(10_000, 99_999)}`;
const COUNTY_B = `8${randomInt(10_000, 99_999)}`;
const HOSPITAL = `H${COUNTY_A}0001`;
const MONTH = '2023-06';

function event(
  county: string,
  funds: Array<[string, SettlementEvent['funds'][number]['fund'], string]>,
  extra: Partial<SettlementEvent> = {},
): SettlementEvent {
  const fundSum = sumAmounts(funds.map(([, , amount]) => amount));
  return {
    event_id: randomUUID(),
    event_type: 'settled',
    occurred_at: '2023-06-15T10:21:07.000Z',
    setl_id: `S-${randomUUID()}`,
    fixmedins_code: county === COUNTY_A ? HOSPITAL : `H${county}0001`,
    mdtrt_id: `MDT-${randomUUID()}`,
    psn_no: `P-${randomInt(1_000_000)}`,
    clr_optins: county,
    setl_time: '2023-06-15 18:21:07',
    month: MONTH,
    rule_set_version: 'panzhihua-2023.1',
    category_used: null,
    medfee_sumamt: fundSum,
    fund_pay_sumamt: fundSum,
    psn_cash_pay: fundSum.startsWith('-') ? '-0.00' : '0.00',
    funds: funds.map(([fund_pay_type, fund, amount]) => ({ fund_pay_type, fund, amount })),
    ...extra,
  };
}

function message(e: SettlementEvent): OutboundMessage {
  return {
    key: e.clr_optins,
    value: JSON.stringify(e),
    headers: { 'event-id': e.event_id, 'event-type': e.event_type, 'correlation-id': e.setl_id },
  };
}

function configFor(groupId: string): CountyPaymentsConfig {
  return loadConfig({
    KAFKA_BROKERS: process.env.KAFKA_BROKERS,
    DATABASE_URL: process.env.DATABASE_URL,
    COUNTY_ADMDVS: COUNTY_A,
    KAFKA_GROUP_ID: groupId,
    KAFKA_LOG_LEVEL: 'nothing',
  });
}

interface PayableRow {
  fund_pay_type: string;
  amount: string;
  events: number;
}

async function payablesOf(db: Db, county: string): Promise<PayableRow[]> {
  const r = await db.query<PayableRow>(
    `SELECT fund_pay_type, amount::text AS amount, events FROM county.payables
      WHERE admdvs = $1 ORDER BY fund_pay_type`,
    [county],
  );
  return r.rows;
}

describe('county payment service (real Kafka, real PostgreSQL)', () => {
  const groupId = `county-payments-it-${randomUUID()}`;
  let client: KafkaClient;
  let producer: KafkaProducer;
  let probe: Db;
  let runtime: CountyPaymentsRuntime | undefined;
  let service: ChildProcess | undefined;

  // A's bill 1, A's bill 2 and its reversal, B's bill, A's bill 3 behind a malformed message.
  const a1 = event(COUNTY_A, [
    ['390100', 'basic', '100.10'],
    ['390200', 'critical', '20.05'],
  ]);
  const a2 = event(COUNTY_A, [
    ['390100', 'basic', '50.00'],
    ['610100', 'assistance', '10.01'],
  ]);
  const a2Reversal = event(
    COUNTY_A,
    [
      ['390100', 'basic', '-50.00'],
      ['610100', 'assistance', '-10.01'],
    ],
    { event_type: 'reversed', reverses_event_id: a2.event_id, setl_id: a2.setl_id },
  );
  const b1 = event(COUNTY_B, [['390100', 'basic', '999.99']]);
  const a3 = event(COUNTY_A, [['390100', 'basic', '0.03']]);
  const expectedA: PayableRow[] = [
    { fund_pay_type: '390100', amount: '100.13', events: 4 },
    { fund_pay_type: '390200', amount: '20.05', events: 1 },
    { fund_pay_type: '610100', amount: '0.00', events: 2 },
  ];

  beforeAll(async () => {
    client = new KafkaClient({
      ...kafkaSettingsFromEnv(process.env, { clientId: 'county-it', logLevel: 'nothing' }),
      logSink: quiet,
    });
    await client.admin().ensureTopics([{ topic: Topics.settlementEvents, numPartitions: 6 }]);
    // the group starts where the topic ends now: a shared broker holds other runs' events, and a
    // consumer that never commits (below) would otherwise replay the topic's first batch forever
    await positionGroupAtEnd(groupId, [Topics.settlementEvents]);
    await positionGroupAtEnd(`${groupId}-http`, [Topics.settlementEvents]);
    producer = client.producer();
    probe = await openDb({ databaseUrl: process.env.DATABASE_URL });
    await migrate(probe);
  });

  afterAll(async () => {
    if (service && service.exitCode === null) {
      const exited = new Promise((resolve) => service?.once('exit', resolve));
      service.kill('SIGTERM');
      await exited;
    }
    await runtime?.stop();
    await producer.disconnect();
    await client.close();
    await probe.close();
  });

  it('a consumer that dies before committing offsets leaves DB effects that a restart does not double count', async () => {
    const positioned = await client.admin().committedOffsets(groupId, Topics.settlementEvents);
    await producer.send(Topics.settlementEvents, [
      message(a1),
      message(a1), // the same event twice (outbox redelivery)
      message(b1),
      message(a2),
      message(a2Reversal),
      { key: COUNTY_A, value: '{"event_id": not json', headers: { 'event-id': 'broken' } },
      message(a3),
    ]);

    // First consumer of the group: applies each batch in the database, then "crashes" before
    // KafkaBatchConsumer can commit the offsets.
    const db = await openDb({ databaseUrl: process.env.DATABASE_URL });
    const ingest = new SettlementEventIngest(db, [COUNTY_A], quiet);
    // kafkajs must not restart the crashed member in the background (it would outlive the spec)
    let crashed = (): void => undefined;
    const crash = new Promise<void>((resolve) => {
      crashed = resolve;
    });
    const crashing: KafkaBatchConsumer = client.batchConsumer({
      groupId,
      topics: [Topics.settlementEvents],
      retry: { retries: 0, restartOnFailure: () => Promise.resolve(false) },
      onCrash: () => crashed(),
      handler: async (batch) => {
        await ingest.handleBatch(batch);
        throw new Error('process killed after the DB commit, before the offset commit');
      },
    });
    try {
      await crashing.start();
      await eventually(async () => expect(await payablesOf(probe, COUNTY_A)).toEqual(expectedA));
      await crash;
    } finally {
      await crashing.stop();
      await db.close();
    }
    const committed = await client.admin().committedOffsets(groupId, Topics.settlementEvents);
    expect(committed).toEqual(positioned); // nothing committed beyond where the group started

    // The service restarts in the same group: everything is redelivered and deduped.
    runtime = await CountyPaymentsRuntime.open(configFor(groupId), quiet);
    await runtime.start();
    const restarted = runtime;
    await eventually(() => {
      expect(restarted.ingest?.stats.duplicates).toBeGreaterThanOrEqual(5);
      expect(restarted.ingest?.stats.applied).toBe(0);
    });
    await eventually(async () => {
      const offsets = await client.admin().committedOffsets(groupId, Topics.settlementEvents);
      expect(offsets).not.toEqual(positioned);
    });
    expect(await payablesOf(probe, COUNTY_A)).toEqual(expectedA);
    expect(await payablesOf(probe, COUNTY_B)).toEqual([]);
    expect(restarted.ingest?.stats.skippedOtherCounty).toBeGreaterThanOrEqual(1);

    const processed = await probe.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM county.processed_events WHERE admdvs = $1`,
      [COUNTY_A],
    );
    expect(processed.rows[0]?.n).toBe(4);
  });

  it('records a malformed event with its offset and still applies the good event behind it', async () => {
    const rejected = await probe.query<{
      reason: string;
      kafka_offset: string;
      event_id_header: string;
    }>(
      `SELECT reason, kafka_offset::text AS kafka_offset, event_id_header
         FROM county.rejected_events WHERE message_key = $1`,
      [COUNTY_A],
    );
    expect(rejected.rows).toEqual([
      {
        reason: expect.stringContaining('not JSON') as string,
        kafka_offset: expect.stringMatching(/^\d+$/) as string,
        event_id_header: 'broken',
      },
    ]);

    // A later good event after a later bad one, on a running service.
    const a4 = event(COUNTY_A, [['390200', 'critical', '0.95']]);
    await producer.send(Topics.settlementEvents, [
      { key: COUNTY_A, value: JSON.stringify({ ...a4, event_id: randomUUID(), medfee_sumamt: 1 }) },
      message(a4),
    ]);
    await eventually(async () => {
      const rows = await payablesOf(probe, COUNTY_A);
      expect(rows.find((r) => r.fund_pay_type === '390200')).toEqual({
        fund_pay_type: '390200',
        amount: '21.00',
        events: 2,
      });
    });
    const count = await probe.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM county.rejected_events WHERE message_key = $1`,
      [COUNTY_A],
    );
    expect(count.rows[0]?.n).toBe(2);
  });

  // Nest 12 is ESM, which jest's CommonJS runtime cannot load: the HTTP side is tested on the
  // compiled service as it runs in production (node -r register-paths dist/…/main.js).
  it('serves payables and totals per county × hospital × fund over HTTP', async () => {
    const root = join(__dirname, '..', '..', '..');
    execFileSync(
      process.execPath,
      [require.resolve('typescript/bin/tsc'), '-p', 'apps/county-payments/tsconfig.app.json'],
      { cwd: root, stdio: 'pipe' },
    );
    const port = randomInt(20_000, 40_000);
    const output: string[] = [];
    service = spawn(
      process.execPath,
      ['-r', './scripts/register-paths.js', 'dist/apps/county-payments/src/main.js'],
      {
        cwd: root,
        env: {
          ...process.env,
          COUNTY_ADMDVS: COUNTY_A,
          PORT: String(port),
          // its own group: it re-reads the whole topic and must add nothing (dedupe by event id)
          KAFKA_GROUP_ID: `${groupId}-http`,
          KAFKA_LOG_LEVEL: 'error',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    service.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    service.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    const base = `http://127.0.0.1:${port}`;

    const health = await eventually(
      async () => {
        expect(service?.exitCode).toBeNull();
        const res = await fetch(`${base}/health`);
        const body = (await res.json()) as { status: string; counties: string[] };
        expect(body).toMatchObject({ status: 'ok', counties: [COUNTY_A] });
        return body;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    ).catch((error: unknown) => {
      throw new Error(`service did not come up: ${String(error)}\n${output.join('')}`);
    });
    expect(health.status).toBe('ok');

    const expectedTotals = [
      { fund_pay_type: '390100', amount: '100.13', events: 4 },
      { fund_pay_type: '390200', amount: '21.00', events: 2 },
      { fund_pay_type: '610100', amount: '0.00', events: 2 },
    ];
    // Once its own group has caught up, nothing has been added twice.
    await eventually(async () => {
      const body = (await (await fetch(`${base}/health`)).json()) as {
        since_start: { duplicates: number; applied: number };
      };
      expect(body.since_start.duplicates).toBeGreaterThanOrEqual(6);
      expect(body.since_start.applied).toBe(0);
    });
    const payables = (await (
      await fetch(`${base}/payables?month=${MONTH}&fixmedins_code=${HOSPITAL}`)
    ).json()) as { rows: unknown[]; totals: PayableRow[] };
    expect(payables.totals).toEqual(expectedTotals);
    expect(payables.rows).toHaveLength(3);

    const totals = (await (await fetch(`${base}/payables/totals`)).json()) as {
      totals: Array<{
        admdvs: string;
        fixmedins_code: string;
        fund_pay_type: string;
        amount: string;
      }>;
    };
    const ours = totals.totals.filter((t) => t.admdvs === COUNTY_A);
    expect(ours.map((t) => [t.fixmedins_code, t.fund_pay_type, t.amount])).toEqual([
      [HOSPITAL, '390100', '100.13'],
      [HOSPITAL, '390200', '21.00'],
      [HOSPITAL, '610100', '0.00'],
    ]);
    expect(totals.totals.some((t) => t.admdvs === COUNTY_B)).toBe(false);
    expect((await fetch(`${base}/payables?month=2023-13`)).status).toBe(400);
  });
});
