/**
 * npm run bench:replay -- [--bills 1000000] [--page 2000] [--workers N] [--keep-db] [--seed 7]
 *
 * Audit replay speed: bills re-computed from the archive per second, on PostgreSQL.
 *
 * 1. Finds or starts PostgreSQL as the integration tests do (DATABASE_URL, Testcontainers, or a
 *    fresh database on the local server, dropped at the end unless --keep-db).
 * 2. Migrates, and when the ledger holds fewer than --bills settlements, settles the missing
 *    ones straight into the ledger with the engine (libs/audit seedLedger: the simulator's bills,
 *    archived by the same triggers as in production). Seeding is timed apart and not counted.
 *    To measure again without seeding: --keep-db, then DATABASE_URL=<printed url>.
 * 3. Seals the archive, then runs the audit replay over everything, printing progress; reports
 *    bills/s, matched/differing, the process's peak RSS and heap. `--workers N` (N ≥ 2) recomputes
 *    the bills in N worker threads, the persons split between them (auditReplay's `workers`).
 *
 * It measures and prints; it asserts nothing (a difference is printed, not thrown).
 */
import { RuleBook } from '@onebill/rules';
import { ArchiveSealer, PgDb, migrate } from '@onebill/ledger';
import { auditReplay } from '@onebill/audit';
import { seedLedger } from '@onebill/audit/testing/seed';
import { encodeDischargeXml } from '@onebill/messaging';
import { BillGenerator, type HospitalRef } from '../apps/his-simulator/src/generate';
import { providePostgres, redact } from '../test/support/postgres';

function arg(name: string, fallback: number, min = 1): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} needs a whole number ≥ ${min}`);
  return v;
}

const mib = (bytes: number): string => `${Math.round(bytes / 1024 / 1024)} MiB`;

async function main(): Promise<void> {
  const bills = arg('bills', 1_000_000);
  const page = arg('page', 2000);
  const seed = arg('seed', 7);
  const workers = arg('workers', 0, 0);
  const keep = process.argv.includes('--keep-db');
  const pg = await providePostgres();
  console.log(`[bench:replay] PostgreSQL: ${pg.source} (${pg.redactedUrl})`);
  const db = PgDb.fromUrl(pg.url, 4);
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 200);
  try {
    await migrate(db);
    const rules = RuleBook.load();
    const { rows } = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM settlements');
    const have = Number(rows[0]!.n);
    if (have < bills) {
      const missing = bills - have;
      const hospitals: HospitalRef[] = rules
        .allHospitals()
        .map((h) => ({ code: h.fixmedins_code, level: h.level, region: h.region }));
      const gen = new BillGenerator({
        seed: seed + have,
        year: 2024,
        hospitals,
        persons: Math.max(1000, Math.floor(missing / 4)),
      });
      function* messages(): Generator<string> {
        for (let i = 0; i < missing; i += 1) yield encodeDischargeXml(gen.bill());
      }
      const t0 = Date.now();
      let last = t0;
      let done = 0;
      const chunk = 20_000;
      // in chunks so that progress shows and accumulators stay per chunk of persons' bills
      const all = messages();
      while (done < missing) {
        const part: string[] = [];
        for (let i = 0; i < chunk && done + part.length < missing; i += 1) {
          const n = all.next();
          if (n.done === true) break;
          part.push(n.value);
        }
        await seedLedger(db, rules, part, { pageSize: 1000, trusted: true });
        done += part.length;
        if (Date.now() - last > 5000 || done === missing) {
          last = Date.now();
          const s = (last - t0) / 1000;
          console.log(
            `[bench:replay] seeded ${done.toLocaleString('en')}/${missing.toLocaleString('en')} in ${s.toFixed(0)} s (${Math.round(done / s).toLocaleString('en')} bills/s)`,
          );
        }
      }
      console.log(`[bench:replay] sealing the archive…`);
      const ts = Date.now();
      const sealed = await new ArchiveSealer(db, 20_000).sealNow(100, 3_600_000);
      console.log(
        `[bench:replay] sealed ${sealed.toLocaleString('en')} archive entries in ${((Date.now() - ts) / 1000).toFixed(0)} s`,
      );
      await db.query('ANALYZE');
    } else {
      console.log(
        `[bench:replay] the ledger already holds ${have.toLocaleString('en')} settlements`,
      );
    }
    peakRss = process.memoryUsage().rss;
    const heapBefore = process.memoryUsage().heapUsed;
    console.log(
      `[bench:replay] replaying (page ${page}, ${workers > 1 ? `${workers} worker threads` : 'one thread'})…`,
    );
    let lastPrint = 0;
    const report = await auditReplay(
      db,
      rules,
      {},
      {
        pageSize: page,
        workers,
        onProgress: (p) => {
          if (Date.now() - lastPrint < 5000 && p.done !== p.total) return;
          lastPrint = Date.now();
          console.log(
            `[bench:replay]   ${p.done.toLocaleString('en')}/${p.total.toLocaleString('en')} · ${p.rate.toLocaleString('en')} bills/s · RSS ${mib(process.memoryUsage().rss)}`,
          );
        },
      },
    );
    clearInterval(sampler);
    console.log('');
    console.log('## bench:replay');
    console.log(`bills replayed      ${report.total.toLocaleString('en')}`);
    console.log(`matched             ${report.matched.toLocaleString('en')}`);
    console.log(`differing / failed  ${report.differing} / ${report.failed}`);
    console.log(`seconds             ${report.seconds.toFixed(1)}`);
    console.log(`worker threads      ${workers > 1 ? workers : 'none (this thread)'}`);
    console.log(
      `bills/s             ${report.billsPerSecond.toLocaleString('en')}  (target ≥ 20,000)`,
    );
    console.log(`peak RSS (replay)   ${mib(peakRss)}`);
    console.log(`heap before / after ${mib(heapBefore)} / ${mib(process.memoryUsage().heapUsed)}`);
    if (report.differences.length > 0) {
      console.log('first differences:', JSON.stringify(report.differences.slice(0, 3), null, 2));
    }
  } finally {
    clearInterval(sampler);
    await db.close();
    if (keep) console.log(`[bench:replay] kept: DATABASE_URL=${redact(pg.url)}`);
    else await pg.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
