/**
 * npm run bench -- <engine|e2e|replay> [options]
 *
 * One entry point for the benchmarks: runs the named one's npm script with the options.
 * Benchmarks print figures and assert nothing (bench/README.md).
 */
import { spawnSync } from 'node:child_process';

const NAMES = ['engine', 'e2e', 'replay'] as const;
const [name, ...rest] = process.argv.slice(2);
if (name === undefined || !(NAMES as readonly string[]).includes(name)) {
  process.stderr.write(
    `usage: npm run bench -- <${NAMES.join('|')}> [options]\n` +
      `  engine  the engine alone          (--bills N --seconds S)\n` +
      `  e2e     the gateway end to end    (--bills N --rate R --seconds S …)\n` +
      `  replay  audit replay from the archive (--bills N --page P --keep-db)\n`,
  );
  process.exit(64);
}
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const r = spawnSync(npm, ['run', '--silent', `bench:${name}`, '--', ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);
