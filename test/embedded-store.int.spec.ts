/**
 * The embedded store (PGlite) under the faults of issue 11, item 9 — on the real gateway process:
 * - a second process on the same folder (audit:cli while the gateway runs) is refused, naming the
 *   gateway's pid, and the store stays healthy;
 * - SIGKILL under HTTP load, CYCLES times in a row: the store opens every time and every bill
 *   acknowledged (201 settled) before a kill is in the ledger after, once;
 * - a store PostgreSQL cannot start on gives one line with the recovery command, not a wasm stack.
 * docs/adr/0013-embedded-store-lock-and-recovery.md has the cause and the evidence.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgliteDb } from '@onebill/ledger';
import { billXml, newRun } from './support/bills';
import { type TestCredentials, writeCredentials } from './support/credentials';
import { GatewayProcess, ROOT, freePort } from './support/gateway-process';

/**
 * Kill–restart cycles in a row: the 20 issue 11 asks for ("what it must show" 6). On a quiet
 * 2-core machine 8 cycles took 29 s (each restart ~2.3 s), so 20 fit in CI; on an overloaded one a
 * start took 17–48 s (docs/adr/0013). EMBEDDED_KILL_CYCLES changes the count.
 */
const CYCLES = Number(process.env.EMBEDDED_KILL_CYCLES ?? 20);
const TEMPLATES = [
  'discharge-panzhihua-11-none.xml',
  'discharge-panzhihua-21-dibao.xml',
  'discharge-baoshan-13-de_facto_orphan.xml',
  'discharge-baoshan-21-dibao_edge.xml',
];

interface Ack {
  visit: string;
  setlId: string;
  xml: string;
}

