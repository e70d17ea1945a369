/**
 * The auditor's and the agency's command line (issue 5). Reads the ledger; writes nothing to it
 * except `archive seal` (which only extends the hash chain) and never publishes to Kafka.
 *
 *   npm run audit:cli -- archive verify [--against HEADS_FILE|kafka:TOPIC] [--public-key PEM]
 *   npm run audit:cli -- archive seal      (publishes the head: ARCHIVE_HEADS_KEY_FILE,
 *                                           ARCHIVE_HEADS_FILE, KAFKA_BROKERS)
 *   npm run audit:cli -- replay [filters] [--format json|csv] [--out FILE]
 *   npm run audit:cli -- what-if --rules DIR [--figures FILE]… [filters] [--format json|csv]
 *   npm run audit:cli -- kafka-replay --topic T [--from-offset N] [--to-offset N]
 *                        [--from-time ISO] [--to-time ISO] [--brokers host:port,…]
 *   npm run audit:cli -- reconcile --file declaration.xml|declaration.csv [--format json|csv]
 *   npm run audit:cli -- clearing --county ADMDVS (--month YYYY-MM | --year YYYY) [--format]
 *   npm run audit:cli -- funds --region panzhihua|baoshan|jilin-example --year YYYY [--format json|csv]
 *   npm run audit:cli -- funds --spending FILE [--region R --year YYYY] [--format json|csv]
 *                        (spending per county given, contracts/funds/spending.v1.schema.json;
 *                         reads no ledger)
 *
 * filters: --from DATE --to DATE --hospital CODE --county ADMDVS --person PSN_NO --bill ID
 *          --status settled|reversed|all
 *
 * The store is the gateway's: DATABASE_URL, or the embedded PGlite in PGLITE_DIR (default
 * .data/pglite; one process at a time: stop the gateway or use its HTTP API). Progress goes to
 * stderr, the report to stdout or --out. Exit 0: clean; 1: differences or broken links found;
 * 2: bad input — a missing or wrong option, a file or folder that cannot be read — in one line
 * naming the option or the file (scripts/cli-input.ts); 4: the store cannot be opened (in use by
 * another process, or damaged: the message says what to do). --help prints the usage (exit 0).
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import {
  type Progress,
  type ReconciliationReport,
  type ReplayFilter,
  DeclarationError,
  HeadPublisher,
  annualClearing,
  readHeadsFromKafka,
  annualClearingCsv,
  auditCsv,
  auditReplay,
  fundStatementGiven,
  fundStatementOf,
  fundYearFile,
  readSpending,
  spendingHeader,
  readFundYear,
  verifyCsv,
  kafkaRangeAudit,
  monthlyClearing,
  monthlyClearingCsv,
  parseCsvDeclarations,
  reconcile,
  reconciliationsCsv,
  fundStatementCsv,
  whatIfCsv,
  whatIfReplay,
} from '@onebill/audit';
import { FundInputError } from '@onebill/funds';
import {
  type AnchorReport,
  ArchiveSealer,
  type Db,
  HeadKeyError,
  HeadsFormatError,
  isStoreOpenError,
  type SignedHead,
  currentHead,
  loadHeadPublicKey,
  loadHeadSigningKey,
  openDb,
  parseHeadsText,
  verifyAgainstHeads,
  verifyArchive,
  withAnchor,
} from '@onebill/ledger';
import { KafkaClient, TOPIC_SPECS, decodeDeclaration } from '@onebill/messaging';
import { RuleBook, RuleSetError } from '@onebill/rules';
import { BAD_INPUT, badInputLine } from './cli-input';

const USAGE = `usage: npm run audit:cli -- <archive verify|archive seal|replay|what-if|kafka-replay|reconcile|clearing|funds> [options]
  see scripts/audit.ts and docs/audit.md`;

/** A missing or wrong option: one line naming it, exit 2; empty for --help (usage, exit 0). */
class UsageError extends Error {}

/** The usage error's one line: what is wrong, and where the usage is. */
const usageLine = (message: string): string =>
  `error: ${message} (usage: npm run audit:cli -- --help; docs/audit.md)`;
class InputError extends Error {}

type Opts = Map<string, string[]>;

function parse(argv: string[]): { words: string[]; opts: Opts } {
  const words: string[] = [];
  const opts: Opts = new Map();
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') throw new UsageError('');
    if (a.startsWith('--')) {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      opts.set(a.slice(2), [...(opts.get(a.slice(2)) ?? []), v]);
      i += 1;
    } else words.push(a);
  }
  return { words, opts };
}

