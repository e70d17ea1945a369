/**
 * npm run settle -- <discharge.xml> [--params <yearly-figures.json>]… [--ytd <accumulators.json>] [--xml]
 *
 * Settles one discharge message with the engine and prints the one bill (JSON, or XML with --xml).
 * Nothing is stored. Bad input exits 2 and names the field and the rule it broke; a usage error
 * exits 64.
 */
import { readFileSync } from 'node:fs';
import {
  EngineError,
  accumulatorsFrom,
  compiled,
  emptyAccumulators,
  settle,
} from '@onebill/engine';
import { decodeDischarge, encodeSettlementResultXml } from '@onebill/messaging/xml';
import { toWire } from '@onebill/messaging/wire';
import { RuleBook, RuleSetError } from '@onebill/rules';

const USAGE = `usage: npm run settle -- <discharge.xml> [--params <yearly-figures.json>]… [--ytd <accumulators.json>] [--region <region>] [--xml]`;

interface Args {
  file: string;
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
    else if (a === '--xml') args.xml = true;
    else if (a === '--help' || a === '-h') throw new UsageError('');
    else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else if (args.file === '') args.file = a;
    else throw new UsageError(`unexpected argument ${a}`);
  }
  if (args.file === '') throw new UsageError('the discharge XML file is missing');
  return args;
}

interface Problem {
  code: string;
  field: string | null;
  rule: string;
  message: string;
}

function fail(problems: Problem[]): never {
  for (const p of problems) {
    process.stderr.write(
      `error ${p.code}: ${p.field ?? '(message)'}: ${p.message} [rule: ${p.rule}]\n`,
    );
  }
  process.exit(2);
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    return fail([
      {
        code: 'CANNOT_READ',
        field: what,
        rule: 'a readable file',
        message: `${path}: ${(e as Error).message}`,
      },
    ]);
  }
}

function main(): void {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      if (e.message !== '') process.stderr.write(`${e.message}\n`);
      process.stderr.write(`${USAGE}\n`);
      process.exit(e.message === '' ? 0 : 64);
    }
    throw e;
  }

  const decoded = decodeDischarge(readFile(args.file, 'discharge'));
  if (!decoded.ok) fail(decoded.errors);
  const bill = decoded.bill;

  try {
    const book = RuleBook.load({ figuresFiles: args.params });
    const hospital = book.hospital(bill.fixmedinsCode);
    const region = args.region ?? hospital?.region;
    if (region === undefined) {
      fail([
        {
          code: 'UNKNOWN_HOSPITAL',
          field: 'fixmedins_code',
          rule: 'a designated institution in the registry (config/hospitals.json), or --region',
          message: `${bill.fixmedinsCode} is not in the registry of designated institutions`,
        },
      ]);
    }
    const year = Number.parseInt(bill.dischargeDate.slice(0, 4), 10);
    const accumulators =
      args.ytd === undefined
        ? emptyAccumulators(year)
        : accumulatorsFrom(JSON.parse(readFile(args.ytd, 'ytd').toString('utf8')) as unknown, year);
    const result = settle({
      bill,
      accumulators,
      ruleSet: compiled(book.resolve(region, bill.dischargeDate)),
    });
    const envelope = {
      setlId: `PREVIEW-${bill.fixmedinsCode}-${bill.mdtrtId}`,
      fixmedinsCode: bill.fixmedinsCode,
      mdtrtId: bill.mdtrtId,
      psnNo: bill.psnNo,
      clrOptins: hospital?.admdvs ?? '',
      setlTime: `${bill.dischargeDate} 00:00:00`,
    };
    if (args.xml) {
      process.stdout.write(`${encodeSettlementResultXml(result, envelope)}\n`);
    } else {
      const out = { ...toWire(result, envelope), accumulators: result.accumulators };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    }
  } catch (e) {
    if (e instanceof EngineError)
      fail([{ code: e.code, field: e.field, rule: e.rule, message: e.message }]);
    if (e instanceof RuleSetError)
      fail([
        { code: e.code, field: e.field, rule: 'rule sets and yearly figures', message: e.message },
      ]);
    if (e instanceof SyntaxError)
      fail([{ code: 'INVALID_JSON', field: 'ytd', rule: 'JSON', message: e.message }]);
    throw e;
  }
}

main();