function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('embedded store (PGlite) of the gateway process', () => {
  const RUN = newRun('K');
  let work: string;
  let dataDir: string;
  let creds: TestCredentials;
  let env: Record<string, string>;
  const acked = new Map<string, Ack>();
  let seq = 0;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'onebill-embedded-'));
    dataDir = join(work, 'pglite');
    creds = writeCredentials();
    env = {
      DATABASE_URL: '',
      KAFKA_BROKERS: '',
      PGLITE_DIR: dataDir,
      SIMULATOR_RATE: '0',
      GATEWAY_CREDENTIALS_FILE: creds.file,
    };
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  /** Posts fresh bills, `lanes` at a time, until stopped; records each one acknowledged. */
  function load(
    gw: GatewayProcess,
    lanes: number,
  ): { stop: () => Promise<void>; sent: () => number } {
    let stopped = false;
    let sent = 0;
    const lane = async (): Promise<void> => {
      while (!stopped) {
        seq += 1;
        const visit = `${RUN}-${seq}`;
        const xml = billXml(RUN, TEMPLATES[seq % TEMPLATES.length]!, String(seq));
        sent += 1;
        try {
          const res = await fetch(`${gw.base}/api/v1/settlements`, {
            method: 'POST',
            headers: { 'content-type': 'application/xml', ...creds.header(creds.operator) },
            body: xml,
          });
          // 201 settled, 200 the same settlement again: both are an acknowledgement
          if (res.status === 201 || res.status === 200) {
            const body = (await res.json()) as { setlinfo: { setl_id: string } };
            acked.set(visit, { visit, setlId: body.setlinfo.setl_id, xml });
          } else await res.arrayBuffer();
        } catch {
          // the process was killed under us: this bill was not acknowledged
          return;
        }
      }
    };
    const lanesDone = Promise.all(Array.from({ length: lanes }, () => lane()));
    return {
      stop: async () => {
        stopped = true;
        await lanesDone;
      },
      sent: () => sent,
    };
  }

  it('refuses audit:cli on the store while the gateway runs, naming the gateway pid', async () => {
    const gw = await GatewayProcess.start(env);
    try {
      const audit = await run(
        [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'scripts/audit.ts', 'archive', 'verify'],
        { PGLITE_DIR: dataDir, DATABASE_URL: '' },
      );
      expect(audit.code).toBe(4);
      const lines = audit.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`in use by pid ${gw.child.pid}`);
      expect(lines[0]).toContain('stop that process');
      // the gateway was not disturbed
      const health = await fetch(`${gw.base}/health/ready`);
      expect(health.status).toBe(200);
    } finally {
      await gw.stop('SIGTERM');
    }
    // stopped cleanly, the lock is gone and the CLI may open the store
    const audit = await run(
      [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'scripts/audit.ts', 'archive', 'verify'],
      { PGLITE_DIR: dataDir, DATABASE_URL: '' },
    );
    expect(audit.stderr).not.toContain('in use by');
    expect(audit.code).toBe(0);
  });

  it(`opens after SIGKILL under load ${CYCLES} times in a row and keeps every acknowledged bill`, async () => {
    const started = Date.now();
    const perCycle: string[] = [];
    for (let cycle = 1; cycle <= CYCLES; cycle += 1) {
      const t0 = Date.now();
      // the store opens (migrations, archive sealer and all) after the previous SIGKILL
      const gw = await GatewayProcess.start(env);
      const opened = Date.now() - t0;
      const before = acked.size;
      try {
        // what was acknowledged before the last kill is there: resent, it is the same settlement
        const sample = [...acked.values()].slice(-3);
        for (const a of sample) {
          const res = await fetch(`${gw.base}/api/v1/settlements`, {
            method: 'POST',
            headers: { 'content-type': 'application/xml', ...creds.header(creds.operator) },
            body: a.xml,
          });
          const body = (await res.json()) as { status: string; setlinfo: { setl_id: string } };
          expect([res.status, body.status, body.setlinfo.setl_id]).toEqual([
            200,
            'duplicate',
            a.setlId,
          ]);
        }
        const traffic = load(gw, 6);
        // kill at a different moment of each cycle, in the middle of the load: after 10 to 29
        // acknowledgements, with 6 bills in flight
        const target = before + 10 + ((cycle * 7) % 20);
        while (acked.size < target) {
          if (Date.now() - t0 > 120_000)
            throw new Error(`cycle ${cycle}: ${acked.size - before} bills acknowledged in 120 s`);
          await new Promise((r) => setTimeout(r, 50));
        }
        await gw.stop('SIGKILL');
        await traffic.stop();
      } finally {
        // a failed cycle must not leave the gateway holding the store
        await gw.stop('SIGKILL');
      }
      perCycle.push(`${cycle}: open ${opened} ms, +${acked.size - before} acked`);
    }
    // one last clean start: the store opens, then the ledger is read directly
    const last = await GatewayProcess.start(env);
    await last.stop('SIGTERM');
    const db = await PgliteDb.open(dataDir);
    try {
      const rows = await db.query<{ mdtrt_id: string; setl_id: string }>(
        `SELECT mdtrt_id, setl_id FROM settlements WHERE mdtrt_id LIKE $1`,
        [`${RUN}-%`],
      );
      const byVisit = new Map<string, string[]>();
      for (const r of rows.rows)
        byVisit.set(r.mdtrt_id, [...(byVisit.get(r.mdtrt_id) ?? []), r.setl_id]);
      const lost = [...acked.values()].filter((a) => !byVisit.get(a.visit)?.includes(a.setlId));
      const twice = [...byVisit.entries()].filter(([, ids]) => ids.length > 1);
      expect({ lost: lost.map((a) => a.visit), twice }).toEqual({ lost: [], twice: [] });
      expect(acked.size).toBeGreaterThanOrEqual(CYCLES * 10);
    } finally {
      await db.close();
    }
    // the time this takes is reported, not asserted (speed belongs in benchmarks)
    process.stdout.write(
      `[embedded-store] ${CYCLES} SIGKILL cycles, ${acked.size} bills acknowledged, ` +
        `${Math.round((Date.now() - started) / 1000)} s\n  ${perCycle.join('\n  ')}\n`,
    );
  }, 1_800_000);

  it('a store PostgreSQL cannot start on gives one line with the command to move it aside', async () => {
    // the state two writers left behind: the checkpoint record the control file points at is
    // gone from the WAL (here: the WAL zeroed)
    const wal = join(dataDir, 'pg_wal');
    for (const f of readdirSync(wal)) {
      const p = join(wal, f);
      if (statSync(p).isFile()) writeFileSync(p, Buffer.alloc(statSync(p).size));
    }
    const gw = await run(['-r', './scripts/register-paths.js', 'dist/apps/gateway/src/main.js'], {
      ...env,
      PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    });
    expect(gw.code).toBe(1);
    const lines = gw.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`embedded store ${dataDir} cannot be opened`);
    expect(lines[0]).toContain(`mv ${dataDir} ${dataDir}.broken-`);
    expect(gw.stderr).not.toContain('RuntimeError');
    // and the lock was released: nothing else holds the folder
    expect(readdirSync(dataDir)).not.toContain('onebill.lock');
  });
});
