/**
 * The ledger's writers alone, on the shared PostgreSQL: N bills settled (inbox, person lock,
 * settlement, position, event, inbox status; the handler of libs/ledger/src/testing/
 * group-commit-scenario.ts, no parsing, no engine) one message per transaction as the intake does
 * today, and through the UnitOfWork in batches of B messages per transaction, on L lanes at once.
 * Measures and prints; asserts nothing (bench/README.md, "Group commit knobs").
 *
 *   npx tsx bench/ledger-writers.bench.ts [--bills 1000] [--people 300] [--sizes 1,10,50,100,250,500,1000] [--lanes 1,2,4,8]
 *
 * DATABASE_URL names the server (default postgres://postgres@127.0.0.1:5432/postgres); a database
 * of its own is created per run and dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { PgDb, migrate } from '@onebill/ledger';
import {
  type ScenarioMessage,
  settleAsBatch,
  settleOneByOne,
} from '@onebill/ledger/testing/group-commit-scenario';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const bills = Number(arg('bills', '1000'));
const people = Number(arg('people', '300'));
const sizes = arg('sizes', '1,10,50,100,250,500,1000').split(',').map(Number);
const laneCounts = arg('lanes', '1,2,4,8').split(',').map(Number);
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let offset = 0;
/** N new bills over `people` persons, a few of them resent (duplicates), in publication order. */
function workload(n: number): ScenarioMessage[] {
  const run = randomBytes(3).toString('hex');
  return Array.from({ length: n }, (_v, i) => ({
    offset: (offset += 1),
    psnNo: `P-${run}-${i % people}`,
    mdtrtId: `V-${run}-${i % 97 === 96 ? i - 1 : i}`,
  }));
}

/** Messages by lane (by person, as the Kafka intake chooses lanes), then cut in batches. */
function lanesOf(messages: ScenarioMessage[], lanes: number): ScenarioMessage[][] {
  const out: ScenarioMessage[][] = Array.from({ length: lanes }, () => []);
  for (const m of messages) {
    let h = 0;
    for (let i = 0; i < m.psnNo.length; i++) h = (Math.imul(h, 31) + m.psnNo.charCodeAt(i)) >>> 0;
    out[h % lanes]?.push(m);
  }
  return out;
}

async function commitsSoFar(db: PgDb): Promise<number> {
  // transactions committed in this database (pg_stat_database; the counter lags by up to a
  // stats flush): one per batch, or one per bill
  const { rows } = await db.query<{ n: string }>(
    'SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(rows[0]?.n ?? 0);
}

interface Row {
  way: string;
  size: number | string;
  lanes: number;
  bills: number;
  ms: number;
  billsPerSecond: number;
  statementsPerBill: number | string;
  commits: number;
}

async function main(): Promise<void> {
  const name = `onebill_writers_${Date.now()}_${randomBytes(2).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = PgDb.fromUrl(url.toString(), 16);
  const results: Row[] = [];
  try {
    await migrate(db);
    // warm the connections and the statement plans
    await settleOneByOne(db, workload(200));
    await settleAsBatch(db, workload(200));

    {
      const messages = workload(bills);
      const before = await commitsSoFar(db);
      const t0 = performance.now();
      await settleOneByOne(db, messages);
      const ms = performance.now() - t0;
      results.push({
        way: 'one message per transaction (today)',
        size: 1,
        lanes: 1,
        bills,
        ms,
        billsPerSecond: (bills / ms) * 1000,
        statementsPerBill: '~9',
        commits: (await commitsSoFar(db)) - before,
      });
    }
    for (const size of sizes) {
      const messages = workload(bills);
      let statements = 0;
      const before = await commitsSoFar(db);
      const t0 = performance.now();
      for (let i = 0; i < messages.length; i += size) {
        const run = await settleAsBatch(db, messages.slice(i, i + size));
        statements += run.stats.statements;
      }
      const ms = performance.now() - t0;
      results.push({
        way: 'unit of work, one lane',
        size,
        lanes: 1,
        bills,
        ms,
        billsPerSecond: (bills / ms) * 1000,
        statementsPerBill: Number((statements / bills).toFixed(3)),
        commits: (await commitsSoFar(db)) - before,
      });
    }
    const laneSize = Number(arg('lane-size', '250'));
    for (const lanes of laneCounts) {
      const messages = workload(bills);
      const before = await commitsSoFar(db);
      const t0 = performance.now();
      await Promise.all(
        lanesOf(messages, lanes).map(async (lane) => {
          for (let i = 0; i < lane.length; i += laneSize)
            await settleAsBatch(db, lane.slice(i, i + laneSize));
        }),
      );
      const ms = performance.now() - t0;
      results.push({
        way: `unit of work, ${lanes} lanes at once`,
        size: laneSize,
        lanes,
        bills,
        ms,
        billsPerSecond: (bills / ms) * 1000,
        statementsPerBill: '',
        commits: (await commitsSoFar(db)) - before,
      });
    }
  } finally {
    await db.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.end();
  }
  console.table(
    results.map((r) => ({
      way: r.way,
      'batch size': r.size,
      lanes: r.lanes,
      bills: r.bills,
      ms: Math.round(r.ms),
      'bills/s': Math.round(r.billsPerSecond),
      'statements/bill': r.statementsPerBill,
      commits: r.commits,
    })),
  );
  console.log(JSON.stringify({ bench: 'ledger-writers', bills, people, results }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
