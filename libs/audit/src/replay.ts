/**
 * Audit replay and what-if (issue 5 items 2 and 4).
 *
 * Audit: every matching settlement is recomputed by the engine from its archived inbound message,
 * with the rule-set version stored on it and the accumulators it started from, and compared field
 * by field with what is stored. What-if: the same bills under another rule book (another rule-set
 * version, other yearly figures), each person's accumulators carried from bill to bill under the
 * what-if rules, reporting the change per county, fund and category. Both only read.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type Dec, ZERO, decimalOf, formatDecimal } from '@onebill/money';
import {
  type Accumulators,
  type Bill,
  type CompiledRuleSet,
  type FundKind,
  type SettlementResult,
  compiled,
  settle,
} from '@onebill/engine';
import { type Queryable, billOfCanonical, sha256Text } from '@onebill/ledger';
import { decodeAcceptedBill } from '@onebill/messaging/canonical';
import type { RuleBook, RuleBookOptions } from '@onebill/rules';
import { type FieldDiff, FUNDS, compareSettlement, continuityDiffs, fundTotals } from './compare';
import {
  type ReplayFilter,
  type StoredSettlement,
  countSettlements,
  scanSettlements,
} from './stored';

export interface Progress {
  done: number;
  total: number;
  /** bills per second so far */
  rate: number;
}

export interface ReplayOptions {
  pageSize?: number;
  /** differences listed in the report (the counts are exact); default 1000 */
  maxListed?: number;
  onProgress?: (p: Progress) => void;
  /** called every this many bills; default one page */
  progressEvery?: number;
  /**
   * Audit replay only: worker threads that recompute the bills, the persons split between them
   * (a person's bills always go to the same worker). 0 or 1 (the default): this thread. The main
   * thread still scans the ledger and builds the report, which is the sequential one.
   */
  workers?: number;
  /**
   * How the workers load their rule book (they cannot be handed `rules`): it must give the same
   * book. Default: `RuleBook.load()`'s defaults.
   */
  workerRules?: RuleBookOptions;
}

export interface BillDifference {
  setlId: string;
  fixmedinsCode: string;
  mdtrtId: string;
  psnNo: string;
  clrOptins: string;
  ruleSetVersion: string;
  status: string;
  /** empty when the bill could not be replayed at all (see error) */
  diffs: FieldDiff[];
  error?: string;
}

/** The bill a BillDifference is about, as stored (what it names before its diffs). */
export function differenceHead(s: StoredSettlement): Omit<BillDifference, 'diffs' | 'error'> {
  return {
    setlId: s.setlId,
    fixmedinsCode: s.fixmedinsCode,
    mdtrtId: s.mdtrtId,
    psnNo: s.psnNo,
    clrOptins: s.clrOptins,
    ruleSetVersion: s.ruleSetVersion,
    status: s.status,
  };
}

export interface AuditReport {
  kind: 'audit';
  filter: ReplayFilter;
  startedAt: string;
  finishedAt: string;
  seconds: number;
  total: number;
  matched: number;
  differing: number;
  /** bills that could not be recomputed (no archived input, undecodable, unknown rules) */
  failed: number;
  billsPerSecond: number;
  differences: BillDifference[];
  /** true when more differences exist than are listed */
  truncated: boolean;
}

class ReplayFailure extends Error {}

/** Compiled rule sets by version and year, resolved once. */
export class RuleCache {
  private readonly cache = new Map<string, CompiledRuleSet>();
  constructor(private readonly rules: RuleBook) {}

  byVersion(version: string, date: string): CompiledRuleSet {
    const key = `${version}|${date.slice(0, 4)}`;
    let c = this.cache.get(key);
    if (c === undefined) {
      c = compiled(this.rules.resolveVersion(version, date));
      this.cache.set(key, c);
    }
    return c;
  }

  inForce(region: string, date: string): CompiledRuleSet {
    const key = `@${region}|${date}`;
    let c = this.cache.get(key);
    if (c === undefined) {
      c = compiled(this.rules.resolve(region, date));
      this.cache.set(key, c);
    }
    return c;
  }
}

/**
 * The bill that was settled. Where the archived inbound message is, byte for byte, the message
 * the intake received (its SHA-256 is the inbox's) and the settlement's canonical bill hashes to
 * the stored body_hash (covered by the archive's chain), the intake's one decoding of that very
 * message is read back from the canonical text (docs/adr/0017). Otherwise — rows settled before
 * migration 0012, a message stored as other text than its bytes (GBK), an archived message that
 * was altered — the archived message is decoded again with the one decoder.
 */
