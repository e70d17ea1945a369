/**
 * npm run bench:e2e [-- --bills N] [--rate R] [--seconds S] [--warmup N]
 *                      [--skip-baseline] [--skip-throughput] [--skip-latency] [--skip-http]
 *                      [--baseline-messages N] [--http-rate R] [--http-seconds S]
 *                      [--instances N] [--kill-one-at F] [--cpu-prof] [--keep-db]
 *
 * The gateway end to end, through a real Kafka broker and a real PostgreSQL, found or started the
 * way the integration tests do (test/support: KAFKA_BROKERS / DATABASE_URL, else Testcontainers,
 * else the project's KRaft broker and the local server). The run gets a database of its own
 * (`onebill_bench_<time>_<run>`, dropped at the end) and bills whose mdtrt_id starts with the run's
 * prefix, from a per-run simulator seed, so nothing mixes with earlier runs. The compiled gateway
 * runs as its own process, as in production (`node -r ./scripts/register-paths.js …/main.js`).
 *
 * 0. Baseline (bench/baseline.ts): the bare pipeline on the same broker and database — Kafka in →
 *    one transaction per fetched batch with a multi-row insert and an outbox row per message →
 *    Kafka out, no parsing, no computing — before any gateway runs; the gateway's throughput is
 *    printed as a share of it.
 * 1. Throughput: N simulator bills published to his.discharge.v1 as fast as the producer goes;
 *    sustained bills/s = N / (last county event consumed − first bill published).
 * 2. Latency: R bills/s offered for S seconds (open loop: a bill's clock starts when it is due,
 *    not when the producer got to it); per bill, the time from then to its settlement event
 *    consumed on settlement.events.v1 by a consumer of our own, in a group positioned at the end
 *    before anything is published. Events are matched to bills by fixmedins_code + mdtrt_id.
 * 3. HTTP (bench/http-phase.ts): POST /api/v1/settlements at a fixed rate with autocannon, a
 *    distinct bill per request, an operator credential; p50/p99/max and the non-2xx answers.
 * 4. The gateway's peak RSS (VmHWM of the child process, /proc).
 *
 * `--instances N` runs N gateway processes in one consumer group on the same PostgreSQL;
 * `--kill-one-at F` SIGKILLs one of them once a fraction F of the throughput phase's bills has its
 * county event. After the throughput phase the ledger is checked either way: one settlement per
 * bill, no bill without a settlement or a reject, county events (by event id) sum to the ledger.
 *
 * Where the time goes: every second, the gateway's consumer lag, its `flow` log line (counters,
 * outbox backlog), the CPU of the gateway, of its PostgreSQL backends, of this process and of the
 * machine, and how long the gateway waited for a CPU (/proc/<pid>/schedstat); five times a second,
 * what the gateway's PostgreSQL connections are doing (pg_stat_activity); after each phase, each
 * bill's path from the ledger's own timestamps (inbox.received_at = its transaction's start,
 * outbox.published_at = the relay's claim) and the gateway's intake histogram from /metrics.
 * `--cpu-prof` also profiles the gateway (node --cpu-prof) and prints where its time went.
 *
 * Progress goes to stderr on one updating line; the summary to stdout: a table, then one JSON line.
 * Not a test: it asserts nothing, it measures and prints.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { format } from 'node:util';
import { type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { Client } from 'pg';
import { KafkaClient, TOPIC_SPECS, type TopicAdmin, Topics } from '@onebill/messaging';
import { RuleBook } from '@onebill/rules';
import { Feed } from '../apps/his-simulator/src/feed';
import { type BaselineResult, runBaseline } from './baseline';
import { type HttpPhaseResult, runHttpPhase } from './http-phase';
import { type TestCredentials, writeCredentials } from '../test/support/credentials';
import { eventually } from '../test/support/eventually';
import { freePort, ROOT } from '../test/support/gateway-process';
import { provideKafka, type ProvidedKafka } from '../test/support/kafka';
import { positionGroupAtEnd } from '../test/support/kafka-tap';
import { type ProvidedPostgres, providePostgres, redact } from '../test/support/postgres';

const TARGET = {
  billsPerSecond: 3000,
  /** the gateway's sustained rate as a share of the bare pipeline's in the same run */
  baselineShare: 0.5,
  p99Ms: 250,
  httpP99Ms: 20,
  rssMb: 300,
} as const;
const RUN = `B${randomBytes(3).toString('hex').toUpperCase()}`;
/** a phase ends when every bill has its event, or when no event came for this long */
const STALL_MS = 60_000;
/** bills per producer request in the throughput phase, and requests in flight */
const CHUNK = 500;
const IN_FLIGHT = 4;
/** the gateway's settings a run may change through the environment (reported with the figures) */
const KNOBS = [
  'DB_POOL_SIZE',
  'KAFKA_PARTITIONS_CONCURRENTLY',
  'OUTBOX_BATCH',
  'OUTBOX_POLL_MS',
  'INTAKE_BATCH_SIZE',
  'INTAKE_LANES',
] as const;
const CLK_TCK = 100; // USER_HZ of /proc/<pid>/stat on Linux
/** application_name of the bench's own connections (left out of the gateway's connection states) */
const BENCH_APP = 'onebill-bench';

// ---------------------------------------------------------------- options

interface Options {
  bills: number;
  rate: number;
  seconds: number;
  warmup: number;
  throughput: boolean;
  latency: boolean;
  baseline: boolean;
  baselineMessages: number;
  http: boolean;
  httpRate: number;
  httpSeconds: number;
  instances: number;
  /** SIGKILL one instance when this fraction of the throughput bills is settled; null = never */
  killOneAt: number | null;
  cpuProf: boolean;
  keepDb: boolean;
}

const USAGE = `usage: npm run bench:e2e -- [--bills N] [--rate R] [--seconds S] [--warmup N]
                          [--skip-baseline] [--skip-throughput] [--skip-latency] [--skip-http]
                          [--baseline-messages N] [--http-rate R] [--http-seconds S]
                          [--instances N] [--kill-one-at F] [--cpu-prof] [--keep-db]
  --bills N           throughput phase: bills published as fast as possible (default 20000)
  --baseline-messages N  the bare pipeline's messages (default 20000: it needs a few seconds
                      of load for a steady figure, whatever --bills is)
  --rate R            latency phase: bills offered per second (default 500)
  --seconds S         latency phase: how long the rate is offered (default 30)
  --warmup N          bills settled before measuring (default 500; 0 = none)
  --http-rate R       HTTP phase: POST /api/v1/settlements per second (default 200)
  --http-seconds S    HTTP phase: how long (default 15)
  --instances N       gateway processes in one consumer group (default 1)
  --kill-one-at F     SIGKILL one instance when a fraction F (0 < F < 1) of the throughput
                      phase's bills is settled (needs --instances 2 or more)
  --skip-baseline     --skip-throughput   --skip-latency   --skip-http   leave a phase out
  --cpu-prof          profile the gateway (node --cpu-prof) and print where its CPU went
  --keep-db           keep the run's database for inspection (its name is printed)
The gateway reads the rest of its settings from the environment (${KNOBS.join(', ')}, …).
KAFKA_PORT=29092 makes scripts/kafka/start.sh start a broker of its own for the run.`;

class UsageError extends Error {}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = {
    bills: 20_000,
    rate: 500,
    seconds: 30,
    warmup: 500,
    throughput: true,
    latency: true,
    baseline: true,
    baselineMessages: 20_000,
    http: true,
    httpRate: 200,
    httpSeconds: 15,
    instances: 1,
    killOneAt: null,
    cpuProf: false,
    keepDb: false,
  };
  const numeric: Record<string, { min: number; max: number; set: (v: number) => void }> = {
    bills: { min: 1, max: 2_000_000, set: (v) => (o.bills = v) },
    rate: { min: 1, max: 50_000, set: (v) => (o.rate = v) },
    seconds: { min: 1, max: 3_600, set: (v) => (o.seconds = v) },
    warmup: { min: 0, max: 100_000, set: (v) => (o.warmup = v) },
    'baseline-messages': { min: 100, max: 2_000_000, set: (v) => (o.baselineMessages = v) },
    'http-rate': { min: 1, max: 20_000, set: (v) => (o.httpRate = v) },
    'http-seconds': { min: 1, max: 3_600, set: (v) => (o.httpSeconds = v) },
    instances: { min: 1, max: 16, set: (v) => (o.instances = v) },
  };
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (!token.startsWith('--')) throw new UsageError(`unexpected argument "${token}"`);
    const eq = token.indexOf('=');
    const name = token.slice(2, eq < 0 ? undefined : eq);
    switch (name) {
      case 'skip-throughput':
        o.throughput = false;
        continue;
      case 'skip-latency':
        o.latency = false;
        continue;
      case 'skip-baseline':
        o.baseline = false;
        continue;
      case 'skip-http':
        o.http = false;
        continue;
      case 'kill-one-at': {
        const raw = eq < 0 ? argv[++i] : token.slice(eq + 1);
        const f = Number(raw);
        if (raw === undefined || raw === '' || !(f > 0 && f < 1)) {
          throw new UsageError(
            `--kill-one-at must be a fraction between 0 and 1, got "${raw ?? ''}"`,
          );
        }
        o.killOneAt = f;
        continue;
      }
      case 'cpu-prof':
        o.cpuProf = true;
        continue;
      case 'keep-db':
        o.keepDb = true;
        continue;
      case 'help':
        throw new UsageError('');
      default:
        break;
    }
    const spec = numeric[name];
    if (spec === undefined) throw new UsageError(`unknown option "${token}"`);
    const raw = eq < 0 ? argv[++i] : token.slice(eq + 1);
    const v = Number(raw);
    if (raw === undefined || raw === '' || !Number.isInteger(v) || v < spec.min || v > spec.max) {
      throw new UsageError(
        `--${name} must be a whole number from ${spec.min} to ${spec.max}, got "${raw ?? ''}"`,
      );
    }
    spec.set(v);
  }
  if (!o.throughput && !o.latency && !o.baseline && !o.http) {
    throw new UsageError('every phase skipped: nothing to measure');
  }
  if (o.killOneAt !== null && (o.instances < 2 || !o.throughput)) {
    throw new UsageError('--kill-one-at needs --instances 2 or more and the throughput phase');
  }
  return o;
}

// ---------------------------------------------------------------- small helpers

/** epoch milliseconds with sub-millisecond resolution (comparable with PostgreSQL's now()) */
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
const int = (x: number): string => Math.round(x).toLocaleString('en-US');
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** nearest-rank percentile of an ascending array */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

interface Spread {
  n: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

function spread(values: number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return {
    n: s.length,
    mean: round(mean, 1),
    p50: round(percentile(s, 50), 1),
    p95: round(percentile(s, 95), 1),
    p99: round(percentile(s, 99), 1),
    max: round(s[s.length - 1] ?? Number.NaN, 1),
  };
}

async function inParallel<T>(
  items: readonly T[],
  width: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await fn(item);
      }
    }),
  );
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** One updating line on stderr (a TTY), or a plain line every 5 s (a log file). */
class StatusLine {
  private shown = false;
  private lastPlain = 0;
  private readonly tty = process.stderr.isTTY === true;

  set(text: string): void {
    if (this.tty) {
      const width = Math.max(40, (process.stderr.columns ?? 120) - 1);
      process.stderr.write(`\r\x1b[2K${text.slice(0, width)}`);
      this.shown = true;
    } else if (Date.now() - this.lastPlain >= 5_000) {
      process.stderr.write(`${text}\n`);
      this.lastPlain = Date.now();
    }
  }

