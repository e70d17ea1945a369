/**
 * What `npm run settle` does, without the process around it (scripts/settle.ts parses the command
 * line and prints): settle one discharge, or a batch of them in one process, carrying each
 * person's year-to-date position from bill to bill. Nothing is stored.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  type Accumulators,
  type Bill,
  EngineError,
  type SettlementResult,
  compiled,
  emptyAccumulators,
  formatFen,
  parseFen,
  settle,
} from '@onebill/engine';
import { type DecodeError, decodeDischarge } from '@onebill/messaging/xml';
import { decodeJsonMessage } from '@onebill/messaging/canonical';
import { type WireSettlement, toWire } from '@onebill/messaging/wire';
import { type Hospital, RuleBook, RuleSetError, readAccumulators } from '@onebill/rules';

/** A problem with a bill or an input, as the CLI prints it. */
export interface Problem {
  code: string;
  field: string | null;
  rule: string;
  message: string;
}

/** Operator input that stops the run (exit 2): every problem, one line each. */
export class InputProblems extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => p.message).join('\n'));
    this.name = 'InputProblems';
  }
}

/** RuleSetError → one Problem per line it holds. */
export function problemsOf(e: RuleSetError): Problem[] {
  // each line names its own file and field
  return e.problems.map((message) => ({
    code: e.code,
    field: null,
    rule: 'contracts/ JSON Schema and the rule set’s names',
    message,
  }));
}

/** The rule book with the operator's figures files (--params), every problem at once. */
export function loadBook(params: string[]): RuleBook {
  try {
    return RuleBook.load({
      figuresFiles: params,
      figuresDir: process.env.ONEBILL_FIGURES_DIR || undefined,
      registryFile: process.env.ONEBILL_REGISTRY || undefined,
    });
  } catch (e) {
    if (e instanceof RuleSetError) throw new InputProblems(problemsOf(e));
    throw e;
  }
}

export function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputProblems([
      {
        code: 'CANNOT_READ',
        field: what,
        rule: 'a readable file',
        message: `${path}: ${(e as Error).message}`,
      },
    ]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputProblems([
      {
        code: 'INVALID_JSON',
        field: what,
        rule: 'JSON',
        message: `${path}: ${(e as Error).message}`,
      },
    ]);
  }
}

export interface Settled {
  result: SettlementResult;
  wire: WireSettlement;
  hospital: Hospital | undefined;
}

/** The region a bill is settled under: --region, or the hospital's in the registry. */
function regionOf(book: RuleBook, bill: Bill, region: string | undefined): string {
  const r = region ?? book.hospital(bill.fixmedinsCode)?.region;
  if (r === undefined) {
    throw new EngineError(
      'UNKNOWN_HOSPITAL',
      'fixmedins_code',
      'a designated institution in the registry (config/hospitals.json), or --region',
      `${bill.fixmedinsCode} is not in the registry of designated institutions`,
    );
  }
  return r;
}

/**
 * Settles one decoded bill from `position` (or a fresh year). `ytd` is an operator's position
 * document, checked against the schema and the rule set's names before use.
 */
export function settleBill(
  book: RuleBook,
  bill: Bill,
  opts: { region?: string; position?: Accumulators; ytd?: unknown; ytdLabel?: string },
): Settled {
  const region = regionOf(book, bill, opts.region);
  const resolved = book.resolve(region, bill.dischargeDate);
  const year = Number.parseInt(bill.dischargeDate.slice(0, 4), 10);
  const accumulators =
    opts.position ??
    (opts.ytd === undefined
      ? emptyAccumulators(year)
      : readAccumulators(opts.ytd, resolved, year, opts.ytdLabel ?? 'ytd'));
  const result = settle({ bill, accumulators, ruleSet: compiled(resolved) });
  const hospital = book.hospital(bill.fixmedinsCode);
  const wire = toWire(result, envelopeOf(bill, hospital));
  return { result, wire, hospital };
}