function billOf(s: StoredSettlement): Bill {
  if (
    s.bodyCanonical !== null &&
    s.bodyHashForm === 'c1' &&
    s.payload !== null &&
    s.payloadSha256 !== null &&
    sha256Text(s.payload) === s.payloadSha256 &&
    sha256Text(s.bodyCanonical) === s.bodyHash
  ) {
    return billOfCanonical(s.bodyCanonical);
  }
  return archivedBill(s);
}

/** The bill of the archived inbound message, decoded with the one decoder. */
function archivedBill(s: StoredSettlement): Bill {
  if (s.payload === null) {
    throw new ReplayFailure('no archived inbound message for this settlement');
  }
  const d = decodeAcceptedBill(s.payload);
  if (!d.ok) {
    throw new ReplayFailure(
      `the archived message does not decode: ${d.errors.map((e) => e.message).join('; ')}`,
    );
  }
  return d.bill;
}

/** The bill as the engine saw it: with the registry's identities where they were used. */
function engineBill(s: StoredSettlement, bill: Bill): Bill {
  return s.identitiesUsed === null ? bill : { ...bill, identities: s.identitiesUsed };
}

export function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class Meter {
  private readonly t0 = Date.now();
  private lastReport = 0;
  done = 0;
  constructor(
    private readonly total: number,
    private readonly every: number,
    private readonly onProgress?: (p: Progress) => void,
  ) {}
  rate(): number {
    const s = (Date.now() - this.t0) / 1000;
    return s > 0 ? Math.round(this.done / s) : 0;
  }
  seconds(): number {
    return (Date.now() - this.t0) / 1000;
  }
  tick(n: number): void {
    this.done += n;
    if (
      this.onProgress &&
      (this.done - this.lastReport >= this.every || this.done === this.total)
    ) {
      this.lastReport = this.done;
      this.onProgress({ done: this.done, total: this.total, rate: this.rate() });
    }
  }
}

/** One stored settlement recomputed and compared; throws when it cannot be recomputed. */
export function auditOne(s: StoredSettlement, cache: RuleCache): FieldDiff[] {
  const bill = billOf(s);
  const ruleSet = cache.byVersion(s.ruleSetVersion, bill.dischargeDate);
  const result = settle({ bill: engineBill(s, bill), accumulators: s.accumulatorsBefore, ruleSet });
  return [...continuityDiffs(s), ...compareSettlement(s, result, bill)];
}

type Outcome = { diffs: FieldDiff[] } | { error: string };

/** Recomputes a page of stored settlements: one outcome per bill, in page order. */
interface Computer {
  compute(page: StoredSettlement[]): Promise<Outcome[]>;
  close(): Promise<void>;
}

function inThisThread(cache: RuleCache): Computer {
  return {
    compute: (page) =>
      Promise.resolve(
        page.map((s): Outcome => {
          try {
            return { diffs: auditOne(s, cache) };
          } catch (e) {
            return { error: message(e) };
          }
        }),
      ),
    close: () => Promise.resolve(),
  };
}

/** Which of n shares a person's bills go to (FNV-1a of psn_no: stable across runs). */
export function personShare(psnNo: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < psnNo.length; i++) {
    h ^= psnNo.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % n;
}

/**
 * A worker running the file beside this one: compiled (dist; the parent's `-r register-paths`
 * is inherited) or, when this runs from TypeScript sources (tsx, jest), the .ts file required
 * through tsx's CommonJS hook from a small CommonJS bootstrap (a .ts entry file would go through
 * Node's ESM loader, which the parent's loader hooks do not reach in time).
 */
function startWorker(workerData: unknown): Worker {
  if (!__filename.endsWith('.ts')) {
    return new Worker(join(__dirname, 'replay.worker.js'), { workerData });
  }
  const file = join(__dirname, 'replay.worker.ts');
  const bootstrap = `require(${JSON.stringify(require.resolve('tsx/cjs'))});require(${JSON.stringify(file)});`;
  return new Worker(bootstrap, { eval: true, workerData, execArgv: [] });
}

class WorkerComputer implements Computer {
  private readonly workers: Worker[];
  private readonly waiting = new Map<
    number,
    { resolve: (o: Outcome[]) => void; reject: (e: Error) => void }
  >();
  private nextId = 0;
  private failed: Error | null = null;

