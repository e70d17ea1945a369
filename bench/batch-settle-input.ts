/**
 * npm exec -- tsx bench/batch-settle-input.ts [--bills 1000] [--persons 200] [--seed 7] [--year 2024] > bills.ndjson
 *
 * The input of `npm run settle -- --batch` for timing it (bench/README.md, "settle --batch"): the
 * HIS simulator's bills (apps/his-simulator/src/generate.ts: every hospital of the registry, every
 * visit type and category, both insurance types), deterministic for a seed, one discharge a line in
 * the HTTP API's JSON form. Persons repeat across bills, so positions are carried.
 */
import type { Bill } from '@onebill/engine';
import { dischargeElements } from '@onebill/messaging';
import { RuleBook } from '@onebill/rules';
import { BillGenerator, hospitalRefs } from '../apps/his-simulator/src/generate';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`error: --${name} needs a positive integer\n`);
    process.exit(2);
  }
  return v;
}

/** The JSON form of a discharge: the XML's elements, without the root's version attribute. */
function jsonForm(b: Bill): { discharge: Record<string, unknown> } {
  const { '@_version': _version, ...elements } = dischargeElements(b);
  return { discharge: elements };
}

const gen = new BillGenerator({
  seed: option('seed', 7),
  year: option('year', 2024),
  hospitals: hospitalRefs(RuleBook.load()),
  persons: option('persons', 200),
});
const n = option('bills', 1000);
const lines: string[] = [];
for (let i = 0; i < n; i++) lines.push(JSON.stringify(jsonForm(gen.bill())));
process.stdout.write(`${lines.join('\n')}\n`);