export function envelopeOf(bill: Bill, hospital: Hospital | undefined) {
  return {
    setlId: `PREVIEW-${bill.fixmedinsCode}-${bill.mdtrtId}`,
    fixmedinsCode: bill.fixmedinsCode,
    mdtrtId: bill.mdtrtId,
    psnNo: bill.psnNo,
    clrOptins: hospital?.admdvs ?? '',
    setlTime: `${bill.dischargeDate} 00:00:00`,
  };
}

// ------------------------------------------------------------------------------------ batch

/** One discharge of a batch: where it came from and its raw text (XML, or the JSON form). */
export interface BatchItem {
  source: string;
  raw: string;
  json: boolean;
}

/**
 * The discharges of `path`: an NDJSON file (one `{"discharge": {…}}` per line, the HTTP API's JSON
 * form; blank lines skipped), or a directory of *.xml files taken in name order.
 */
export function batchItems(path: string): BatchItem[] {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new InputProblems([
      {
        code: 'CANNOT_READ',
        field: 'batch',
        rule: 'a readable file or directory',
        message: `${path}: ${(e as Error).message}`,
      },
    ]);
  }
  if (isDir) {
    return readdirSync(path)
      .filter((f) => f.toLowerCase().endsWith('.xml'))
      .sort()
      .map((f) => ({ source: f, raw: readFileSync(join(path, f), 'utf8'), json: false }));
  }
  const name = basename(path);
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((line, i) => ({ source: `${name}:${i + 1}`, raw: line, json: true }))
    .filter((x) => x.raw.trim() !== '');
}

/** One line of the batch output. */
export type BatchLine =
  | ({ source: string; ok: true } & WireSettlement)
  | { source: string; ok: false; mdtrt_id?: string; psn_no?: string; errors: Problem[] };

export interface BatchSummary {
  bills: number;
  settled: number;
  rejected: number;
  persons: number;
  /** sums over the settled bills, in the national platform's names */
  totals: Record<
    | 'medfee_sumamt'
    | 'hifp_pay'
    | 'hifmi_pay'
    | 'oth_pay'
    | 'maf_pay'
    | 'fund_pay_sumamt'
    | 'psn_cash_pay',
    string
  >;
  rule_set_versions: string[];
  /** each person's position after the batch, by psn_no then year */
  positions: Record<string, Record<string, Accumulators>>;
}

function decodeItem(item: BatchItem): { bill: Bill } | { errors: Problem[] } {
  const raw = item.raw;
  if (item.json) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw) as unknown;
    } catch (e) {
      return {
        errors: [
          {
            code: 'INVALID_JSON',
            field: null,
            rule: 'one JSON object per line',
            message: (e as Error).message,
          },
        ],
      };
    }
    // the JSON tree decoded by the one decoder, never turned into XML (issue 12)
    const j = decodeJsonMessage(parsed, { expect: 'discharge' });
    if (j.ok && j.message.kind === 'discharge') return { bill: j.message.bill };
    if (j.ok || (j.errors[0]?.code === 'WRONG_ROOT' && j.errors[0].field === '(message)')) {
      return {
        errors: [
          {
            code: 'WRONG_ROOT',
            field: null,
            rule: '{"discharge": {…}}',
            message: 'a line must be {"discharge": {…}}',
          },
        ],
      };
    }
    return { errors: j.errors.map((e: DecodeError) => ({ ...e })) };
  }
  const d = decodeDischarge(raw);
  if (!d.ok) return { errors: d.errors.map((e: DecodeError) => ({ ...e })) };
  return { bill: d.bill };
}

/**
 * Settles the items in order, each person's position carried from bill to bill (per calendar
 * year). `ytd` optionally gives starting positions by psn_no (each checked like --ytd). A bill
 * that cannot be settled is reported on its line and changes nobody's position; a second bill with
 * the same fixmedins_code + mdtrt_id is refused (a bill is settled at most once).
 */