  /** a line of its own, above the status line */
  note(text: string): void {
    this.end();
    process.stderr.write(`${text}\n`);
  }

  end(): void {
    if (this.shown) process.stderr.write('\r\x1b[2K');
    this.shown = false;
  }
}

const status = new StatusLine();
const note = (text: string): void => status.note(`[bench] ${text}`);

// ---------------------------------------------------------------- bills and their events

type Phase = 'W' | 'T' | 'L' | 'H';
const PHASE_NAME: Record<Phase, string> = {
  W: 'warm-up',
  T: 'throughput',
  L: 'latency',
  H: 'http',
};

interface BillRecord {
  phase: Phase;
  /** when the bill was due (latency phase) or handed to the producer (otherwise) */
  intendedAt: number;
  /** when its producer request started */
  sentAt: number;
  /** when its settlement event was consumed; NaN until then */
  settledAt: number;
  /** when a reject or conflict for it was consumed; NaN unless rejected */
  rejectedAt: number;
}

interface OutBill {
  key: string;
  /** Kafka key: the hospital */
  hospital: string;
  xml: string;
  rec: BillRecord;
}

const billKey = (fixmedinsCode: string, mdtrtId: string): string => `${fixmedinsCode}|${mdtrtId}`;

/** "123.45" → 12345n (amounts on the wire: strings with two decimals, possibly negative) */
function fen(amount: string): bigint {
  const negative = amount.startsWith('-');
  const [i, f = ''] = amount.replace('-', '').split('.');
  const v = BigInt(i === undefined || i === '' ? '0' : i) * 100n + BigInt(`${f}00`.slice(0, 2));
  return negative ? -v : v;
}

const yuan = (f: bigint): string => {
  const a = f < 0n ? -f : f;
  return `${f < 0n ? '-' : ''}${a / 100n}.${String(a % 100n).padStart(2, '0')}`;
};

class Tracker {
  readonly bills = new Map<string, BillRecord>();
  readonly done: Record<Phase, number> = { W: 0, T: 0, L: 0, H: 0 };
  readonly rejected: Record<Phase, number> = { W: 0, T: 0, L: 0, H: 0 };
  readonly reasons = new Map<string, number>();
  /** every `settled` event of this run's bills, by event id (at least once: copies collapse) */
  readonly events = new Map<string, { key: string; fundPayFen: bigint }>();
  /** event copies consumed beyond the first (the relay publishes at least once) */
  eventCopies = 0;
  /** events for this run's bills that no gateway of this run wrote (a shared broker) */
  foreignEvents = 0;

  add(key: string, phase: Phase): BillRecord {
    const rec: BillRecord = {
      phase,
      intendedAt: Number.NaN,
      sentAt: Number.NaN,
      settledAt: Number.NaN,
      rejectedAt: Number.NaN,
    };
    this.bills.set(key, rec);
    return rec;
  }

  /** a settlement.events.v1 value */
  onSettlementEvent(text: string, at: number, ours: ReadonlySet<string> | null = null): void {
    const v = parseObject(text);
    if (v === null || v.event_type !== 'settled') return;
    const { fixmedins_code: f, mdtrt_id: m } = v;
    if (typeof f !== 'string' || typeof m !== 'string') return;
    if (ours !== null && (typeof v.event_id !== 'string' || !ours.has(v.event_id))) {
      this.foreignEvents += 1;
      return;
    }
    const rec = this.bills.get(billKey(f, m));
    if (rec === undefined) return;
    if (typeof v.event_id === 'string' && typeof v.fund_pay_sumamt === 'string') {
      if (this.events.has(v.event_id)) this.eventCopies += 1;
      else this.events.set(v.event_id, { key: billKey(f, m), fundPayFen: fen(v.fund_pay_sumamt) });
    }
    if (!Number.isNaN(rec.settledAt)) return;
    rec.settledAt = at;
    if (Number.isNaN(rec.rejectedAt)) this.done[rec.phase] += 1;
  }

  /** a his.discharge.rejected.v1 value: the original payload names the bill */
  onRejected(text: string, at: number): void {
    const v = parseObject(text);
    if (v === null || typeof v.original_payload !== 'string') return;
    const f = /<fixmedins_code>([^<]*)<\/fixmedins_code>/.exec(v.original_payload)?.[1];
    const m = /<mdtrt_id>([^<]*)<\/mdtrt_id>/.exec(v.original_payload)?.[1];
    if (f === undefined || m === undefined) return;
    const rec = this.bills.get(billKey(f, m));
    if (rec === undefined || !Number.isNaN(rec.rejectedAt)) return;
    rec.rejectedAt = at;
    this.rejected[rec.phase] += 1;
    if (Number.isNaN(rec.settledAt)) this.done[rec.phase] += 1;
    const reason = `${typeof v.status === 'string' ? v.status : '?'} ${typeof v.reason_code === 'string' ? v.reason_code : '?'}`;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
  }
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Simulator bills with this run's mdtrt_id (`<run>-<phase><simulator's id>`), registered. */
function makeBills(feed: Feed, tracker: Tracker, phase: Phase, n: number): OutBill[] {
  return Array.from({ length: n }, () => {
    const m = feed.message();
    if (m.bill === undefined) throw new Error(`the simulator gave a ${m.kind} message`);
    const mdtrtId = `${RUN}-${phase}${m.bill.mdtrtId}`;
    const element = `<mdtrt_id>${m.bill.mdtrtId}</mdtrt_id>`;
    if (!m.xml.includes(element)) throw new Error('no <mdtrt_id> element in the simulator XML');
    const key = billKey(m.bill.fixmedinsCode, mdtrtId);
    return {
      key,
      hospital: m.key,
      xml: m.xml.replace(element, `<mdtrt_id>${mdtrtId}</mdtrt_id>`),
      rec: tracker.add(key, phase),
    };
  });
}

// ---------------------------------------------------------------- the gateway process

interface FlowLine {
  at: number;
  settled: number;
  rejected: number;
  conflict: number;
  duplicate: number;
  reversed: number;
  admitted: number;
  outboxBacklog: number;
}

class Gateway {
  /** the last lines it wrote, for a failure report */
  readonly tail: string[] = [];
  readonly flows: FlowLine[] = [];
  private forwarded = 0;
  warnings = 0;

  private constructor(
    readonly child: ChildProcess,
    readonly base: string,
    readonly name: string,
  ) {
    for (const stream of [child.stdout, child.stderr]) {
      if (stream !== null) createInterface({ input: stream }).on('line', (l) => this.onLine(l));
    }
  }

  static async start(
    env: Record<string, string>,
    nodeArgs: string[],
    name = 'gateway',
  ): Promise<Gateway> {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [...nodeArgs, '-r', './scripts/register-paths.js', 'dist/apps/gateway/src/main.js'],
      { cwd: ROOT, env: { ...process.env, ...env, PORT: String(port) }, stdio: 'pipe' },
    );
    const gw = new Gateway(child, `http://127.0.0.1:${port}`, name);
    await eventually(
      async () => {
        if (gw.exited)
          throw new Error(`the gateway exited (${child.exitCode ?? child.signalCode})`);
        const res = await fetch(`${gw.base}/health/ready`);
        if (res.status !== 200) throw new Error(`/health/ready answered ${res.status}`);
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    ).catch((e: unknown) => {
      child.kill('SIGKILL');
      throw new Error(`${name} did not become ready: ${errorText(e)}\n${gw.tail.join('\n')}`);
    });
    return gw;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  latestFlow(): FlowLine | undefined {
    return this.flows[this.flows.length - 1];
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    this.tail.push(line);
    if (this.tail.length > 200) this.tail.shift();
    const entry = line.startsWith('{') ? parseObject(line) : null;
    if (entry?.msg === 'flow') {
      const n = (k: string): number => (typeof entry[k] === 'number' ? entry[k] : 0);
      this.flows.push({
        at: now(),
        settled: n('settled'),
        rejected: n('rejected'),
        conflict: n('conflict'),
        duplicate: n('duplicate'),
        reversed: n('reversed'),
        admitted: n('admitted'),
        outboxBacklog: n('outboxBacklog'),
      });
      return;
    }
    if (entry !== null && entry.level !== 'warn' && entry.level !== 'error') return;
    this.warnings += 1;
    if (this.forwarded < 20) status.note(`[${this.name}] ${line.slice(0, 400)}`);
    else if (this.forwarded === 20)
      status.note(`[${this.name}] … (further warnings counted, not shown)`);
    this.forwarded += 1;
  }

  /** SIGTERM (the gateway drains and commits), SIGKILL if it is still there after timeoutMs. */
  async stop(timeoutMs = 60_000): Promise<string> {
    if (this.exited) return `already exited (${this.child.exitCode ?? this.child.signalCode})`;
    const exited = new Promise<string>((resolve) =>
      this.child.once('exit', (code, signal) => resolve(String(code ?? signal))),
    );
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

// ---------------------------------------------------------------- /proc sampling

function readProc(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** resident memory of a process now and at its peak (VmHWM), kB */
function memoryOf(pid: number): { rssKb: number; hwmKb: number } | null {
  const s = readProc(`/proc/${pid}/status`);
  if (s === null) return null;
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(s)?.[1]);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

/** CPU seconds a process has used (user + system) */
function cpuSecondsOf(pid: number): number | null {
  const s = readProc(`/proc/${pid}/stat`);
  if (s === null) return null;
  const fields = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** time a process was on a CPU and waited, runnable, for one (ns; /proc/<pid>/schedstat) */
function schedOf(pid: number): { runNs: number; waitNs: number } | null {
  const s = readProc(`/proc/${pid}/schedstat`)?.trim().split(/\s+/);
  if (s === undefined || s.length < 2) return null;
  return { runNs: Number(s[0]), waitNs: Number(s[1]) };
}

/** the machine's busy and total CPU time, in ticks */
function machineTicks(): { busy: number; total: number } | null {
  const line = readProc('/proc/stat')?.split('\n')[0];
  if (line === undefined) return null;
  const t = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = t.reduce((a, b) => a + b, 0);
  return { busy: total - (t[3] ?? 0) - (t[4] ?? 0), total };
}

interface Sample {
  /** seconds since the phase started */
  t: number;
  phase: string;
  published: number;
  /** county events consumed for this phase's bills (settled or rejected) */
  done: number;
  /** the gateway group's uncommitted messages on his.discharge.v1 */
  lag: number | null;
  /** from the gateway's latest flow line */
  outboxBacklog: number | null;
  /** CPU, % of one core: the gateway process, its PostgreSQL backends, this process */
  gatewayCpu: number | null;
  pgCpu: number | null;
  benchCpu: number;
  /** % of the time the gateway was runnable but waited for a CPU (the machine's run queue) */
  gatewayCpuWait: number | null;
  /** CPU of the whole machine, % of all cores */
  machineCpu: number | null;
  rssMb: number | null;
}

/**
 * The gateway's PostgreSQL connections (the run's database, other than ours), sampled five times a
 * second from pg_stat_activity: what each is doing, tallied per phase; and, when the server runs on
 * this machine, the CPU its backends used.
 */
class PgActivity {
  private readonly tally = new Map<string, Map<string, number>>();
  private readonly samples = new Map<string, { n: number; connections: number; max: number }>();
  private readonly pids = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly db: Client,
    private readonly phase: () => string,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), 200);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private static label(r: {
    state: string | null;
    wait_event_type: string | null;
    wait_event: string | null;
  }): string {
    if (r.state === 'active') {
      return r.wait_event_type === null
        ? 'active, on CPU'
        : `active, waiting ${r.wait_event_type}/${r.wait_event ?? '?'}`;
    }
    if (r.state === 'idle in transaction') return 'idle in transaction (waiting for the gateway)';
    if (r.state === 'idle') return 'idle (in the pool)';
    return r.state ?? 'unknown';
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { rows } = await this.db.query<{
        pid: number;
        state: string | null;
        wait_event_type: string | null;
        wait_event: string | null;
      }>(
        `SELECT pid, state, wait_event_type, wait_event FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()
           AND backend_type = 'client backend' AND application_name <> '${BENCH_APP}'`,
      );
      const phase = this.phase();
      const tally = this.tally.get(phase) ?? new Map<string, number>();
      this.tally.set(phase, tally);
      for (const r of rows) {
        const label = PgActivity.label(r);
        tally.set(label, (tally.get(label) ?? 0) + 1);
        this.pids.add(r.pid);
      }
      const s = this.samples.get(phase) ?? { n: 0, connections: 0, max: 0 };
      this.samples.set(phase, {
        n: s.n + 1,
        connections: s.connections + rows.length,
        max: Math.max(s.max, rows.length),
      });
    } catch {
      // a sample less
    } finally {
      this.busy = false;
    }
  }

  /** share of connection-samples per state during a phase, largest first */
  of(phase: string): {
    connectionsMean: number;
    connectionsMax: number;
    states: Array<[string, number]>;
  } | null {
    const tally = this.tally.get(phase);
    const s = this.samples.get(phase);
    if (tally === undefined || s === undefined || s.connections === 0) return null;
    return {
      connectionsMean: round(s.connections / s.n, 1),
      connectionsMax: s.max,
      states: [...tally.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => [k, round((100 * n) / s.connections, 1)]),
    };
  }

  /**
   * CPU seconds used so far by each backend seen, when they are processes of this machine (by
   * pid: a backend that ended is left out of the next reading, so deltas are taken per pid)
   */
  cpuSeconds(): Map<number, number> | null {
    const out = new Map<number, number>();
    for (const pid of this.pids) {
      if (readProc(`/proc/${pid}/comm`)?.startsWith('postgres') !== true) continue;
      const s = cpuSecondsOf(pid);
      if (s !== null) out.set(pid, s);
    }
    return out.size === 0 ? null : out;
  }
}

/** % of one core used by the backends present at both readings */
function pgDelta(
  now: Map<number, number> | null,
  before: Map<number, number> | null,
  seconds: number,
): number | null {
  if (now === null || before === null) return null;
  let used = 0;
  for (const [pid, s] of now) {
    const b = before.get(pid);
    // a backend that started since the last reading: all its CPU is new
    used += b === undefined ? s : s - b;
  }
  return round((100 * used) / seconds);
}

/** Every second: lag, outbox backlog, CPU and memory; the samples are kept per phase. */
class Monitor {
  readonly samples: Sample[] = [];
  peakHwmKb = 0;
  latest: Sample | undefined;
  phase = 'setup';
  phaseStart = now();
  published = (): number => 0;
  done = (): number => 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  /** each instance's latest CPU and run-queue readings (kept after it ends: its totals) */
  private readonly byPid = new Map<number, { cpu: number; waitNs: number | null }>();
  private last: {
    at: number;
    gw: Map<number, { cpu: number; waitNs: number | null }>;
    pg: Map<number, number> | null;
    bench: NodeJS.CpuUsage;
    machine: { busy: number; total: number } | null;
  };

  constructor(
    /** the gateway instances (all of them, including one that was killed) */
    private readonly gateways: () => readonly Gateway[],
    private readonly admin: TopicAdmin,
    private readonly group: string,
    private readonly pg: PgActivity,
  ) {
    this.last = {
      at: now(),
      gw: this.readGateways(),
      pg: pg.cpuSeconds(),
      bench: process.cpuUsage(),
      machine: machineTicks(),
    };
  }

  private readGateways(): Map<number, { cpu: number; waitNs: number | null }> {
    const out = new Map<number, { cpu: number; waitNs: number | null }>();
    for (const g of this.gateways()) {
      if (g.exited) continue;
      const cpu = cpuSecondsOf(g.pid);
      if (cpu === null) continue;
      const reading = { cpu, waitNs: schedOf(g.pid)?.waitNs ?? null };
      out.set(g.pid, reading);
      this.byPid.set(g.pid, reading);
    }
    return out;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), 1_000);
    this.pg.start();
  }