/** The folders the environment names (the libraries read no environment themselves). */
const envDir = (name: string): string | undefined => process.env[name] || undefined;
const bookFromEnv = (): RuleBook =>
  RuleBook.load({
    figuresDir: envDir('ONEBILL_FIGURES_DIR'),
    registryFile: envDir('ONEBILL_REGISTRY'),
  });

const one = (o: Opts, k: string): string | undefined => o.get(k)?.at(-1);
const need = (o: Opts, k: string): string => {
  const v = one(o, k);
  if (v === undefined) throw new UsageError(`--${k} is required`);
  return v;
};

function filterOf(o: Opts): ReplayFilter {
  const f: ReplayFilter = {};
  for (const [k, key] of [
    ['from', 'from'],
    ['to', 'to'],
    ['hospital', 'hospital'],
    ['county', 'county'],
    ['person', 'person'],
    ['bill', 'bill'],
  ] as const) {
    const v = one(o, k);
    if (v !== undefined) f[key] = v;
  }
  const status = one(o, 'status');
  if (status !== undefined) {
    if (status !== 'settled' && status !== 'reversed' && status !== 'all') {
      throw new UsageError('--status is settled, reversed or all');
    }
    f.status = status;
  }
  return f;
}

function progress(label: string): (p: Progress) => void {
  const tty = process.stderr.isTTY;
  let lastPct = -1;
  return (p) => {
    const pct = p.total > 0 ? Math.floor((p.done * 100) / p.total) : 0;
    const line = `${label} ${p.done.toLocaleString('en')}${p.total > 0 ? `/${p.total.toLocaleString('en')} (${pct} %)` : ''} · ${p.rate.toLocaleString('en')} bills/s`;
    if (tty) process.stderr.write(`\r${line}   `);
    else if (pct >= lastPct + 10 || p.done === p.total) {
      lastPct = pct;
      process.stderr.write(`${line}\n`);
    }
  };
}

function emit(o: Opts, json: unknown, csv: () => string): void {
  const format = one(o, 'format') ?? 'json';
  if (format !== 'json' && format !== 'csv') throw new UsageError('--format is json or csv');
  const text = format === 'csv' ? csv() : `${JSON.stringify(json, null, 2)}\n`;
  const out = one(o, 'out');
  if (out !== undefined) writeFileSync(out, text);
  else process.stdout.write(text);
  if (process.stderr.isTTY) process.stderr.write('\n');
}

function brokersOf(o: Opts): string[] {
  return (one(o, 'brokers') ?? process.env.KAFKA_BROKERS ?? '').split(',').filter((b) => b !== '');
}

const stderrLog = {
  info: (msg: string, fields: Record<string, unknown>): void => {
    process.stderr.write(`${JSON.stringify({ level: 'info', msg, ...fields })}\n`);
  },
  warn: (msg: string, fields: Record<string, unknown>): void => {
    process.stderr.write(`${JSON.stringify({ level: 'warn', msg, ...fields })}\n`);
  },
};

/**
 * Seals what is committed and publishes the new head as the gateway does: signed with
 * ARCHIVE_HEADS_KEY_FILE, appended to ARCHIVE_HEADS_FILE, sent to audit.archive-heads.v1 when
 * KAFKA_BROKERS (or --brokers) is set, and logged to stderr.
 */
async function seal(db: Db, o: Opts): Promise<number> {
  const keyFile = process.env.ARCHIVE_HEADS_KEY_FILE || undefined;
  const file = process.env.ARCHIVE_HEADS_FILE || undefined;
  if (file !== undefined && keyFile === undefined) {
    throw new InputError('ARCHIVE_HEADS_FILE needs ARCHIVE_HEADS_KEY_FILE');
  }
  const key = keyFile === undefined ? null : loadHeadSigningKey(keyFile);
  const brokers = brokersOf(o);
  const client =
    brokers.length > 0
      ? new KafkaClient({ brokers, clientId: 'onebill-audit', logLevel: 'warn' })
      : null;
  const producer = client?.producer() ?? null;
  try {
    if (client !== null) await client.admin().ensureTopics(TOPIC_SPECS);
    await producer?.connect();
    const publisher = new HeadPublisher({ log: stderrLog, key, file: file ?? null, producer });
    const n = await new ArchiveSealer(db, undefined, async (h) => {
      await publisher.publish(h);
    }).sealNow();
    const head = await currentHead(db);
    process.stdout.write(`${JSON.stringify({ sealed: n, head })}\n`);
    return 0;
  } finally {
    await producer?.disconnect();
    await client?.close();
  }
}

