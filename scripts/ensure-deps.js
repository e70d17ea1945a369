#!/usr/bin/env node
// Installs the locked dependencies when node_modules is missing or not from this lockfile, so that
// `npm start` and `npm test` each work on a fresh clone as a single command. While npm ci runs (a
// few minutes on a fresh clone) a line every 15 s says that it still runs.
const { createHash } = require('node:crypto');
const { existsSync, lstatSync, readFileSync, statSync, writeFileSync } = require('node:fs');
const { spawn } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');

const LOCK = join(root, 'package-lock.json');
/** the lockfile's hash as of the last install by this script */
const STAMP = join(root, 'node_modules', '.onebill-lock.sha256');

function lockHash() {
  return createHash('sha256').update(readFileSync(LOCK)).digest('hex');
}

/**
 * Stale when node_modules was not installed from this lockfile's content (a hash, not file times:
 * a fresh checkout or a git worktree has a newer lockfile with the same content).
 */
function stale() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(marker)) return true;
  if (existsSync(STAMP)) return readFileSync(STAMP, 'utf8').trim() !== lockHash();
  // installed by a plain `npm ci` (CI does that first): fresh if it is newer than the lockfile
  if (statSync(marker).mtimeMs < statSync(LOCK).mtimeMs) return true;
  writeFileSync(STAMP, `${lockHash()}\n`);
  return false;
}

/** Runs a command with inherited output, saying every 15 s that it still runs. */
function runWithHeartbeat(what, command, args, tag = 'setup') {
  const started = Date.now();
  const beat = setInterval(() => {
    process.stderr.write(
      `[${tag}] still ${what}… ${Math.round((Date.now() - started) / 1000)} s\n`,
    );
  }, 15_000);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(beat);
      if (code === 0) resolve(Math.round((Date.now() - started) / 1000));
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

async function ensureDeps() {
  if (!stale()) return;
  const nm = join(root, 'node_modules');
  if (existsSync(nm) && lstatSync(nm).isSymbolicLink()) {
    // npm ci would empty the folder the link points to (another checkout's install)
    process.stderr.write(
      '[setup] node_modules is a link to another install, whose lockfile differs; not touching it. ' +
        'Run npm ci where it points, or replace the link.\n',
    );
    return;
  }
  process.stderr.write(
    '[setup] installing the locked dependencies (npm ci): a few minutes on a fresh clone, once\n',
  );
  const s = await runWithHeartbeat('installing', 'npm', ['ci', '--no-audit', '--no-fund']);
  writeFileSync(STAMP, `${lockHash()}\n`);
  process.stderr.write(`[setup] dependencies installed in ${s} s\n`);
}

module.exports = { ensureDeps, runWithHeartbeat };

if (require.main === module) {
  ensureDeps().catch((e) => {
    process.stderr.write(`[setup] ${e.message}\n`);
    process.exit(1);
  });
}