  /** the instances' CPU seconds and run-queue seconds since they started (summed), read at stop */
  gatewayTotals: { cpuSeconds: number | null; cpuWaitSeconds: number | null } | undefined;

  stop(): void {
    clearInterval(this.timer);
    this.pg.stop();
    this.memory();
    this.readGateways();
    if (this.gatewayTotals === undefined && this.byPid.size > 0) {
      const all = [...this.byPid.values()];
      const waits = all.filter((r) => r.waitNs !== null);
      this.gatewayTotals = {
        cpuSeconds: round(
          all.reduce((a, r) => a + r.cpu, 0),
          2,
        ),
        cpuWaitSeconds:
          waits.length === 0
            ? null
            : round(waits.reduce((a, r) => a + (r.waitNs ?? 0), 0) / 1e9, 1),
      };
    }
  }

  enter(phase: string, published: () => number, done: () => number): void {
    this.phase = phase;
    this.phaseStart = now();
    this.published = published;
    this.done = done;
  }

  of(phase: string): Sample[] {
    return this.samples.filter((s) => s.phase === phase);
  }

  /** the largest instance's resident memory now (MB: the target is per process) */
  private memory(): number | null {
    let largest: number | null = null;
    for (const g of this.gateways()) {
      if (g.exited) continue;
      const m = memoryOf(g.pid);
      // a process just killed and not yet reaped has a status without memory lines
      if (m === null || !Number.isFinite(m.rssKb) || !Number.isFinite(m.hwmKb)) continue;
      this.peakHwmKb = Math.max(this.peakHwmKb, m.hwmKb, m.rssKb);
      largest = Math.max(largest ?? 0, m.rssKb);
    }
    return largest;
  }

  private async lag(): Promise<number | null> {
    try {
      const [marks, committed] = await Promise.all([
        this.admin.watermarks(Topics.hisDischarge),
        this.admin.committedOffsets(this.group, Topics.hisDischarge),
      ]);
      let lag = 0n;
      for (const m of marks) {
        const c = committed.find((x) => x.partition === m.partition)?.offset ?? '-1';
        const behind = BigInt(m.high) - BigInt(c === '-1' ? m.low : c);
        if (behind > 0n) lag += behind;
      }
      return Number(lag);
    } catch {
      return null;
    }
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const at = now();
      const rss = this.memory();
      const gw = this.readGateways();
      const pg = this.pg.cpuSeconds();
      const bench = process.cpuUsage();
      const machine = machineTicks();
      const seconds = (at - this.last.at) / 1000;
      // summed over the instances alive at both readings
      let gwCpu: number | null = null;
      let gwWait: number | null = null;
      for (const [pid, r] of gw) {
        const before = this.last.gw.get(pid);
        if (before === undefined) continue;
        gwCpu = (gwCpu ?? 0) + (r.cpu - before.cpu);
        if (r.waitNs !== null && before.waitNs !== null)
          gwWait = (gwWait ?? 0) + (r.waitNs - before.waitNs) / 1e9;
      }
      const flows = this.gateways()
        .filter((g) => !g.exited)
        .map((g) => g.latestFlow())
        .filter((f): f is FlowLine => f !== undefined && at - f.at < 3_000);
      const sample: Sample = {
        t: round((at - this.phaseStart) / 1000, 1),
        phase: this.phase,
        published: this.published(),
        done: this.done(),
        lag: null,
        outboxBacklog: flows.length === 0 ? null : Math.max(...flows.map((f) => f.outboxBacklog)),
        gatewayCpu: gwCpu === null ? null : round((100 * gwCpu) / seconds),
        pgCpu: pgDelta(pg, this.last.pg, seconds),
        gatewayCpuWait: gwWait === null ? null : round((100 * gwWait) / seconds),
        benchCpu: round(
          (bench.user + bench.system - this.last.bench.user - this.last.bench.system) /
            1e4 /
            seconds,
        ),
        machineCpu:
          machine === null || this.last.machine === null
            ? null
            : round(
                (100 * (machine.busy - this.last.machine.busy)) /
                  Math.max(1, machine.total - this.last.machine.total),
              ),
        rssMb: rss === null ? null : round(rss / 1024),
      };
      this.last = { at, gw, pg, bench, machine };
      sample.lag = await this.lag();
      this.latest = sample;
      this.samples.push(sample);
    } finally {
      this.busy = false;
    }
  }
}

// ---------------------------------------------------------------- /metrics

interface Intake {
  /** [upper bound in seconds, cumulative count] */
  buckets: Array<[number, number]>;
  count: number;
  sum: number;
  /** events the relay published, by topic */
  published: Record<string, number>;
}

function parseMetrics(text: string): Intake {
  const out: Intake = { buckets: [], count: 0, sum: 0, published: {} };
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\{([^}]*)\}\s+(\S+)/.exec(line);
    if (m === null) continue;
    const [, name, labelText, value] = m;
    const labels = new Map(
      [...(labelText ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]),
    );
    const v = Number(value);
    if (name === 'onebill_events_published_total') {
      const topic = labels.get('topic') ?? '?';
      out.published[topic] = (out.published[topic] ?? 0) + v;
      continue;
    }
    if (labels.get('source') !== 'kafka' || labels.get('outcome') !== 'settled') continue;
    if (name === 'onebill_settle_duration_seconds_count') out.count += v;
    else if (name === 'onebill_settle_duration_seconds_sum') out.sum += v;
    else if (name === 'onebill_settle_duration_seconds_bucket') {
      const le = labels.get('le');
      out.buckets.push([le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), v]);
    }
  }
  out.buckets.sort((a, b) => a[0] - b[0]);
  return out;
}

function diffIntake(before: Intake, after: Intake): Intake {
  const published: Record<string, number> = {};
  for (const [topic, n] of Object.entries(after.published)) {
    published[topic] = n - (before.published[topic] ?? 0);
  }
  return {
    buckets: after.buckets.map(([le, n]) => [
      le,
      n - (before.buckets.find((b) => b[0] === le)?.[1] ?? 0),
    ]),
    count: after.count - before.count,
    sum: after.sum - before.sum,
    published,
  };
}

/**
 * The instances' histograms over a phase, summed: each instance's after − before, for the
 * instances present at both (one killed during the phase leaves its part out).
 */
function diffAll(before: Map<number, Intake>, after: Map<number, Intake>): Intake {
  const sum: Intake = { buckets: [], count: 0, sum: 0, published: {} };
  for (const [pid, a] of after) {
    const b = before.get(pid);
    if (b === undefined) continue;
    const d = diffIntake(b, a);
    sum.count += d.count;
    sum.sum += d.sum;
    for (const [topic, n] of Object.entries(d.published))
      sum.published[topic] = (sum.published[topic] ?? 0) + n;
    for (const [le, n] of d.buckets) {
      const at = sum.buckets.find((x) => x[0] === le);
      if (at === undefined) sum.buckets.push([le, n]);
      else at[1] += n;
    }
  }
  sum.buckets.sort((x, y) => x[0] - y[0]);
  return sum;
}