export function settleBatch(
  book: RuleBook,
  items: Iterable<BatchItem>,
  opts: { region?: string; ytd?: Record<string, unknown> } = {},
  onLine: (line: BatchLine) => void = () => undefined,
): BatchSummary {
  const positions = new Map<string, Map<number, Accumulators>>();
  const seen = new Set<string>();
  const versions = new Set<string>();
  const sums = {
    medfee_sumamt: 0,
    hifp_pay: 0,
    hifmi_pay: 0,
    oth_pay: 0,
    maf_pay: 0,
    fund_pay_sumamt: 0,
    psn_cash_pay: 0,
  };
  let bills = 0;
  let settled = 0;
  for (const item of items) {
    bills += 1;
    const d = decodeItem(item);
    if ('errors' in d) {
      onLine({ source: item.source, ok: false, errors: d.errors });
      continue;
    }
    const bill = d.bill;
    const who = { mdtrt_id: bill.mdtrtId, psn_no: bill.psnNo };
    const key = `${bill.fixmedinsCode}\u0000${bill.mdtrtId}`;
    if (seen.has(key)) {
      onLine({
        source: item.source,
        ok: false,
        ...who,
        errors: [
          {
            code: 'DUPLICATE_BILL',
            field: 'mdtrt_id',
            rule: 'a bill (fixmedins_code + mdtrt_id) is settled at most once',
            message: `${bill.fixmedinsCode} ${bill.mdtrtId} was settled earlier in this batch`,
          },
        ],
      });
      continue;
    }
    const year = Number.parseInt(bill.dischargeDate.slice(0, 4), 10);
    const mine = positions.get(bill.psnNo) ?? new Map<number, Accumulators>();
    const position = mine.get(year);
    const given = position === undefined ? opts.ytd?.[bill.psnNo] : undefined;
    try {
      const s = settleBill(book, bill, {
        ...(opts.region !== undefined ? { region: opts.region } : {}),
        ...(position !== undefined ? { position } : {}),
        ...(given !== undefined ? { ytd: given, ytdLabel: `ytd.${bill.psnNo}` } : {}),
      });
      seen.add(key);
      mine.set(year, s.result.accumulators);
      positions.set(bill.psnNo, mine);
      versions.add(s.result.ruleSetVersion);
      settled += 1;
      const si = s.wire.setlinfo;
      for (const k of Object.keys(sums) as (keyof typeof sums)[]) {
        sums[k] += parseFen(si[k], k);
      }
      onLine({ source: item.source, ok: true, ...s.wire });
    } catch (e) {
      const errors =
        e instanceof EngineError
          ? [{ code: e.code, field: e.field, rule: e.rule, message: e.message }]
          : e instanceof RuleSetError
            ? problemsOf(e)
            : null;
      if (errors === null) throw e;
      onLine({ source: item.source, ok: false, ...who, errors });
    }
  }
  const totals = Object.fromEntries(
    Object.entries(sums).map(([k, v]) => [k, formatFen(v)]),
  ) as BatchSummary['totals'];
  const out: BatchSummary['positions'] = {};
  for (const psn of [...positions.keys()].sort()) {
    const byYear = positions.get(psn) as Map<number, Accumulators>;
    out[psn] = Object.fromEntries(
      [...byYear].sort(([a], [b]) => a - b).map(([y, a]) => [String(y), a]),
    );
  }
  return {
    bills,
    settled,
    rejected: bills - settled,
    persons: positions.size,
    totals,
    rule_set_versions: [...versions].sort(),
    positions: out,
  };
}

/** The --ytd document of a batch: starting positions by psn_no. */
export function batchPositions(data: unknown, file: string): Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new InputProblems([
      {
        code: 'INVALID_ACCUMULATORS',
        field: 'ytd',
        rule: 'batch --ytd: { "<psn_no>": { accumulators } }',
        message: `${file}: must be an object of positions by psn_no`,
      },
    ]);
  }
  return data as Record<string, unknown>;
}