  constructor(n: number, rules: RuleBookOptions) {
    this.workers = Array.from({ length: n }, () => {
      const w = startWorker({ rules });
      w.on('message', (a: { id: number; outcomes: Outcome[] }) => {
        const p = this.waiting.get(a.id);
        this.waiting.delete(a.id);
        p?.resolve(a.outcomes);
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`an audit replay worker exited with ${code}`));
      });
      return w;
    });
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const p of this.waiting.values()) p.reject(e);
    this.waiting.clear();
  }

  async compute(page: StoredSettlement[]): Promise<Outcome[]> {
    if (this.failed !== null) throw this.failed;
    const n = this.workers.length;
    const shares: number[][] = Array.from({ length: n }, () => []);
    page.forEach((s, i) => shares[personShare(s.psnNo, n)]!.push(i));
    const out = new Array<Outcome>(page.length);
    await Promise.all(
      shares.map(async (indices, w) => {
        if (indices.length === 0) return;
        const id = this.nextId++;
        const answer = new Promise<Outcome[]>((resolve, reject) =>
          this.waiting.set(id, { resolve, reject }),
        );
        this.workers[w]!.postMessage({ id, rows: indices.map((i) => page[i]!) });
        const outcomes = await answer;
        indices.forEach((i, k) => (out[i] = outcomes[k]!));
      }),
    );
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Audit replay: recompute and compare. Never writes. */
export async function auditReplay(
  q: Queryable,
  rules: RuleBook,
  filter: ReplayFilter,
  opts: ReplayOptions = {},
): Promise<AuditReport> {
  const startedAt = new Date().toISOString();
  const pageSize = opts.pageSize ?? 2000;
  const maxListed = opts.maxListed ?? 1000;
  const total = await countSettlements(q, filter);
  const meter = new Meter(total, opts.progressEvery ?? pageSize, opts.onProgress);
  const workers = opts.workers ?? 0;
  const computer =
    workers > 1
      ? new WorkerComputer(workers, opts.workerRules ?? {})
      : inThisThread(new RuleCache(rules));
  const differences: BillDifference[] = [];
  let matched = 0;
  let differing = 0;
  let failed = 0;
  const list = (d: BillDifference): void => {
    if (differences.length < maxListed) differences.push(d);
  };
  try {
    await scanSettlements(
      q,
      filter,
      async (page) => {
        const outcomes = await computer.compute(page);
        page.forEach((s, i) => {
          const head = differenceHead(s);
          const o = outcomes[i]!;
          if ('error' in o) {
            failed += 1;
            list({ ...head, diffs: [], error: o.error });
          } else if (o.diffs.length === 0) matched += 1;
          else {
            differing += 1;
            list({ ...head, diffs: o.diffs });
          }
        });
        meter.tick(page.length);
      },
      pageSize,
    );
  } finally {
    await computer.close();
  }
  return {
    kind: 'audit',
    filter,
    startedAt,
    finishedAt: new Date().toISOString(),
    seconds: meter.seconds(),
    total: meter.done,
    matched,
    differing,
    failed,
    billsPerSecond: meter.rate(),
    differences,
    truncated: differing + failed > differences.length,
  };
}

export type ImpactFund = FundKind | 'patient';

export interface ImpactRow {
  county: string;
  /** the category the bill was settled under ('none' without one) */
  category: string;
  fund: ImpactFund;
  bills: number;
  stored: string;
  whatIf: string;
  delta: string;
}

export interface WhatIfReport {
  kind: 'what-if';
  filter: ReplayFilter;
  /** rule-set versions the what-if applied */
  versions: string[];
  startedAt: string;
  finishedAt: string;
  seconds: number;
  total: number;
  changed: number;
  failed: number;
  billsPerSecond: number;
  /** per county × category × fund */
  impact: ImpactRow[];
  /** per fund over everything */
  totals: { fund: ImpactFund; stored: string; whatIf: string; delta: string }[];
  /** the bills that changed most (largest total fund change first), at most maxListed */
  bills: { setlId: string; mdtrtId: string; clrOptins: string; diffs: FieldDiff[] }[];
  errors: { setlId: string; error: string }[];
}

const IMPACT_FUNDS: readonly ImpactFund[] = [...FUNDS, 'patient'];

function amountsOf(detail: Record<FundKind, string>, cash: string): Record<ImpactFund, string> {
  return { ...detail, patient: cash };
}

/**
 * What-if: the matching settled bills under `whatIf` (the rules in force there on each bill's
 * discharge date). A person's first bill in the range starts from its stored accumulators; the
 * next bills of that person and year start from the what-if result of the one before, so a lower
 * cap reached earlier shows in the later bills. Reversed settlements are left out by default.
 */
export async function whatIfReplay(
  q: Queryable,
  whatIf: RuleBook,
  filter: ReplayFilter,
  opts: ReplayOptions = {},
): Promise<WhatIfReport> {
  const startedAt = new Date().toISOString();
  const f: ReplayFilter = { ...filter, status: filter.status ?? 'settled' };
  const pageSize = opts.pageSize ?? 2000;
  const maxListed = opts.maxListed ?? 1000;
  const total = await countSettlements(q, f);
  const meter = new Meter(total, opts.progressEvery ?? pageSize, opts.onProgress);
  const cache = new RuleCache(whatIf);
  const carried = new Map<string, Accumulators>();
  const cells = new Map<
    string,
    { row: Omit<ImpactRow, 'stored' | 'whatIf' | 'delta'>; s: Dec; w: Dec }
  >();
  const versions = new Set<string>();
  const changedBills: {
    setlId: string;
    mdtrtId: string;
    clrOptins: string;
    diffs: FieldDiff[];
    size: Dec;
  }[] = [];
  const errors: { setlId: string; error: string }[] = [];
  let changed = 0;
  let failed = 0;
  await scanSettlements(
    q,
    f,
    (page) => {
      for (const s of page) {
        let result: SettlementResult;
        try {
          const bill = billOf(s);
          const region =
            whatIf.hospital(s.fixmedinsCode)?.region ?? s.ruleSetVersion.split('-')[0]!;
          const key = `${s.psnNo}|${s.year}`;
          const accumulators = carried.get(key) ?? s.accumulatorsBefore;
          result = settle({
            bill: engineBill(s, bill),
            accumulators,
            ruleSet: cache.inForce(region, bill.dischargeDate),
          });
          carried.set(key, result.accumulators);
        } catch (e) {
          failed += 1;
          if (errors.length < maxListed) errors.push({ setlId: s.setlId, error: message(e) });
          continue;
        }
        versions.add(result.ruleSetVersion);
        const stored = amountsOf(fundTotals(s.setldetail), s.amounts.psnCashPay);
        const replayed = amountsOf(fundTotals(result.setldetail), result.setlinfo.psnCashPay);
        const category = s.categoryUsed ?? 'none';
        const diffs: FieldDiff[] = [];
        let size = ZERO;
        for (const fund of IMPACT_FUNDS) {
          const k = `${s.clrOptins}|${category}|${fund}`;
          let c = cells.get(k);
          if (c === undefined) {
            c = {
              row: { county: s.clrOptins, category, fund, bills: 0 },
              s: ZERO,
              w: ZERO,
            };
            cells.set(k, c);
          }
          c.row.bills += 1;
          c.s = c.s.plus(stored[fund]);
          c.w = c.w.plus(replayed[fund]);
          if (stored[fund] !== replayed[fund]) {
            diffs.push({
              field: fund === 'patient' ? 'psn_cash_pay' : `fund:${fund}`,
              stored: stored[fund],
              replayed: replayed[fund],
            });
            if (fund !== 'patient')
              size = size.plus(decimalOf(replayed[fund]).minus(decimalOf(stored[fund])).abs());
          }
        }
        if (diffs.length > 0) {
          changed += 1;
          changedBills.push({
            setlId: s.setlId,
            mdtrtId: s.mdtrtId,
            clrOptins: s.clrOptins,
            diffs,
            size,
          });
          if (changedBills.length > maxListed * 2) {
            changedBills.sort((a, b) => b.size.comparedTo(a.size));
            changedBills.length = maxListed;
          }
        }
      }
      meter.tick(page.length);
    },
    pageSize,
  );
  const impact = [...cells.values()]
    .map((c) => ({
      ...c.row,
      stored: formatDecimal(c.s),
      whatIf: formatDecimal(c.w),
      delta: formatDecimal(c.w.minus(c.s)),
    }))
    .sort((a, b) =>
      a.county === b.county
        ? a.category === b.category
          ? IMPACT_FUNDS.indexOf(a.fund) - IMPACT_FUNDS.indexOf(b.fund)
          : a.category.localeCompare(b.category)
        : a.county.localeCompare(b.county),
    );
  const totals = IMPACT_FUNDS.map((fund) => {
    let s = ZERO;
    let w = ZERO;
    for (const c of cells.values()) {
      if (c.row.fund !== fund) continue;
      s = s.plus(c.s);
      w = w.plus(c.w);
    }
    return {
      fund,
      stored: formatDecimal(s),
      whatIf: formatDecimal(w),
      delta: formatDecimal(w.minus(s)),
    };
  });
  changedBills.sort((a, b) => b.size.comparedTo(a.size));
  return {
    kind: 'what-if',
    filter: f,
    versions: [...versions].sort(),
    startedAt,
    finishedAt: new Date().toISOString(),
    seconds: meter.seconds(),
    total: meter.done,
    changed,
    failed,
    billsPerSecond: meter.rate(),
    impact,
    totals,
    bills: changedBills.slice(0, maxListed).map(({ size: _size, ...b }) => b),
    errors,
  };
}