/** the histogram bucket a quantile falls in, as "≤ 25 ms" */
function bucketOf(h: Intake, q: number): string {
  if (h.count <= 0) return 'n/a';
  const bucket = h.buckets.find(([, n]) => n >= q * h.count);
  if (bucket === undefined || bucket[0] === Number.POSITIVE_INFINITY) {
    const finite = h.buckets.filter(([le]) => Number.isFinite(le));
    return `> ${round((finite[finite.length - 1]?.[0] ?? 0) * 1000)} ms`;
  }
  return `≤ ${round(bucket[0] * 1000, 1)} ms`;
}

interface IntakeSummary {
  bills: number;
  meanMs: number | null;
  p50: string;
  p99: string;
  eventsPublished: Record<string, number>;
}

function summarizeIntake(h: Intake): IntakeSummary {
  return {
    bills: h.count,
    meanMs: h.count > 0 ? round((h.sum / h.count) * 1000, 2) : null,
    p50: bucketOf(h, 0.5),
    p99: bucketOf(h, 0.99),
    eventsPublished: h.published,
  };
}

// ---------------------------------------------------------------- where each bill's time went

const STAGES = [
  ['send', 'bench: due → producer request started'],
  ['toGateway', 'Kafka → gateway transaction start (fetch, lanes, pool)'],
  ['toRelay', 'transaction start → relay claims the event (settle+commit, relay wait)'],
  ['toCounty', 'relay claim → county consumer (send, mark, commit, fetch)'],
] as const;
type StageName = (typeof STAGES)[number][0];

interface PathSummary {
  /** bills whose ledger rows were found */
  bills: number;
  stages: Record<StageName, Spread>;
}

/** Each settled bill's path from the ledger's timestamps (same clock: one machine). */
async function billPaths(
  db: Client,
  bills: readonly OutBill[],
  phase: Phase,
): Promise<PathSummary> {
  const { rows } = await db.query<{
    fixmedins_code: string;
    mdtrt_id: string;
    received_ms: string;
    relayed_ms: string | null;
  }>(
    `SELECT s.fixmedins_code, s.mdtrt_id,
            (extract(epoch FROM i.received_at) * 1000)::text AS received_ms,
            (extract(epoch FROM o.published_at) * 1000)::text AS relayed_ms
     FROM settlements s
     JOIN inbox i ON i.id = s.inbox_id
     JOIN outbox o ON o.event_id = s.event_id
     WHERE s.mdtrt_id LIKE $1`,
    [`${RUN}-${phase}%`],
  );
  const byKey = new Map(rows.map((r) => [billKey(r.fixmedins_code, r.mdtrt_id), r]));
  const stages: Record<StageName, number[]> = {
    send: [],
    toGateway: [],
    toRelay: [],
    toCounty: [],
  };
  let n = 0;
  for (const b of bills) {
    const row = byKey.get(b.key);
    if (row === undefined || row.relayed_ms === null || Number.isNaN(b.rec.settledAt)) continue;
    const received = Number(row.received_ms);
    const relayed = Number(row.relayed_ms);
    stages.send.push(b.rec.sentAt - b.rec.intendedAt);
    stages.toGateway.push(received - b.rec.sentAt);
    stages.toRelay.push(relayed - received);
    stages.toCounty.push(b.rec.settledAt - relayed);
    n += 1;
  }
  return {
    bills: n,
    stages: {
      send: spread(stages.send),
      toGateway: spread(stages.toGateway),
      toRelay: spread(stages.toRelay),
      toCounty: spread(stages.toCounty),
    },
  };
}

// ---------------------------------------------------------------- CPU profile

interface ProfileSummary {
  file: string;
  sampledMs: number;
  busyMs: number;
  /** % of busy time by area (package, node internals, GC, our libs) */
  byArea: Array<[string, number]>;
  /** % of busy time by function (self time) */
  topFunctions: Array<[string, number]>;
}

function summarizeProfile(dir: string): ProfileSummary | null {
  const name = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (name === undefined) return null;
  const file = join(dir, name);
  const p = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: Array<{
      id: number;
      callFrame: { functionName: string; url: string; lineNumber: number };
    }>;
    samples: number[];
    timeDeltas: number[];
  };
  const nodes = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i + 1] ?? 0)));
  const area = (f: { functionName: string; url: string }): string => {
    if (f.url === '') {
      if (f.functionName === '(garbage collector)') return 'GC';
      if (f.functionName === '(idle)') return 'idle';
      return f.functionName === '(program)' ? '(program: native, not JS)' : f.functionName;
    }
    if (f.url.startsWith('node:')) return f.url.split('/').slice(0, 2).join('/');
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.url);
    if (nm?.[1] !== undefined) return nm[1];
    const dist = /\/dist\/((?:apps|libs|bench|test)\/[^/]+)/.exec(f.url);
    return dist?.[1] ?? f.url.split('/').slice(-2).join('/');
  };
  const byArea = new Map<string, number>();
  const byFn = new Map<string, number>();
  let sampled = 0;
  for (const [id, us] of self) {
    const f = nodes.get(id);
    if (f === undefined) continue;
    sampled += us;
    const a = area(f);
    byArea.set(a, (byArea.get(a) ?? 0) + us);
    if (a === 'idle') continue;
    const where =
      f.url === '' ? '' : ` ${f.url.replace(/^.*\/(node_modules|dist)\//, '')}:${f.lineNumber + 1}`;
    const fn = `${f.functionName || '(anonymous)'}${where}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
  }
  const busy = sampled - (byArea.get('idle') ?? 0);
  const top = (m: Map<string, number>, n: number): Array<[string, number]> =>
    [...m.entries()]
      .filter(([k]) => k !== 'idle')
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => [k, round((100 * us) / Math.max(1, busy), 1)]);
  return {
    file,
    sampledMs: round(sampled / 1000),
    busyMs: round(busy / 1000),
    byArea: top(byArea, 12),
    topFunctions: top(byFn, 15),
  };
}

// ---------------------------------------------------------------- the run

interface Infra {
  kafka: ProvidedKafka;
  pg: ProvidedPostgres;
  /** the run's own database, or the provided one when CREATE DATABASE was refused */
  database: { url: string; name: string; created: boolean; note: string };
  brokers: string[];
}

/** CREATE DATABASE onebill_bench_<time>_<run> next to the provided one (same server). */
async function createBenchDatabase(serverUrl: string): Promise<Infra['database']> {
  const name = `onebill_bench_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${RUN.slice(1).toLowerCase()}`;
  const admin = new Client({ connectionString: serverUrl, connectionTimeoutMillis: 10_000 });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`); // letters, digits and _ only: safe to interpolate
  } catch (e) {
    const url = new URL(serverUrl);
    return {
      url: serverUrl,
      name: url.pathname.slice(1),
      created: false,
      note: `CREATE DATABASE refused (${errorText(e)}); using the provided database, bills of this run are told apart by their prefix ${RUN}`,
    };
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, created: true, note: 'created for this run' };
}

async function dropBenchDatabase(serverUrl: string, name: string): Promise<void> {
  const admin = new Client({ connectionString: serverUrl, connectionTimeoutMillis: 10_000 });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

interface ThroughputResult {
  bills: number;
  settled: number;
  rejected: number;
  missing: number;
  publishSeconds: number;
  publishPerSecond: number;
  /** first bill published → last county event consumed */
  seconds: number;
  billsPerSecond: number;
  /** between 10 % and 90 % of the settlements (leaves out the ramp and the tail) */
  steadyBillsPerSecond: number | null;
  peakLag: number | null;
  peakOutboxBacklog: number | null;
  gatewayCpuMean: number | null;
  pgCpuMean: number | null;
  /** % of the phase the gateway was runnable but waited for a CPU */
  gatewayCpuWaitMean: number | null;
  /** the gateway's PostgreSQL connections: how many, and what they were doing */
  pgConnections: ReturnType<PgActivity['of']>;
  machineCpuMean: number | null;
  benchCpuMean: number | null;
  intake: IntakeSummary;
  path: PathSummary;
}

interface KillRecord {
  name: string;
  /** seconds into the throughput phase */
  atSeconds: number;
  /** county events consumed for the phase's bills when it was killed */
  eventsAtKill: number;
  /** the phase's settlements in the ledger just after it was killed */
  ledgerAtKill: number | null;
}

/** The throughput phase's bills in the ledger and at the county, after the phase. */
interface LedgerCheck {
  bills: number;
  /** settlement rows of the phase's bills */
  rows: number;
  billsSettled: number;
  /** bills with more than one settlement row */
  billsSettledTwice: number;
  rejected: number;
  /** bills with neither a settlement nor a reject */
  lost: number;
  ledgerSum: string;
  /** distinct settlement events (by event id) for the phase's bills */
  countyEvents: number;
  countySum: string;
  /** event copies consumed beyond the first (at-least-once publishing; collapse by event id) */
  eventCopies: number;
  /** the event ids at the county are exactly the ledger's */
  sameEventIds: boolean;
  ok: boolean;
}

interface LatencyResult {
  offeredPerSecond: number;
  seconds: number;
  bills: number;
  settled: number;
  rejected: number;
  missing: number;
  /** bills actually handed to the producer per second */
  publishedPerSecond: number;
  latencyMs: Spread;
  peakLag: number | null;
  peakOutboxBacklog: number | null;
  gatewayCpuMean: number | null;
  pgCpuMean: number | null;
  /** % of the phase the gateway was runnable but waited for a CPU */
  gatewayCpuWaitMean: number | null;
  /** the gateway's PostgreSQL connections: how many, and what they were doing */
  pgConnections: ReturnType<PgActivity['of']>;
  machineCpuMean: number | null;
  benchCpuMean: number | null;
  intake: IntakeSummary;
  path: PathSummary;
}

const mean = (xs: Array<number | null>): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length === 0 ? null : round(v.reduce((a, b) => a + b, 0) / v.length);
};
const peak = (xs: Array<number | null>): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length === 0 ? null : Math.max(...v);
};

class Bench {
  readonly tracker = new Tracker();
  private readonly abort = new AbortController();
  private producer: Producer | undefined;
  private county: Consumer | undefined;
  /** the gateway instances, in start order (a killed one stays in the list) */
  private readonly gateways: Gateway[] = [];
  private readonly killed = new Set<Gateway>();
  private kill: KillRecord | null = null;
  private monitor: Monitor | undefined;
  private pgActivity: PgActivity | undefined;
  private client: KafkaClient | undefined;
  private db: Client | undefined;
  /** the county consumer's look-ups of event ids (a connection of its own) */
  private lookups: Client | undefined;
  private feed!: Feed;
  private credentials: TestCredentials | undefined;
  private profileDir: string | null = null;
  readonly results: Record<string, unknown> = { run: RUN };
  readonly notes: string[] = [];
  private throughput: ThroughputResult | null = null;
  private latency: LatencyResult | null = null;
  private baseline:
    (BaselineResult & { benchCpuMean: number; machineCpuMean: number | null }) | null = null;
  private http: HttpPhaseResult | null = null;
  private ledgerCheck: LedgerCheck | null = null;
  private profile: ProfileSummary | null = null;
  private peakRssMb: number | null = null;
  private partitions: Record<string, number> = {};
  private otherGroups: string[] = [];

  constructor(private readonly o: Options) {
    process.once('SIGINT', () => {
      note('interrupted: cleaning up (Ctrl-C again to leave at once)');
      this.abort.abort();
      process.once('SIGINT', () => process.exit(130));
    });
  }

  private check(): void {
    if (this.abort.signal.aborted) throw new Error('interrupted');
  }