/** The heads published earlier (a heads file, or kafka:<topic>) checked against the chain. */
async function anchor(db: Db, o: Opts, against: string): Promise<AnchorReport> {
  const keyFile = one(o, 'public-key');
  const publicKey = keyFile === undefined ? null : loadHeadPublicKey(keyFile);
  let heads: SignedHead[];
  if (against.startsWith('kafka:')) {
    const brokers = brokersOf(o);
    if (brokers.length === 0) throw new UsageError('--brokers or KAFKA_BROKERS is required');
    const client = new KafkaClient({ brokers, clientId: 'onebill-audit', logLevel: 'warn' });
    try {
      heads = await readHeadsFromKafka(client, against.slice('kafka:'.length) || undefined);
    } finally {
      await client.close();
    }
  } else {
    let text: string;
    try {
      text = readFileSync(against, 'utf8');
    } catch (e) {
      throw new InputError(`--against ${against}: ${e instanceof Error ? e.message : String(e)}`);
    }
    heads = parseHeadsText(text, against);
  }
  return verifyAgainstHeads(db, heads, { source: against, publicKey });
}

async function run(db: () => Promise<Db>, words: string[], o: Opts): Promise<number> {
  const [cmd, sub] = words;
  switch (cmd) {
    case 'archive': {
      if (sub === 'seal') return seal(await db(), o);
      if (sub !== 'verify') throw new UsageError('archive verify | archive seal');
      const chain = await verifyArchive(await db(), {
        onProgress: (n) => progress('verified')({ done: n, total: 0, rate: 0 }),
      });
      const against = one(o, 'against');
      const report =
        against === undefined ? chain : withAnchor(chain, await anchor(await db(), o, against));
      emit(o, report, () => verifyCsv(report));
      return report.ok ? 0 : 1;
    }
    case 'replay': {
      const rules = bookFromEnv();
      const filter = filterOf(o); // the options checked before the store is opened
      const report = await auditReplay(await db(), rules, filter, {
        onProgress: progress('replayed'),
      });
      emit(o, report, () => auditCsv(report));
      return report.differing + report.failed === 0 ? 0 : 1;
    }
    case 'what-if': {
      const dir = need(o, 'rules');
      if (!existsSync(dir) || !statSync(dir).isDirectory())
        throw new InputError(`--rules ${dir}: no such folder (a folder of rule-set JSON files)`);
      const whatIf = RuleBook.load({
        ruleSetDir: dir,
        figuresFiles: o.get('figures') ?? [],
      });
      const filter = filterOf(o);
      const report = await whatIfReplay(await db(), whatIf, filter, {
        onProgress: progress('what-if'),
      });
      emit(o, report, () => whatIfCsv(report));
      return 0;
    }
    case 'kafka-replay': {
      const brokers = (one(o, 'brokers') ?? process.env.KAFKA_BROKERS ?? '')
        .split(',')
        .filter((b) => b !== '');
      if (brokers.length === 0) throw new UsageError('--brokers or KAFKA_BROKERS is required');
      const time = (k: string): number | undefined => {
        const v = one(o, k);
        if (v === undefined) return undefined;
        const t = Date.parse(v);
        if (Number.isNaN(t)) throw new InputError(`--${k}: "${v}" is not a date-time`);
        return t;
      };
      const client = new KafkaClient({ brokers, clientId: 'onebill-audit', logLevel: 'warn' });
      const fromOffset = one(o, 'from-offset');
      const toOffset = one(o, 'to-offset');
      const fromTimestamp = time('from-time');
      const toTimestamp = time('to-time');
      try {
        const report = await kafkaRangeAudit(
          await db(),
          bookFromEnv(),
          client,
          {
            topic: one(o, 'topic') ?? 'his.discharge.v1',
            ...(fromOffset !== undefined ? { fromOffset } : {}),
            ...(toOffset !== undefined ? { toOffset } : {}),
            ...(fromTimestamp !== undefined ? { fromTimestamp } : {}),
            ...(toTimestamp !== undefined ? { toTimestamp } : {}),
          },
          { onProgress: progress('re-read') },
        );
        emit(o, report, () => auditCsv(report));
        return report.differing + report.failed === 0 ? 0 : 1;
      } finally {
        await client.close();
      }
    }
    case 'reconcile': {
      const file = need(o, 'file');
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new InputError(badInputLine(e, '--file')?.replace(/^error: /, '') ?? String(e));
      }
      let declarations;
      if (/\.csv$/i.test(file)) declarations = parseCsvDeclarations(text);
      else {
        const d = decodeDeclaration(text);
        if (!d.ok) {
          throw new InputError(d.errors.map((e) => `${e.field ?? '-'}: ${e.message}`).join('; '));
        }
        declarations = [d.declaration];
      }
      const reports: ReconciliationReport[] = [];
      for (const d of declarations) reports.push(await reconcile(await db(), d));
      emit(o, reports.length === 1 ? reports[0] : reports, () => reconciliationsCsv(reports));
      return reports.every((r) => r.matched) ? 0 : 1;
    }
    case 'clearing': {
      const county = need(o, 'county');
      const month = one(o, 'month');
      if (month !== undefined) {
        if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw new InputError('--month is YYYY-MM');
        const s = await monthlyClearing(await db(), county, month);
        emit(o, s, () => monthlyClearingCsv(s));
        return 0;
      }
      const year = Number(need(o, 'year'));
      if (!Number.isInteger(year)) throw new InputError('--year is YYYY');
      const s = await annualClearing(await db(), county, year);
      emit(o, s, () => annualClearingCsv(s));
      return 0;
    }
    case 'funds': {
      const spendingFile = one(o, 'spending');
      const header = spendingFile === undefined ? undefined : spendingHeader(spendingFile);
      const region = one(o, 'region') ?? header?.region ?? need(o, 'region');
      const year = one(o, 'year') ?? (header === undefined ? need(o, 'year') : String(header.year));
      const file = fundYearFile(region, year, envDir('ONEBILL_FUNDS_DIR') ?? null);
      const data = readFundYear(file);
      if (spendingFile !== undefined) {
        // what if spending were X: the statement of the given spending, no ledger read
        const s = fundStatementGiven(data, readSpending(spendingFile, data), spendingFile);
        emit(o, s, () => fundStatementCsv(s.statement.rows));
        return 0;
      }
      const s = await fundStatementOf(await db(), data);
      emit(o, s, () => fundStatementCsv(s.statement.rows));
      return 0;
    }
    case undefined:
      throw new UsageError('');
    default:
      throw new UsageError(`unknown command ${cmd}`);
  }
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parse(process.argv.slice(2));
  } catch (e) {
    if ((e as Error).message === '') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    process.stderr.write(`${usageLine((e as Error).message)}\n`);
    return BAD_INPUT;
  }
  // opened on first use: a command that reads no ledger (funds --spending) needs no store
  let opened: Promise<Db> | undefined;
  const db = (): Promise<Db> =>
    (opened ??= openDb({
      ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
      dataDir: process.env.PGLITE_DIR ?? '.data/pglite',
      poolSize: 2,
    }));
  try {
    return await run(db, parsed.words, parsed.opts);
  } catch (e) {
    if (e instanceof UsageError) {
      // no command at all: the usage, as bad input
      process.stderr.write(
        `${usageLine(e.message || `a command is required: ${USAGE.split('\n')[0]?.slice(7)}`)}\n`,
      );
      return BAD_INPUT;
    }
    if (isStoreOpenError(e)) {
      // the embedded store is locked for one process (the gateway's), or PostgreSQL cannot start
      // on it: one line with the holder's pid or the recovery command (docs/adr/0013)
      process.stderr.write(`error: ${e.message}\n`);
      return 4;
    }
    if (e instanceof FundInputError || e instanceof RuleSetError) {
      // one line per problem (a schema check reports them all)
      for (const p of e.problems) process.stderr.write(`error: ${p}\n`);
      return 2;
    }
    if (
      e instanceof InputError ||
      e instanceof DeclarationError ||
      e instanceof HeadKeyError ||
      e instanceof HeadsFormatError
    ) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    // a file or folder named on the command line that cannot be read (--figures, --public-key, …)
    const line = badInputLine(e);
    if (line !== null) {
      process.stderr.write(`${line}\n`);
      return BAD_INPUT;
    }
    throw e;
  } finally {
    // a store that failed to open has nothing to close (its error was reported above)
    if (opened !== undefined)
      await opened.then(
        (d) => d.close(),
        () => undefined,
      );
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(3);
  },
);
