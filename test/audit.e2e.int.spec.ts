/**
 * Audit end to end (issue 5): thousands of bills through the real broker into the compiled
 * gateway and PostgreSQL, then replayed from the archive (over HTTP and the CLI) and re-read
 * from Kafka with a group of the audit's own; one stored amount altered is found by both the
 * replay and the archive verification, at that bill.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { kafkaRangeAudit, parseCsv } from '@onebill/audit';
import { type Db, openDb } from '@onebill/ledger';
import { KafkaClient, Topics } from '@onebill/messaging';
import { RuleBook } from '@onebill/rules';
import { newRun } from './support/bills';
import { writeCredentials } from './support/credentials';
import { eventually } from './support/eventually';
import { ROOT } from './support/gateway-process';
import { GatewayHarness } from './support/harness';
import { runFeed } from './support/feed';

const execFileAsync = promisify(execFile);
const CRED = writeCredentials();
const AUDITOR = CRED.header(CRED.auditor);
const OPERATOR = CRED.header(CRED.operator);
const RUN = newRun('A');
const GROUP = `gateway-audit-${RUN}`;
const BILLS = 2000;

interface Job {
  job_id: string;
  status: 'running' | 'done' | 'failed';
  error?: string;
  report?: {
    total: number;
    matched: number;
    differing: number;
    failed: number;
    differences: {
      setlId: string;
      mdtrtId: string;
      diffs: { field: string; stored: string; replayed: string }[];
    }[];
    ok?: boolean;
    unsealed?: number;
    broken?: { reason: string; kind: string; ref: string; detail: string }[];
    firstBroken?: { setlId?: string; mdtrtId?: string; reason: string } | null;
  };
}

describe('audit replay of a real run (real Kafka, real PostgreSQL, the compiled gateway)', () => {
  let harness: GatewayHarness;
  let db: Db;
  let client: KafkaClient;
  const rules = RuleBook.load();
  let startedAt: string;
  let before: { partition: number; high: string }[];
  let after: { partition: number; high: string }[];
  let settledCount = 0;

  async function job(path: string, body: object): Promise<Job> {
    const res = await fetch(`${harness.base}${path}`, {
      method: 'POST',
      headers: { ...AUDITOR, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(202);
    const started = (await res.json()) as Job;
    return eventually(
      async () => {
        const r = await fetch(`${harness.base}/api/v1/audit/jobs/${started.job_id}`, {
          headers: AUDITOR,
        });
        const j = (await r.json()) as Job;
        if (j.status === 'running') throw new Error('still running');
        return j;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
  }

  const runSettlements = async (): Promise<{ setl_id: string; mdtrt_id: string }[]> =>
    (
      await db.query<{ setl_id: string; mdtrt_id: string }>(
        `SELECT setl_id, mdtrt_id FROM settlements WHERE mdtrt_id LIKE $1 ORDER BY setl_id`,
        [`${RUN}-%`],
      )
    ).rows;

  beforeAll(async () => {
    harness = await GatewayHarness.open(GROUP, CRED.file);
    db = await openDb({ databaseUrl: process.env.DATABASE_URL ?? '' });
    client = new KafkaClient({
      brokers: (process.env.KAFKA_BROKERS ?? '').split(','),
      clientId: `${GROUP}-audit`,
      logLevel: 'nothing',
    });
    before = await client.admin().watermarks(Topics.hisDischarge);
    const feed = runFeed(RUN, rules, { persons: 400, duplicates: 0.02, malformed: 0.01 });
    const messages = Array.from({ length: BILLS }, () => feed.message());
    settledCount = messages.filter((m) => m.kind === 'bill').length;
    const xmls = messages.map((m) =>
      m.xml.replace(/<mdtrt_id>([^<]*)<\/mdtrt_id>/, `<mdtrt_id>${RUN}-$1</mdtrt_id>`),
    );
    startedAt = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < xmls.length; i += 250) await harness.publish(xmls.slice(i, i + 250));
    after = await client.admin().watermarks(Topics.hisDischarge);
    await eventually(async () => expect((await runSettlements()).length).toBe(settledCount), {
      timeoutMs: 240_000,
      intervalMs: 500,
    });
    // every message of the run has its outcome: the gateway's committed offsets reached the end
    await eventually(
      async () => {
        const committed = await client.admin().committedOffsets(GROUP, Topics.hisDischarge);
        for (const a of after) {
          expect(committed.find((c) => c.partition === a.partition)?.offset).toBe(a.high);
        }
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  }, 400_000);

  afterAll(async () => {
    await client?.close();
    await db?.close();
    await harness?.close();
  });

  it(`replays the run's ${BILLS} messages from the archive with no difference`, async () => {
    const j = await job('/api/v1/audit/replays', { from: startedAt });
    expect(j.status).toBe('done');
    // other suites' bills may fall in the range too: they must match as well
    expect(j.report!.total).toBeGreaterThanOrEqual(settledCount);
    expect(j.report!.matched).toBe(j.report!.total);
    expect(j.report!.differing).toBe(0);
    expect(j.report!.failed).toBe(0);
  });

  it("re-reads the run from Kafka with the audit's own group: every settled message matches, production offsets untouched", async () => {
    const committedBefore = await client.admin().committedOffsets(GROUP, Topics.hisDischarge);
    const fromOffset: Record<number, string> = {};
    const toOffset: Record<number, string> = {};
    for (const b of before) fromOffset[b.partition] = b.high;
    for (const a of after) toOffset[a.partition] = (BigInt(a.high) - 1n).toString();
    const report = await kafkaRangeAudit(db, rules, client, {
      topic: Topics.hisDischarge,
      fromOffset,
      toOffset,
    });
    expect(report.read).toBe(BILLS);
    expect(report.notConsumed).toEqual([]);
    // duplicates are answered with the settlement they repeat, and are compared with it too
    expect(report.outcomes['settled']).toBe(settledCount);
    expect(report.outcomes['rejected']).toBeGreaterThan(0);
    expect(report.total).toBe(settledCount + (report.outcomes['duplicate'] ?? 0));
    expect(report.matched).toBe(report.total);
    expect(report.differing + report.failed).toBe(0);
    expect(report.groupId).not.toBe(GROUP);
    expect(await client.admin().committedOffsets(GROUP, Topics.hisDischarge)).toEqual(
      committedBefore,
    );
  });

  it('one altered stored amount: the replay (HTTP and CLI) and the archive verification name that bill', async () => {
    const rows = await runSettlements();
    const target = rows[Math.floor(rows.length / 2)]!;
    // the archive must hold the bill sealed before it is altered
    await eventually(
      async () => {
        const j = await job('/api/v1/audit/archive/verifications', {});
        expect(j.report!.broken).toEqual([]); // what is broken, if anything
        expect(j.report!.ok).toBe(true);
        expect(j.report!.unsealed).toBe(0);
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    const { rows: orig } = await db.query<{ hifp_pay: string }>(
      `SELECT hifp_pay::text AS hifp_pay FROM settlements WHERE setl_id = $1`,
      [target.setl_id],
    );
    await db.query(`UPDATE settlements SET hifp_pay = hifp_pay + 1.00 WHERE setl_id = $1`, [
      target.setl_id,
    ]);
    try {
      const replay = await job('/api/v1/audit/replays', { from: startedAt });
      expect(replay.report!.differing).toBe(1);
      const d = replay.report!.differences[0]!;
      expect(d).toMatchObject({ setlId: target.setl_id, mdtrtId: target.mdtrt_id });
      expect(d.diffs).toEqual([
        {
          field: 'hifp_pay',
          stored: (Number(orig[0]!.hifp_pay) + 1).toFixed(2),
          replayed: orig[0]!.hifp_pay,
        },
      ]);

      const verify = await job('/api/v1/audit/archive/verifications', {});
      expect(verify.report!.ok).toBe(false);
      expect(verify.report!.firstBroken).toMatchObject({
        setlId: target.setl_id,
        mdtrtId: target.mdtrt_id,
        reason: 'LEDGER_ROW_ALTERED',
      });

      // the command line says the same, as CSV, and exits 1
      const cli = spawnSync(
        process.execPath,
        [
          join(ROOT, 'node_modules/tsx/dist/cli.mjs'),
          'scripts/audit.ts',
          'replay',
          '--bill',
          target.setl_id,
          '--format',
          'csv',
        ],
        {
          cwd: ROOT,
          env: { ...process.env, DATABASE_URL: process.env.DATABASE_URL },
          encoding: 'utf8',
        },
      );
      expect(cli.status).toBe(1);
      const csv = parseCsv(cli.stdout);
      expect(csv.slice(1).map((r) => [r[0], r[7]])).toEqual([[target.setl_id, 'hifp_pay']]);
    } finally {
      await db.query(`UPDATE settlements SET hifp_pay = $2::numeric WHERE setl_id = $1`, [
        target.setl_id,
        orig[0]!.hifp_pay,
      ]);
    }
    // put back, the ledger matches its archive again
    const again = await job('/api/v1/audit/archive/verifications', {});
    expect(again.report!.ok).toBe(true);
  });

  it("the auditor's requests are in the operators' audit log, and the jobs are kept in the database", async () => {
    const started = await job('/api/v1/audit/archive/verifications', {});
    const res = await fetch(`${harness.base}/api/v1/audit/actions?actor=test-auditor`, {
      headers: AUDITOR,
    });
    expect(res.status).toBe(200);
    const { actions } = (await res.json()) as {
      actions: { action: string; actor: string; role: string; target: string }[];
    };
    expect(actions[0]).toMatchObject({
      action: 'audit-verify',
      actor: 'test-auditor',
      role: 'auditor',
      target: `job ${started.job_id}`,
    });
    expect(actions.some((a) => a.action === 'audit-replay')).toBe(true);
    // the job's row has its report; the list reads the database, not this process's memory
    const { rows } = await db.query<{ status: string; ok: boolean }>(
      `SELECT status, (report ->> 'ok')::boolean AS ok FROM audit_jobs WHERE id = $1`,
      [started.job_id],
    );
    expect(rows).toEqual([{ status: 'done', ok: true }]);
    const list = (await (
      await fetch(`${harness.base}/api/v1/audit/jobs`, { headers: AUDITOR })
    ).json()) as { jobs: { job_id: string }[] };
    expect(list.jobs[0]!.job_id).toBe(started.job_id);
    // append-only, and in the archive
    await expect(db.query(`DELETE FROM operator_actions`)).rejects.toThrow(/append-only/);
    const { rows: archived } = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM archive WHERE kind = 'operator'`,
    );
    expect(Number(archived[0]!.n)).toBeGreaterThanOrEqual(actions.length);
  });

  // every region's fund statement, the factor method included (003 第七条), through both doors
  it.each([
    ['panzhihua', '2024', 'panzhihua'],
    ['baoshan', '2024', 'baoshan'],
    ['jilin-example', '2026', 'jilin'],
  ])(
    'the %s %s fund statement runs from the API and from the CLI, alike',
    async (name, year, region) => {
      const res = await fetch(
        `${harness.base}/api/v1/funds/statements?region=${name}&year=${year}`,
        { headers: AUDITOR },
      );
      expect(res.status).toBe(200);
      const api = (await res.json()) as { statement: { region: string; year: number } };
      expect(api.statement).toMatchObject({ region, year: Number(year) });
      // run asynchronously: a blocked event loop leaves the HTTP keep-alive socket stale
      const cli = await execFileAsync(
        process.execPath,
        [
          join(ROOT, 'node_modules/tsx/dist/cli.mjs'),
          'scripts/audit.ts',
          'funds',
          '--region',
          name,
          '--year',
          year,
        ],
        { cwd: ROOT, env: process.env, encoding: 'utf8' },
      );
      expect(JSON.parse(cli.stdout)).toEqual(api);
    },
  );

  it("an operator's republish of a parked event is in the operators' audit log, and the event goes out", async () => {
    // an event the relay had parked (docs/adr/0011: the broker refused it), set up as the relay
    // leaves one; the operator has fixed the cause and puts it back
    const eventId = randomUUID();
    await db.query(
      `INSERT INTO outbox (event_id, topic, key, payload, parked_at, park_reason)
       VALUES ($1, $2, $3, '{"parked":"for the test"}', now(), 'MESSAGE_TOO_LARGE (test)')`,
      [eventId, Topics.alertsHighBurden, `${RUN}-PARKED`],
    );
    const put = (who: Record<string, string>) =>
      fetch(`${harness.base}/api/v1/outbox/parked/${eventId}/republish`, {
        method: 'POST',
        headers: who,
      });
    // an auditor reads, never changes
    expect((await put(AUDITOR)).status).toBe(403);
    const res = await put(OPERATOR);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ event_id: eventId, status: 'queued' });
    // not parked any more, so a second request finds nothing to put back
    expect((await put(OPERATOR)).status).toBe(404);
    await eventually(async () => {
      const { rows } = await db.query<{ published: boolean }>(
        `SELECT published_at IS NOT NULL AS published FROM outbox WHERE event_id = $1`,
        [eventId],
      );
      expect(rows).toEqual([{ published: true }]);
    });
    const log = (await (
      await fetch(`${harness.base}/api/v1/audit/actions?actor=test-operator`, { headers: AUDITOR })
    ).json()) as { actions: { action: string; role: string; target: string; outcome: string }[] };
    expect(log.actions.filter((a) => a.target === eventId)).toEqual([
      expect.objectContaining({ action: 'outbox-republish', role: 'operator', outcome: 'queued' }),
    ]);
  });
});