  async run(): Promise<void> {
    note(`run ${RUN}: finding Kafka and PostgreSQL (as the integration tests do)…`);
    const [k, p] = await Promise.allSettled([provideKafka(), providePostgres()]);
    if (k.status === 'rejected' || p.status === 'rejected') {
      // stop the one that did start before giving up
      if (k.status === 'fulfilled') await k.value.stop().catch(() => undefined);
      if (p.status === 'fulfilled') await p.value.stop().catch(() => undefined);
      throw k.status === 'rejected' ? k.reason : (p as PromiseRejectedResult).reason;
    }
    const [kafka, pg] = [k.value, p.value];
    let infra: Infra | undefined;
    try {
      const database = await createBenchDatabase(pg.url);
      infra = { kafka, pg, database, brokers: kafka.brokers.split(',') };
      note(
        `Kafka ${kafka.brokers} (${kafka.source}); PostgreSQL ${redact(database.url)} (${database.note})`,
      );
      await this.measure(infra);
    } finally {
      status.end();
      await this.cleanup(infra, kafka, pg);
    }
    this.print(infra);
  }

  private async measure(infra: Infra): Promise<void> {
    const { brokers } = infra;
    process.env.KAFKA_BROKERS = infra.kafka.brokers; // for positionGroupAtEnd, shared with the tests

    // topics as the gateway creates them (TOPIC_SPECS), before anyone consumes
    this.client = new KafkaClient({ brokers, clientId: `bench-${RUN}`, logLevel: 'nothing' });
    const admin = this.client.admin();
    const ensured = await admin.ensureTopics(TOPIC_SPECS);
    for (const f of ensured.fewerPartitions) {
      this.notes.push(
        `${f.topic} has ${f.actual} partitions, fewer than the ${f.expected} the gateway asks for`,
      );
    }
    for (const topic of [Topics.hisDischarge, Topics.settlementEvents]) {
      this.partitions[topic] = (await admin.watermarks(topic)).length;
    }
    this.otherGroups = await this.activeGroups(brokers);
    if (this.otherGroups.length > 0) {
      this.notes.push(
        `the broker is shared: ${this.otherGroups.length} other consumer group(s) active at the start (${this.otherGroups.slice(0, 5).join(', ')}${this.otherGroups.length > 5 ? ', …' : ''}); their load is in the figures`,
      );
    }

    // the county side: our consumer of settlement.events.v1 (and the rejects), from the end now
    const kafka = new Kafka({ clientId: `bench-${RUN}`, brokers, logLevel: logLevel.NOTHING });
    const countyGroup = `bench-county-${RUN}`;
    await positionGroupAtEnd(countyGroup, [Topics.settlementEvents, Topics.hisDischargeRejected]);
    const county = kafka.consumer({
      groupId: countyGroup,
      maxWaitTimeInMs: 10,
      sessionTimeout: 30_000,
    });
    this.county = county;
    const joined = new Promise<void>((resolve) => {
      county.on(county.events.GROUP_JOIN, () => resolve());
    });
    await county.connect();
    await county.subscribe({
      topics: [Topics.settlementEvents, Topics.hisDischargeRejected],
      fromBeginning: false,
    });
    await county.run({
      partitionsConsumedConcurrently: 8,
      eachBatch: async ({ batch }) => {
        const at = now();
        const texts = batch.messages
          .map((m) => m.value?.toString('utf8'))
          .filter((t): t is string => t !== undefined && t.includes(RUN));
        if (texts.length === 0) return;
        if (batch.topic !== Topics.settlementEvents) {
          for (const text of texts) this.tracker.onRejected(text, at);
          return;
        }
        const ours = await this.ownEventIds(texts);
        for (const text of texts) this.tracker.onSettlementEvent(text, at, ours);
      },
    });
    await joined;

    const producer = kafka.producer({ allowAutoTopicCreation: false });
    this.producer = producer;
    await producer.connect();

    // the gateway, its group positioned at the end of its input topics
    const group = `bench-gateway-${RUN}`;
    await positionGroupAtEnd(group, [Topics.hisDischarge, Topics.hisAdmission]);
    this.credentials = writeCredentials();
    if (this.o.cpuProf) this.profileDir = mkdtempSync(join(tmpdir(), 'onebill-bench-prof-'));
    this.feed = this.makeFeed(Number.parseInt(RUN.slice(1), 16));

    // the stack's own limit first, with no gateway running (the same broker and database)
    if (this.o.baseline) await this.baselinePhase(kafka, infra);

    const instances = this.o.instances;
    note(
      `starting ${instances === 1 ? 'the gateway' : `${instances} gateway instances in one consumer group`} (compiled, own process${instances === 1 ? '' : 'es'})…`,
    );
    // one after the other: each migrates the same database on its start
    for (let i = 0; i < instances; i++) {
      this.gateways.push(
        await Gateway.start(
          {
            KAFKA_BROKERS: infra.kafka.brokers,
            DATABASE_URL: infra.database.url,
            KAFKA_GROUP_ID: group,
            KAFKA_CLIENT_ID: `bench-gateway-${RUN}-${i + 1}`,
            LOG_LEVEL: 'info', // info = the flow line every STATS_INTERVAL_MS, nothing per bill
            STATS_INTERVAL_MS: '1000',
            SIMULATOR_RATE: '0',
            GATEWAY_DEV_CREDENTIAL: 'off',
            GATEWAY_CREDENTIALS_FILE: this.credentials.file,
          },
          this.profileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${this.profileDir}`],
          instances === 1 ? 'gateway' : `gateway ${i + 1}`,
        ),
      );
    }
    this.db = new Client({ connectionString: infra.database.url, application_name: BENCH_APP });
    await this.db.connect();
    this.lookups = new Client({
      connectionString: infra.database.url,
      application_name: BENCH_APP,
    });
    await this.lookups.connect();
    this.pgActivity = new PgActivity(this.db, () => this.monitor?.phase ?? 'setup');
    this.monitor = new Monitor(() => this.gateways, admin, group, this.pgActivity);
    this.monitor.start();

    if (this.o.warmup > 0) await this.warmUp();
    if (this.o.throughput) {
      this.throughput = await this.throughputPhase();
      await sleep(2_000);
    }
    if (this.o.latency) this.latency = await this.latencyPhase();
    if (this.o.http) {
      if (this.o.latency) await sleep(2_000);
      this.http = await this.httpPhase();
    }

    this.monitor.stop();
    this.peakRssMb = round(this.monitor.peakHwmKb / 1024);
  }

  private async activeGroups(brokers: string[]): Promise<string[]> {
    const admin = new Kafka({
      clientId: `bench-${RUN}-groups`,
      brokers,
      logLevel: logLevel.NOTHING,
    }).admin();
    try {
      await admin.connect();
      const { groups } = await admin.listGroups();
      if (groups.length === 0) return [];
      const described = await admin.describeGroups(groups.map((g) => g.groupId));
      return described.groups
        .filter((g) => g.state === 'Stable' && g.members.length > 0)
        .map((g) => g.groupId);
    } catch {
      return [];
    } finally {
      await admin.disconnect();
    }
  }

  private send(bills: readonly OutBill[]): Promise<unknown> {
    if (this.producer === undefined) throw new Error('no producer');
    return this.producer.send({
      topic: Topics.hisDischarge,
      messages: bills.map((b) => ({
        key: b.hospital,
        value: b.xml,
        headers: { 'content-type': 'application/xml' },
      })),
    });
  }

  /** Waits until every bill of the phase has its event, or until none came for STALL_MS. */
  private async drain(phase: Phase, total: number): Promise<void> {
    let seen = this.tracker.done[phase];
    let movedAt = now();
    while (this.tracker.done[phase] < total) {
      this.check();
      const gone = this.gateways.find((g) => g.exited && !this.killed.has(g));
      if (gone !== undefined) throw new Error(`${gone.name} exited during the run`);
      if (this.tracker.done[phase] !== seen) {
        seen = this.tracker.done[phase];
        movedAt = now();
      } else if (now() - movedAt > STALL_MS) {
        this.notes.push(
          `${PHASE_NAME[phase]}: ${total - seen} of ${total} bills had no event ${STALL_MS / 1000} s after the last one; left out`,
        );
        return;
      }
      await sleep(20);
    }
  }

  /** The status line while a phase runs: published, settled, rate, and the gateway's state. */
  private ticker(phase: Phase, total: number, published: () => number): () => void {
    const history: Array<[number, number]> = [];
    const start = now();
    const timer = setInterval(() => {
      const t = now();
      const done = this.tracker.done[phase];
      history.push([t, done]);
      while (history.length > 1 && t - (history[0]?.[0] ?? t) > 3_000) history.shift();
      const [t0, d0] = history[0] ?? [t, done];
      const rate = t > t0 ? ((done - d0) * 1000) / (t - t0) : 0;
      const s = this.monitor?.latest;
      const bits = [
        `[${PHASE_NAME[phase]}] ${((t - start) / 1000).toFixed(0)} s`,
        `published ${int(published())}/${int(total)}`,
        `settled ${int(done - this.tracker.rejected[phase])}`,
        ...(this.tracker.rejected[phase] > 0 ? [`rejected ${this.tracker.rejected[phase]}`] : []),
        `${int(rate)}/s`,
        `lag ${s?.lag ?? '?'}`,
        `outbox ${s?.outboxBacklog ?? '?'}`,
        `gw cpu ${s?.gatewayCpu ?? '?'}%`,
        `rss ${s?.rssMb ?? '?'} MB`,
      ];
      status.set(bits.join(' · '));
    }, 250);
    return () => {
      clearInterval(timer);
      status.end();
    };
  }

  /** each live instance's /metrics, by pid (a phase's figures: diffAll of two of these) */
  private async metrics(): Promise<Map<number, Intake>> {
    const cred = this.credentials;
    const out = new Map<number, Intake>();
    if (cred === undefined) return out;
    await Promise.all(
      this.gateways
        .filter((g) => !g.exited)
        .map(async (gw) => {
          const text = await fetch(`${gw.base}/metrics`, { headers: cred.header(cred.auditor) })
            .then((r) => (r.ok ? r.text() : ''))
            .catch(() => '');
          out.set(gw.pid, parseMetrics(text));
        }),
    );
    return out;
  }

  private async warmUp(): Promise<void> {
    const bills = makeBills(this.feed, this.tracker, 'W', this.o.warmup);
    let published = 0;
    this.monitor?.enter(
      'warm-up',
      () => published,
      () => this.tracker.done.W,
    );
    const stop = this.ticker('W', bills.length, () => published);
    try {
      for (const c of chunks(bills, 100)) {
        this.check();
        const at = now();
        for (const b of c) b.rec.intendedAt = b.rec.sentAt = at;
        await this.send(c);
        published += c.length;
        await sleep(50);
      }
      await this.drain('W', bills.length);
    } finally {
      stop();
    }
    note(`warm-up: ${this.tracker.done.W} of ${bills.length} bills settled`);
  }

  /**
   * Which of these settlement events our gateways wrote (their event ids are in the run's outbox).
   * On a shared broker a gateway of another consumer group (a test run) may settle this run's
   * bills into its own database and publish events for them: those are not this run's figures.
   * Null when there is no database to ask (then every event counts).
   */
  private async ownEventIds(texts: readonly string[]): Promise<Set<string> | null> {
    if (this.lookups === undefined) return null;
    const ids = texts
      .map((t) => parseObject(t)?.event_id)
      .filter((id): id is string => typeof id === 'string');
    try {
      const { rows } = await this.lookups.query<{ id: string }>(
        `SELECT event_id::text AS id FROM outbox WHERE event_id = ANY($1::uuid[])`,
        [ids],
      );
      return new Set(rows.map((r) => r.id));
    } catch {
      return null;
    }
  }

  /** The bare pipeline on the same broker and database, before any gateway runs. */
  private async baselinePhase(kafka: Kafka, infra: Infra): Promise<void> {
    const n = this.o.baselineMessages;
    note(
      `baseline: the bare pipeline (Kafka → one transaction per batch → outbox → Kafka), ${int(n)} messages…`,
    );
    // simulator bills of the same sizes, from a feed of their own (the gateway's bills stay the same)
    const feed = this.makeFeed(Number.parseInt(RUN.slice(1), 16) + 1);
    const messages = Array.from({ length: n }, () => {
      const m = feed.message();
      return { key: m.key, value: m.xml };
    });
    const cpu0 = process.cpuUsage();
    const machine0 = machineTicks();
    const t0 = now();
    const result = await runBaseline({
      kafka,
      databaseUrl: infra.database.url,
      run: RUN,
      messages,
      partitions: this.partitions[Topics.hisDischarge] ?? 6,
      signal: this.abort.signal,
      onProgress: (published, delivered) =>
        status.set(
          `[baseline] ${((now() - t0) / 1000).toFixed(0)} s · published ${int(published)}/${int(n)} · through ${int(delivered)}`,
        ),
    });
    status.end();
    const cpu = process.cpuUsage(cpu0);
    const machine1 = machineTicks();
    const seconds = (now() - t0) / 1000;
    this.baseline = {
      ...result,
      benchCpuMean: round((cpu.user + cpu.system) / 1e4 / seconds),
      machineCpuMean:
        machine0 === null || machine1 === null
          ? null
          : round(
              (100 * (machine1.busy - machine0.busy)) /
                Math.max(1, machine1.total - machine0.total),
            ),
    };
    if (result.delivered < result.messages) {
      this.notes.push(
        `baseline: ${result.messages - result.delivered} of ${result.messages} messages did not come out`,
      );
    }
    note(
      `baseline: ${int(result.messagesPerSecond)} messages/s (${result.transactions} transactions, ${result.meanMessagesPerTransaction} messages each)`,
    );
    await sleep(2_000);
  }

  private makeFeed(seed: number): Feed {
    return new Feed({
      seed,
      year: 2024,
      hospitals: RuleBook.load()
        .allHospitals()
        .map((h) => ({ code: h.fixmedins_code, level: h.level, region: h.region })),
      persons: 50_000,
      duplicates: 0,
      malformed: 0,
    });
  }

  /** SIGKILLs the last instance (the others take over its partitions after the session timeout). */
  private killOne(t0: number): void {
    const victim = [...this.gateways].reverse().find((g) => !g.exited);
    if (victim === undefined || this.kill !== null) return;
    this.killed.add(victim);
    victim.child.kill('SIGKILL');
    const record: KillRecord = {
      name: victim.name,
      atSeconds: round((now() - t0) / 1000, 1),
      eventsAtKill: this.tracker.done.T,
      ledgerAtKill: null,
    };
    this.kill = record;
    note(
      `killed ${victim.name} (SIGKILL, pid ${victim.pid}) ${record.atSeconds} s into the throughput phase, ${int(record.eventsAtKill)} county events in`,
    );
    void this.db
      ?.query<{ n: number }>(`SELECT count(*)::int AS n FROM settlements WHERE mdtrt_id LIKE $1`, [
        `${RUN}-T%`,
      ])
      .then((r) => (record.ledgerAtKill = r.rows[0]?.n ?? null))
      .catch(() => undefined);
  }

  /**
   * The throughput phase's bills, exactly once: one settlement row per bill, none lost (every bill
   * settled or rejected), and the county's events (collapsed by event id) sum to the ledger's.
   */
  private async checkLedger(bills: readonly OutBill[]): Promise<LedgerCheck | null> {
    if (this.db === undefined) return null;
    const { rows } = await this.db.query<{
      fixmedins_code: string;
      mdtrt_id: string;
      event_id: string;
      fund_pay_sumamt: string;
    }>(
      `SELECT fixmedins_code, mdtrt_id, event_id::text AS event_id,
              fund_pay_sumamt::text AS fund_pay_sumamt
       FROM settlements WHERE mdtrt_id LIKE $1`,
      [`${RUN}-T%`],
    );
    const perBill = new Map<string, number>();
    let ledgerFen = 0n;
    const ledgerIds = new Set<string>();
    for (const r of rows) {
      const k = billKey(r.fixmedins_code, r.mdtrt_id);
      perBill.set(k, (perBill.get(k) ?? 0) + 1);
      ledgerFen += fen(r.fund_pay_sumamt);
      ledgerIds.add(r.event_id);
    }
    const keys = new Set(bills.map((b) => b.key));
    let countyFen = 0n;
    const countyIds = new Set<string>();
    for (const [id, e] of this.tracker.events) {
      if (!keys.has(e.key)) continue;
      countyFen += e.fundPayFen;
      countyIds.add(id);
    }
    const lost = bills.filter((b) => !perBill.has(b.key) && Number.isNaN(b.rec.rejectedAt)).length;
    const twice = [...perBill.values()].filter((n) => n > 1).length;
    const sameEventIds =
      countyIds.size === ledgerIds.size && [...ledgerIds].every((id) => countyIds.has(id));
    return {
      bills: bills.length,
      rows: rows.length,
      billsSettled: perBill.size,
      billsSettledTwice: twice,
      rejected: bills.filter((b) => !Number.isNaN(b.rec.rejectedAt)).length,
      lost,
      ledgerSum: yuan(ledgerFen),
      countyEvents: countyIds.size,
      countySum: yuan(countyFen),
      eventCopies: this.tracker.eventCopies,
      sameEventIds,
      ok: twice === 0 && lost === 0 && countyFen === ledgerFen && sameEventIds,
    };
  }

  /** POST /api/v1/settlements at a fixed rate (autocannon), a distinct bill each time. */
  private async httpPhase(): Promise<HttpPhaseResult | null> {
    const gw = this.gateways.find((g) => !g.exited);
    const cred = this.credentials;
    if (gw === undefined || cred === undefined) return null;
    const { httpRate: rate, httpSeconds: seconds } = this.o;
    const n = Math.ceil(rate * seconds * 1.2) + 100;
    note(
      `http: POST /api/v1/settlements at ${rate}/s for ${seconds} s to ${gw.name} (autocannon)…`,
    );
    const bills = makeBills(this.feed, this.tracker, 'H', n);
    this.monitor?.enter(
      'http',
      () => 0,
      () => this.tracker.done.H,
    );
    const t0 = now();
    const ticker = setInterval(
      () =>
        status.set(
          `[http] ${((now() - t0) / 1000).toFixed(0)} s · ${rate}/s offered · settled events ${int(this.tracker.done.H)} · gw cpu ${this.monitor?.latest?.gatewayCpu ?? '?'}%`,
        ),
      250,
    );
    try {
      return await runHttpPhase({
        base: gw.base,
        authorization: cred.header(cred.operator).authorization,
        rate,
        seconds,
        bills: bills.map((b) => b.xml),
        signal: this.abort.signal,
      });
    } finally {
      clearInterval(ticker);
      status.end();
    }
  }

  private async throughputPhase(): Promise<ThroughputResult> {
    note(`throughput: generating ${int(this.o.bills)} bills…`);
    const bills = makeBills(this.feed, this.tracker, 'T', this.o.bills);
    const before = await this.metrics();
    let published = 0;
    this.monitor?.enter(
      'throughput',
      () => published,
      () => this.tracker.done.T,
    );
    const stop = this.ticker('T', bills.length, () => published);
    const t0 = now();
    let tPublished = t0;
    const killAt = this.o.killOneAt;
    const killer =
      killAt === null
        ? undefined
        : setInterval(() => {
            if (this.tracker.done.T >= killAt * bills.length) this.killOne(t0);
          }, 5);
    try {
      await inParallel(chunks(bills, CHUNK), IN_FLIGHT, async (c) => {
        this.check();
        const at = now();
        for (const b of c) b.rec.intendedAt = b.rec.sentAt = at;
        await this.send(c);
        published += c.length;
      });
      tPublished = now();
      await this.drain('T', bills.length);
    } finally {
      clearInterval(killer);
      stop();
    }
    const after = await this.metrics();
    this.ledgerCheck = await this.checkLedger(bills);
    const settledAt = bills
      .map((b) => b.rec.settledAt)
      .filter((x) => !Number.isNaN(x))
      .sort((a, b) => a - b);
    const last = settledAt[settledAt.length - 1] ?? Number.NaN;
    const seconds = (last - t0) / 1000;
    const p10 = percentile(settledAt, 10);
    const p90 = percentile(settledAt, 90);
    const steadyBills = Math.round(settledAt.length * 0.8);
    const samples = this.monitor?.of('throughput') ?? [];
    const rejected = this.tracker.rejected.T;
    return {
      bills: bills.length,
      settled: settledAt.length,
      rejected,
      missing: bills.length - this.tracker.done.T,
      publishSeconds: round((tPublished - t0) / 1000, 2),
      publishPerSecond: Math.round((bills.length * 1000) / (tPublished - t0)),
      seconds: round(seconds, 2),
      billsPerSecond: Math.round(settledAt.length / seconds),
      steadyBillsPerSecond:
        settledAt.length >= 100 && p90 > p10
          ? Math.round((steadyBills * 1000) / (p90 - p10))
          : null,
      peakLag: peak(samples.map((s) => s.lag)),
      peakOutboxBacklog: peak(samples.map((s) => s.outboxBacklog)),
      gatewayCpuMean: mean(samples.map((s) => s.gatewayCpu)),
      pgCpuMean: mean(samples.map((s) => s.pgCpu)),
      gatewayCpuWaitMean: mean(samples.map((s) => s.gatewayCpuWait)),
      pgConnections: this.pgActivity?.of(PHASE_NAME.T) ?? null,
      machineCpuMean: mean(samples.map((s) => s.machineCpu)),
      benchCpuMean: mean(samples.map((s) => s.benchCpu)),
      intake: summarizeIntake(diffAll(before, after)),
      path: await this.paths(bills, 'T'),
    };
  }

  private async latencyPhase(): Promise<LatencyResult> {
    const { rate, seconds } = this.o;
    const total = Math.round(rate * seconds);
    note(`latency: generating ${int(total)} bills (${rate}/s for ${seconds} s)…`);
    const bills = makeBills(this.feed, this.tracker, 'L', total);
    const before = await this.metrics();
    let next = 0;
    this.monitor?.enter(
      'latency',
      () => next,
      () => this.tracker.done.L,
    );
    const stop = this.ticker('L', total, () => next);
    const t0 = now() + 20;
    const dueAt = (i: number): number => t0 + (i * 1000) / rate;
    try {
      while (next < total) {
        this.check();
        // open loop: every bill due by now goes in one request; its clock started when it was due
        const due = Math.min(total, Math.floor(((now() - t0) * rate) / 1000) + 1);
        if (due > next) {
          const batch = bills.slice(next, due);
          const sentAt = now();
          batch.forEach((b, j) => {
            b.rec.intendedAt = dueAt(next + j);
            b.rec.sentAt = sentAt;
          });
          next = due;
          await this.send(batch);
        } else {
          await sleep(Math.max(1, dueAt(next) - now()));
        }
      }
      await this.drain('L', total);
    } finally {
      stop();
    }
    const after = await this.metrics();
    const settled = bills.filter((b) => !Number.isNaN(b.rec.settledAt));
    const samples = this.monitor?.of('latency') ?? [];
    const lastSent = Math.max(...bills.map((b) => b.rec.sentAt));
    return {
      offeredPerSecond: rate,
      seconds,
      bills: total,
      settled: settled.length,
      rejected: this.tracker.rejected.L,
      missing: total - this.tracker.done.L,
      publishedPerSecond: Math.round((total * 1000) / Math.max(1, lastSent - t0)),
      latencyMs: spread(settled.map((b) => b.rec.settledAt - b.rec.intendedAt)),
      peakLag: peak(samples.map((s) => s.lag)),
      peakOutboxBacklog: peak(samples.map((s) => s.outboxBacklog)),
      gatewayCpuMean: mean(samples.map((s) => s.gatewayCpu)),
      pgCpuMean: mean(samples.map((s) => s.pgCpu)),
      gatewayCpuWaitMean: mean(samples.map((s) => s.gatewayCpuWait)),
      pgConnections: this.pgActivity?.of(PHASE_NAME.L) ?? null,
      machineCpuMean: mean(samples.map((s) => s.machineCpu)),
      benchCpuMean: mean(samples.map((s) => s.benchCpu)),
      intake: summarizeIntake(diffAll(before, after)),
      path: await this.paths(bills, 'L'),
    };
  }

  private async paths(bills: readonly OutBill[], phase: Phase): Promise<PathSummary> {
    const empty = spread([]);
    if (this.db === undefined) {
      return {
        bills: 0,
        stages: { send: empty, toGateway: empty, toRelay: empty, toCounty: empty },
      };
    }
    return billPaths(this.db, bills, phase);
  }

  private async cleanup(
    infra: Infra | undefined,
    kafka: ProvidedKafka,
    pg: ProvidedPostgres,
  ): Promise<void> {
    const step = async (what: string, f: () => Promise<unknown>): Promise<void> => {
      try {
        await f();
      } catch (e) {
        note(`cleanup: ${what} failed: ${errorText(e)}`);
      }
    };
    this.monitor?.stop();
    if (this.monitor !== undefined && this.peakRssMb === null) {
      this.peakRssMb = round(this.monitor.peakHwmKb / 1024);
    }
    if (this.gateways.length > 0) {
      await Promise.all(
        this.gateways.map((gw) =>
          step(`stopping ${gw.name}`, async () => {
            const how = await gw.stop();
            if (how !== '0' && !this.killed.has(gw)) note(`${gw.name} ended with ${how}`);
          }),
        ),
      );
      if (this.profileDir !== null) {
        const dir = this.profileDir;
        await step('reading the CPU profile', () => {
          this.profile = summarizeProfile(dir);
          return Promise.resolve();
        });
      }
    }
    await step('closing the county consumer', () => this.county?.disconnect() ?? Promise.resolve());
    await step('closing the producer', () => this.producer?.disconnect() ?? Promise.resolve());
    await step('closing the Kafka admin', () => this.client?.close() ?? Promise.resolve());
    await step('closing the database client', () => this.db?.end() ?? Promise.resolve());
    await step('closing the look-up client', () => this.lookups?.end() ?? Promise.resolve());
    if (infra?.database.created === true) {
      if (this.o.keepDb) this.notes.push(`database ${infra.database.name} kept (--keep-db)`);
      else
        await step('dropping the run database', () =>
          dropBenchDatabase(pg.url, infra.database.name),
        );
    }
    await step('stopping PostgreSQL', () => pg.stop());
    await step('stopping Kafka', () => kafka.stop());
    if (this.credentials !== undefined) {
      rmSync(join(this.credentials.file, '..'), { recursive: true, force: true });
    }
  }

  // ---------------------------------------------------------------- the summary

  private diagnosis(): string[] {
    const out: string[] = [];
    const t = this.throughput;
    const l = this.latency;
    const stageLine = (p: PathSummary, pick: (s: Spread) => number, what: string): string => {
      const parts = STAGES.map(([k, label]) => ({ k, label, v: pick(p.stages[k]) }));
      const total = parts.reduce((a, b) => a + (Number.isNaN(b.v) ? 0 : b.v), 0);
      const top = [...parts].sort((a, b) => b.v - a.v)[0];
      return top === undefined || total <= 0
        ? `${what}: no ledger rows to follow`
        : `${what}: ${round((100 * top.v) / total)} % of it is "${top.label}" (${round(top.v)} ms of ${round(total)} ms)`;
    };
    const resources = (
      r: ThroughputResult | LatencyResult,
      phase: string,
      perSecond: number,
    ): void => {
      const { gatewayCpuMean: gw, pgCpuMean: pg, machineCpuMean: machine } = r;
      const wait = r.gatewayCpuWaitMean;
      out.push(
        `${phase}: CPU in % of one core — gateway ${gw ?? '?'}, its PostgreSQL backends ${pg ?? '?'}, load generator ${r.benchCpuMean ?? '?'}; machine ${machine ?? '?'} % of ${cpus().length} cores; the gateway was runnable but waiting for a CPU ${wait ?? '?'} % of the time` +
          (gw !== null && gw >= 85 ? "; the gateway's single JavaScript thread is saturated" : '') +
          (machine !== null && machine >= 90
            ? '; the machine is saturated (Kafka, PostgreSQL, the gateway, this load generator and anything else running share its cores): the figures are bounded by the machine'
            : ''),
      );
      if (perSecond > 0 && gw !== null) {
        out.push(
          `${phase}: per bill ${round((gw * 10) / perSecond, 2)} ms of gateway CPU` +
            (pg === null ? '' : ` and ${round((pg * 10) / perSecond, 2)} ms of PostgreSQL CPU`) +
            `; intake (message taken → committed) mean ${r.intake.meanMs ?? '?'} ms, p50 ${r.intake.p50}, p99 ${r.intake.p99}`,
        );
      }
      if (r.intake.meanMs !== null && perSecond > 0) {
        out.push(
          `${phase}: messages in the intake at once (Little's law, ${int(perSecond)}/s × ${r.intake.meanMs} ms) ≈ ${round((perSecond * r.intake.meanMs) / 1000, 1)}; the consumer may run KAFKA_PARTITIONS_CONCURRENTLY × INTAKE_LANES transactions of up to INTAKE_BATCH_SIZE bills`,
        );
      }
      const c = r.pgConnections;
      if (c !== null) {
        const share = (prefix: string): number =>
          c.states.filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);
        const shares: Array<[number, string]> = [
          [
            share('idle in transaction'),
            ' — open transactions mostly wait for the gateway to send their next statement (round trips through its single event loop)',
          ],
          [
            share('idle ('),
            (r.peakLag ?? 0) > 0
              ? ' — connections sat idle while bills waited in Kafka: the limit is in front of the pool (fetch → batch → lanes)'
              : ' — the pool had spare connections',
          ],
          [share('active'), ' — PostgreSQL itself is the busy side'],
        ];
        const verdict = [...shares].sort((x, y) => y[0] - x[0])[0]?.[1] ?? '';
        out.push(
          `${phase}: the gateway's PostgreSQL connections (mean ${c.connectionsMean}, max ${c.connectionsMax}) were ${c.states
            .slice(0, 5)
            .map(([k, v]) => `${v} % ${k}`)
            .join(', ')}${verdict}`,
        );
      }
    };
    if (t !== null) {
      out.push(stageLine(t.path, (s) => s.mean, 'throughput phase, mean time per bill'));
      if (t.peakLag !== null && t.peakOutboxBacklog !== null) {
        out.push(
          t.peakLag > 5 * Math.max(1, t.peakOutboxBacklog)
            ? `throughput phase: the queue builds up in front of the gateway's intake (peak consumer lag ${int(t.peakLag)}), not in its outbox (peak backlog ${int(t.peakOutboxBacklog)}): the intake (consume → settle → commit) is the bottleneck, the relay keeps up`
            : `throughput phase: the outbox backlog (peak ${int(t.peakOutboxBacklog)}) is of the order of the consumer lag (peak ${int(t.peakLag)}): the relay is (also) a bottleneck`,
        );
      }
      resources(t, 'throughput phase', t.billsPerSecond);
    }
    if (l !== null) {
      out.push(
        stageLine(l.path, (s) => s.p99, `latency phase, p99 per stage at ${l.offeredPerSecond}/s`),
      );
      resources(l, 'latency phase', l.publishedPerSecond);
    }
    if (this.profile !== null) {
      const p = this.profile;
      const cpu = this.monitor?.gatewayTotals;
      out.push(
        `CPU profile of the gateway (whole run): ${int(p.busyMs)} ms sampled busy` +
          (cpu === undefined || cpu.cpuSeconds === null
            ? ''
            : ` against ${int(cpu.cpuSeconds * 1000)} ms of CPU it actually got (/proc) and ${int((cpu.cpuWaitSeconds ?? 0) * 1000)} ms waiting for one (the profiler counts descheduled time to the function it interrupted)`) +
          '; by area: ' +
          p.byArea
            .slice(0, 8)
            .map(([a, pct]) => `${a} ${pct} %`)
            .join(', '),
      );
    }
    return out;
  }

