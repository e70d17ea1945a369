#!/usr/bin/env node
// npm start / npm run start:county: install what is missing, build only what changed (tsc
// incremental: a start with nothing changed skips the 48 s full build), then run the app. Each step
// says what it does, so a first start on a fresh clone is never minutes of silence.
//
//   node scripts/start.js [gateway|county-payments]
const { spawn } = require('node:child_process');
const { existsSync, readdirSync, statSync, utimesSync } = require('node:fs');
const { join } = require('node:path');
const { ensureDeps, runWithHeartbeat } = require('./ensure-deps');

const APPS = { gateway: 'gateway', 'county-payments': 'county-payments' };
const root = join(__dirname, '..');
const BUILD_INFO = join(root, 'dist', '.tsbuildinfo');

/** The newest modification time under the folders and files the build reads. */
function newestSource() {
  let newest = 0;
  const visit = (path) => {
    const st = statSync(path);
    if (st.isDirectory()) {
      for (const name of readdirSync(path)) if (name !== 'node_modules') visit(join(path, name));
    } else if (/\.(ts|json)$/.test(path)) newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of ['apps', 'libs', 'bench', 'scripts', 'tsconfig.json', 'tsconfig.build.json'])
    if (existsSync(join(root, p))) visit(join(root, p));
  return newest;
}

/** Nothing the build reads changed since the last build: no tsc at all. */
function upToDate() {
  return existsSync(BUILD_INFO) && statSync(BUILD_INFO).mtimeMs >= newestSource();
}

async function main() {
  const app = APPS[process.argv[2] ?? 'gateway'];
  if (app === undefined) {
    process.stderr.write(
      `unknown app "${process.argv[2]}": one of ${Object.keys(APPS).join(', ')}\n`,
    );
    process.exit(2);
  }
  await ensureDeps();
  if (upToDate()) {
    process.stderr.write(`[start] build is up to date (no source changed); starting ${app}\n`);
  } else {
    process.stderr.write(
      '[start] building (incremental: only what changed since the last build)\n',
    );
    const tsc = require.resolve('typescript/bin/tsc');
    const args = [tsc, '-p', 'tsconfig.build.json'];
    const s = await runWithHeartbeat('building', process.execPath, args, 'start');
    // tsc leaves its build info alone when no output changed (a file only touched): mark the build
    // as done now, so that the next start skips it
    const now = new Date();
    utimesSync(BUILD_INFO, now, now);
    process.stderr.write(`[start] built in ${s} s; starting ${app}\n`);
  }
  const child = spawn(
    process.execPath,
    ['-r', './scripts/register-paths.js', `dist/apps/${app}/src/main.js`],
    { cwd: root, stdio: 'inherit' },
  );
  // Ctrl-C reaches the child through the terminal's process group; a signal sent to this process
  // alone (kill, an orchestrator) is passed on, and this process ends as the app does
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 0 : 1)));
}

main().catch((e) => {
  process.stderr.write(`[start] ${e.message}\n`);
  process.exit(1);
});
