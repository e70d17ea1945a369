/**
 * npm run bench:engine [-- --bills N --seconds S]
 *
 * Bills per second for the engine alone (no XML, no I/O), on one core, over a mix of both regions,
 * every visit type and category, threading each person's accumulators through their bills as the
 * gateway does. Prints peak memory. Not a test: it asserts nothing, it measures.
 */
import {
  type Accumulators,
  type Bill,
  compiled,
  emptyAccumulators,
  parseFen,
  settle,
} from '@onebill/engine';
import type { CompiledRuleSet } from '@onebill/engine';
import { RuleBook } from '@onebill/rules';
import { BillGenerator } from '../apps/his-simulator/src/generate';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number.parseInt(process.argv[i + 1] ?? '', 10) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const nBills = arg('bills', 200_000);
const seconds = arg('seconds', 10);
const year = 2024;

const book = RuleBook.load();
const hospitals = book
  .allHospitals()
  .map((h) => ({ code: h.fixmedins_code, level: h.level, region: h.region }));
const gen = new BillGenerator({
  seed: 20241124,
  year,
  hospitals,
  persons: Math.max(1000, nBills / 8),
});
const bills: Bill[] = Array.from({ length: nBills }, () => gen.bill());
const regionOf = new Map(hospitals.map((h) => [h.code, h.region]));
const ruleSets = new Map<string, CompiledRuleSet>();
for (const region of book.regions())
  ruleSets.set(region, compiled(book.resolve(region, `${year}-06-30`)));

let peakRss = process.memoryUsage().rss;
const sample = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

function pass(): { n: number; ms: number; cash: number } {
  const acc = new Map<string, Accumulators>();
  let cash = 0;
  const t0 = process.hrtime.bigint();
  for (const bill of bills) {
    const rs = ruleSets.get(regionOf.get(bill.fixmedinsCode) as string) as CompiledRuleSet;
    const r = settle({
      bill,
      accumulators: acc.get(bill.psnNo) ?? emptyAccumulators(year),
      ruleSet: rs,
    });
    acc.set(bill.psnNo, r.accumulators);
    cash += parseFen(r.setlinfo.psnCashPay, 'psn_cash_pay');
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { n: bills.length, ms, cash };
}

console.log(
  `engine bench: ${nBills.toLocaleString()} bills (both regions, med types 11/13/14/21, categories incl. none and several), node ${process.version}, one core`,
);
pass(); // warm-up: lets the JIT settle
const runs: number[] = [];
const deadline = Date.now() + seconds * 1000;
let checksum = 0;
while (Date.now() < deadline || runs.length < 3) {
  const r = pass();
  runs.push((r.n / r.ms) * 1000);
  checksum = r.cash;
  process.stdout.write(
    `  run ${runs.length}: ${Math.round((r.n / r.ms) * 1000).toLocaleString()} bills/s\n`,
  );
}
clearInterval(sample);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
runs.sort((a, b) => a - b);
const median = runs[Math.floor(runs.length / 2)] as number;
console.log(
  `median ${Math.round(median).toLocaleString()} bills/s over ${runs.length} runs (best ${Math.round(runs[runs.length - 1] as number).toLocaleString()})`,
);
console.log(
  `peak RSS ${(peakRss / 1048576).toFixed(0)} MiB (includes the ${nBills.toLocaleString()} generated bills held in memory); heap used ${(process.memoryUsage().heapUsed / 1048576).toFixed(0)} MiB`,
);
console.log(`checksum: patients' cash ${checksum} fen (same seed ⇒ same figure)`);