  private print(infra: Infra | undefined): void {
    const t = this.throughput;
    const l = this.latency;
    const mark = (ok: boolean | null): string => (ok === null ? '' : ok ? 'met' : 'MISSED');
    const b = this.baseline;
    const h = this.http;
    const share =
      t === null || b === null || b.messagesPerSecond <= 0
        ? null
        : round(t.billsPerSecond / b.messagesPerSecond, 3);
    const met = {
      throughput: t === null ? null : t.billsPerSecond >= TARGET.billsPerSecond,
      baselineShare: share === null ? null : share >= TARGET.baselineShare,
      p99: l === null || l.latencyMs.n === 0 ? null : l.latencyMs.p99 <= TARGET.p99Ms,
      httpP99: h === null || h.requests === 0 ? null : h.latencyMs.p99 <= TARGET.httpP99Ms,
      rss: this.peakRssMb === null ? null : this.peakRssMb <= TARGET.rssMb,
      exactlyOnce: this.ledgerCheck === null ? null : this.ledgerCheck.ok,
    };
    const rows: Array<[string, string, string, string]> = [['measure', 'value', 'target', '']];
    if (b !== null) {
      rows.push([
        `bare pipeline (${int(b.messages)} messages: Kafka → 1 transaction/batch → outbox → Kafka)`,
        `${int(b.messagesPerSecond)} msgs/s`,
        '',
        '',
      ]);
      rows.push([
        '  steady part (10 % → 90 %)',
        b.steadyMessagesPerSecond === null ? 'n/a' : `${int(b.steadyMessagesPerSecond)} msgs/s`,
        '',
        '',
      ]);
    }
    if (t !== null) {
      const n = this.o.instances;
      rows.push([
        `sustained (${int(t.bills)} bills, ${n} instance${n === 1 ? '' : 's'}, first publish → last county event)`,
        `${int(t.billsPerSecond)} bills/s`,
        `≥ ${int(TARGET.billsPerSecond)} bills/s`,
        mark(met.throughput),
      ]);
      rows.push([
        '  steady part (10 % → 90 % of the settlements)',
        t.steadyBillsPerSecond === null ? 'n/a' : `${int(t.steadyBillsPerSecond)} bills/s`,
        '',
        '',
      ]);
      rows.push([
        '  publishing alone (the producer, not a limit)',
        `${int(t.publishPerSecond)} bills/s`,
        '',
        '',
      ]);
      if (share !== null) {
        rows.push([
          'gateway ÷ bare pipeline (same broker, same database, this run)',
          share.toFixed(3),
          `≥ ${TARGET.baselineShare}`,
          mark(met.baselineShare),
        ]);
      }
    }
    if (l !== null) {
      const at = `@ ${int(l.offeredPerSecond)}/s for ${l.seconds} s`;
      rows.push([`latency p50 ${at}`, `${round(l.latencyMs.p50)} ms`, '', '']);
      rows.push([`latency p95 ${at}`, `${round(l.latencyMs.p95)} ms`, '', '']);
      rows.push([
        `latency p99 ${at}`,
        `${round(l.latencyMs.p99)} ms`,
        `≤ ${TARGET.p99Ms} ms`,
        mark(met.p99),
      ]);
      rows.push([`latency max ${at}`, `${round(l.latencyMs.max)} ms`, '', '']);
    }
    if (h !== null) {
      const at = `@ ${int(h.offeredPerSecond)}/s for ${h.seconds} s`;
      rows.push([`HTTP POST /api/v1/settlements p50 ${at}`, `${h.latencyMs.p50} ms`, '', '']);
      rows.push([
        `HTTP POST /api/v1/settlements p99 ${at}`,
        `${h.latencyMs.p99} ms`,
        `≤ ${TARGET.httpP99Ms} ms`,
        mark(met.httpP99),
      ]);
      rows.push([`HTTP POST /api/v1/settlements max ${at}`, `${h.latencyMs.max} ms`, '', '']);
      rows.push([
        `  answered (${int(h.answeredPerSecond)}/s), non-2xx, errors, timeouts`,
        `${int(h.requests)}, ${h.non2xx}, ${h.errors}, ${h.timeouts}`,
        '0 non-2xx',
        mark(h.non2xx === 0 && h.errors === 0),
      ]);
    }
    const c = this.ledgerCheck;
    if (c !== null) {
      rows.push([
        `exactly once (throughput bills${this.kill === null ? '' : `, ${this.kill.name} SIGKILLed`})`,
        `${c.billsSettledTwice} twice, ${c.lost} lost`,
        '0 twice, 0 lost',
        mark(c.billsSettledTwice === 0 && c.lost === 0),
      ]);
      rows.push([
        '  county events (by event id) = ledger settlements',
        `${c.countySum} = ${c.ledgerSum}`,
        'equal, same ids',
        mark(c.countySum === c.ledgerSum && c.sameEventIds),
      ]);
    }
    rows.push([
      'gateway peak RSS (VmHWM)',
      this.peakRssMb === null ? 'n/a' : `${this.peakRssMb} MB`,
      `≤ ${TARGET.rssMb} MB`,
      mark(met.rss),
    ]);
    const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
    const table = rows.map((r) =>
      `  ${r[0].padEnd(widths[0] ?? 0)}  ${r[1].padStart(widths[1] ?? 0)}  ${r[2].padEnd(widths[2] ?? 0)}  ${r[3]}`.trimEnd(),
    );

    const lines: string[] = ['', `one-bill gateway end to end — run ${RUN}`];
    if (infra !== undefined) {
      lines.push(
        `  Kafka ${infra.kafka.brokers} (${infra.kafka.source}); ${Object.entries(this.partitions)
          .map(([k, v]) => `${k} ${v} partitions`)
          .join(', ')}`,
        `  PostgreSQL ${redact(infra.database.url)} (${infra.pg.source}; ${infra.database.note})`,
      );
    }
    lines.push(
      `  gateway: ${this.o.instances} instance${this.o.instances === 1 ? '' : 's'} in one consumer group; ${KNOBS.map((k) => `${k}=${process.env[k] ?? 'default'}`).join(' ')}; ${cpus().length} cores`,
      '',
      ...table,
    );
    if (b !== null) {
      lines.push(
        `  bare pipeline: ${int(b.transactions)} transactions (${b.meanMessagesPerTransaction} messages each), ${int(b.relayBatches)} relay batches (${b.meanRelayBatch} each); published in ${b.publishSeconds} s; this process (producer + pipeline) ${b.benchCpuMean} % of one core, machine ${b.machineCpuMean ?? '?'} % of ${cpus().length} cores`,
      );
    }
    if (this.kill !== null) {
      const k = this.kill;
      lines.push(
        `  ${k.name} SIGKILLed ${k.atSeconds} s into the throughput phase: ${int(k.eventsAtKill)} county events in, ${k.ledgerAtKill === null ? '?' : int(k.ledgerAtKill)} settlements in the ledger, of ${int(t?.bills ?? 0)}`,
      );
    }
    if (c !== null) {
      lines.push(
        `  ledger check: ${int(c.bills)} bills → ${int(c.rows)} settlement rows for ${int(c.billsSettled)} bills (${c.billsSettledTwice} twice), ${c.rejected} rejected, ${c.lost} lost; county ${int(c.countyEvents)} events (${c.eventCopies} copies collapsed), same event ids: ${c.sameEventIds ? 'yes' : 'NO'} — ${c.ok ? 'PASS' : 'FAIL'}`,
      );
    }
    if (h !== null && Object.keys(h.statusCodes).length > 0) {
      lines.push(
        `  HTTP answers: ${Object.entries(h.statusCodes)
          .map(([code, n]) => `${code} ×${int(n)}`)
          .join(', ')}; ${h.connections} connections, ${int(h.distinctBills)} distinct bills`,
      );
    }
    const counts = (
      label: string,
      r: { bills: number; settled: number; rejected: number; missing: number },
    ): void => {
      if (r.rejected > 0 || r.missing > 0) {
        lines.push(
          `  ${label}: ${r.settled} settled, ${r.rejected} rejected, ${r.missing} without an event of ${r.bills}`,
        );
      }
    };
    if (t !== null) counts('throughput', t);
    if (l !== null) counts('latency', l);
    if (this.tracker.reasons.size > 0) {
      lines.push(
        `  rejects: ${[...this.tracker.reasons].map(([k, v]) => `${k} ×${v}`).join(', ')}`,
      );
    }

    const stageTable = (title: string, p: PathSummary): void => {
      lines.push('', `  ${title} (${int(p.bills)} bills followed through the ledger), ms:`);
      lines.push(
        `    ${'stage'.padEnd(74)}${['mean', 'p50', 'p95', 'p99', 'max'].map((h) => h.padStart(8)).join('')}`,
      );
      for (const [k, label] of STAGES) {
        const s = p.stages[k];
        lines.push(
          `    ${label.padEnd(74)}${[s.mean, s.p50, s.p95, s.p99, s.max].map((v) => (Number.isNaN(v) ? 'n/a' : String(round(v))).padStart(8)).join('')}`,
        );
      }
    };
    if (t !== null) stageTable('where the time goes, throughput phase', t.path);
    if (l !== null)
      stageTable(`where the time goes, latency phase @ ${l.offeredPerSecond}/s`, l.path);

    const timeline = (phase: string): void => {
      const samples = this.monitor?.of(phase) ?? [];
      if (samples.length === 0) return;
      const step = Math.max(1, Math.ceil(samples.length / 15));
      const header = [
        't (s)',
        'published',
        'events',
        'lag',
        'outbox',
        'gw cpu',
        'gw wait',
        'pg cpu',
        'bench',
        'machine',
        'rss MB',
      ];
      lines.push(
        '',
        `  ${phase} phase, every ${step} s (lag: the gateway's group on his.discharge.v1; outbox: its backlog; cpu: % of one core; gw wait: % of the time the gateway waited for a CPU; machine: % of all cores):`,
        `    ${header.map((h) => h.padStart(10)).join('')}`,
      );
      samples
        .filter((_, i) => i % step === 0 || i === samples.length - 1)
        .forEach((s) =>
          lines.push(
            `    ${[
              s.t,
              s.published,
              s.done,
              s.lag ?? '?',
              s.outboxBacklog ?? '?',
              s.gatewayCpu ?? '?',
              s.gatewayCpuWait ?? '?',
              s.pgCpu ?? '?',
              s.benchCpu,
              s.machineCpu ?? '?',
              s.rssMb ?? '?',
            ]
              .map((v) => String(v).padStart(10))
              .join('')}`,
          ),
        );
    };
    timeline('throughput');
    timeline('latency');
    timeline('http');

    const diagnosis = this.diagnosis();
    if (diagnosis.length > 0) lines.push('', '  diagnosis:', ...diagnosis.map((d) => `    - ${d}`));
    if (this.profile !== null) {
      lines.push('', `  gateway CPU profile (${this.profile.file}), self time, % of busy:`);
      for (const [fn, pct] of this.profile.topFunctions)
        lines.push(`    ${String(pct).padStart(5)} %  ${fn}`);
    }
    const flows = this.gateways.map((g) => g.latestFlow());
    if (this.killed.size === 0 && flows.length > 0 && flows.every((f) => f !== undefined)) {
      const ours = this.tracker.done.W + this.tracker.done.T + this.tracker.done.L;
      const all = flows.reduce(
        (a, f) =>
          a +
          (f === undefined
            ? 0
            : f.settled + f.rejected + f.conflict + f.duplicate + f.reversed + f.admitted),
        0,
      );
      if (all > ours + this.tracker.done.H)
        this.notes.push(
          `the gateway also took ${int(all - ours - this.tracker.done.H)} messages that were not this run's (a shared broker)`,
        );
    }
    if (this.tracker.foreignEvents > 0) {
      this.notes.push(
        `${int(this.tracker.foreignEvents)} settlement events for this run's bills came from gateways that are not this run's (another consumer group on the shared broker settled them into its own database); they were left out. For figures of this run alone, give it a broker of its own: KAFKA_PORT=<a free port>`,
      );
    }
    for (const gw of this.gateways) {
      if (gw.warnings > 0)
        this.notes.push(
          `${gw.name} logged ${gw.warnings} warning or error line(s), shown on stderr as [${gw.name}]`,
        );
    }
    if (this.notes.length > 0) lines.push('', '  notes:', ...this.notes.map((n) => `    - ${n}`));
    lines.push('');

    Object.assign(this.results, {
      at: new Date().toISOString(),
      options: this.o,
      kafka:
        infra === undefined
          ? null
          : {
              brokers: infra.kafka.brokers,
              source: infra.kafka.source,
              partitions: this.partitions,
              otherGroups: this.otherGroups.length,
            },
      postgres:
        infra === undefined
          ? null
          : {
              source: infra.pg.source,
              database: infra.database.name,
              created: infra.database.created,
            },
      gatewayEnv: Object.fromEntries(KNOBS.map((k) => [k, process.env[k] ?? null])),
      cores: cpus().length,
      targets: TARGET,
      met,
      throughput: t,
      latency: l,
      baseline: this.baseline,
      gatewayShareOfBaseline: share,
      http: this.http,
      instances: this.o.instances,
      kill: this.kill,
      ledgerCheck: this.ledgerCheck,
      gateway: {
        peakRssMb: this.peakRssMb,
        warnings: this.gateways.reduce((a, g) => a + g.warnings, 0),
        ...this.monitor?.gatewayTotals,
      },
      diagnosis,
      profile: this.profile,
      notes: this.notes,
    });
    process.stdout.write(`${lines.join('\n')}\n${JSON.stringify(this.results)}\n`);
    // a measurement, not a test; but a run that lost or doubled a bill must not look like success
    if (this.ledgerCheck !== null && !this.ledgerCheck.ok) process.exitCode = 1;
  }
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${e.message === '' ? '' : `${e.message}\n`}${USAGE}\n`);
    process.exit(e.message === '' ? 0 : 64);
  }
  // stdout carries the summary only: the helpers shared with the tests log with console.log
  console.log = (...args: unknown[]): void => status.note(format(...args));
  await new Bench(options).run();
}

main().catch((e: unknown) => {
  status.end();
  process.stderr.write(
    `\n[bench] failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});
