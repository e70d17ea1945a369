/**
 * npm run settle -- <discharge.xml> [--params <yearly-figures.json>]… [--ytd <accumulators.json>] [--region <r>] [--xml]
 * npm run settle -- --batch <bills.ndjson | dir-of-xml> [--params …]… [--ytd <positions.json>] [--region <r>]
 *
 * One discharge: prints the one bill (JSON, or XML with --xml). A batch: settles the bills in
 * order in one process, carrying each person's year-to-date position from bill to bill, and
 * prints one JSON result per line, then a last line `{"summary": …}` (totals, persons, each
 * person's position). Nothing is stored.
 *
 * Every operator file (--params, --ytd, the rule sets, the registry) is checked against its JSON
 * Schema in contracts/ and the rule set's own names first: exit 2 with one line per problem.
 * A bill that cannot be settled: exit 2 (one bill) or 1 (a batch, the bill's line says why).
 * A missing or wrong option, or a file or folder that cannot be read: one line naming it, exit 2
 * (scripts/cli-input.ts). --help prints the usage (exit 0).
 */
import { readFileSync } from 'node:fs';
import { EngineError } from '@onebill/engine';
import { decodeDischarge, encodeSettlementResultXml } from '@onebill/messaging/xml';
import { RuleSetError } from '@onebill/rules';
import {
  InputProblems,
  type Problem,
  batchItems,
  batchPositions,
  envelopeOf,
  loadBook,
  problemsOf,
  readJson,
  settleBatch,
  settleBill,
} from './settle-lib';
import { BAD_INPUT, exitOnBadInput } from './cli-input';

const USAGE = `usage: npm run settle -- <discharge.xml> [--params <yearly-figures.json>]… [--ytd <accumulators.json>] [--region <region>] [--xml]
       npm run settle -- --batch <bills.ndjson|dir-of-xml> [--params <yearly-figures.json>]… [--ytd <positions-by-psn_no.json>] [--region <region>]`;

interface Args {
  file: string;
  batch?: string;
  params: string[];
  ytd?: string;
  region?: string;
  xml: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const args: Args = { file: '', params: [], xml: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--params') args.params.push(value());
    else if (a === '--ytd') args.ytd = value();
    else if (a === '--region') args.region = value();
    else if (a === '--batch') args.batch = value();
    else if (a === '--xml') args.xml = true;
    else if (a === '--help' || a === '-h') throw new UsageError('');
    else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else if (args.file === '') args.file = a;
    else throw new UsageError(`unexpected argument ${a}`);
  }
  if (args.batch !== undefined) {
    if (args.file !== '') throw new UsageError('give a discharge file or --batch, not both');
    if (args.xml) throw new UsageError('--xml is for one discharge; a batch prints JSON lines');
  } else if (args.file === '') throw new UsageError('the discharge XML file is missing');
  return args;
}

function fail(problems: Problem[]): never {
  for (const p of problems) {
    process.stderr.write(
      `error ${p.code}: ${p.field === null ? '' : `${p.field}: `}${p.message} [rule: ${p.rule}]\n`,
    );
  }
  process.exit(2);
}

function one(args: Args): void {
  let text: Buffer;
  try {
    text = readFileSync(args.file);
  } catch (e) {
    return fail([
      {
        code: 'CANNOT_READ',
        field: 'discharge',
        rule: 'a readable file',
        message: `${args.file}: ${(e as Error).message}`,
      },
    ]);
  }
  const decoded = decodeDischarge(text);
  if (!decoded.ok) fail(decoded.errors);
  const bill = decoded.bill;
  const book = loadBook(args.params);
  const s = settleBill(book, bill, {
    ...(args.region !== undefined ? { region: args.region } : {}),
    ...(args.ytd !== undefined ? { ytd: readJson(args.ytd, 'ytd') } : {}),
  });
  if (args.xml) {
    const xml = encodeSettlementResultXml(s.result, envelopeOf(bill, s.hospital));
    process.stdout.write(`${xml}\n`);
  } else {
    const out = { ...s.wire, accumulators: s.result.accumulators };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  }
}

function batch(args: Args): number {
  const book = loadBook(args.params);
  const ytd =
    args.ytd === undefined ? undefined : batchPositions(readJson(args.ytd, 'ytd'), args.ytd);
  const items = batchItems(args.batch as string);
  const started = process.hrtime.bigint();
  const summary = settleBatch(
    book,
    items,
    {
      ...(args.region !== undefined ? { region: args.region } : {}),
      ...(ytd !== undefined ? { ytd } : {}),
    },
    (line) => process.stdout.write(`${JSON.stringify(line)}\n`),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(`${JSON.stringify({ summary })}\n`);
  process.stderr.write(
    `settled ${summary.settled} of ${summary.bills} bills (${summary.rejected} rejected) for ${summary.persons} persons in ${seconds.toFixed(2)} s; funds ${summary.totals.fund_pay_sumamt}, patients ${summary.totals.psn_cash_pay}\n`,
  );
  return summary.rejected === 0 ? 0 : 1;
}

function main(): void {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      if (e.message === '') {
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
      }
      process.stderr.write(`error: ${e.message} (usage: npm run settle -- --help)\n`);
      process.exit(BAD_INPUT);
    }
    throw e;
  }
  try {
    if (args.batch !== undefined) process.exit(batch(args));
    one(args);
  } catch (e) {
    if (e instanceof InputProblems) fail(e.problems);
    if (e instanceof EngineError)
      fail([{ code: e.code, field: e.field, rule: e.rule, message: e.message }]);
    if (e instanceof RuleSetError) fail(problemsOf(e));
    exitOnBadInput(e, args.batch !== undefined ? '--batch' : undefined);
    throw e;
  }
}

main();
