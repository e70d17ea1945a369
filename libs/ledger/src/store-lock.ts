/**
 * One process at a time on an embedded (PGlite) data folder. PGlite is PostgreSQL in single-user
 * mode inside this process, with no postmaster and no shared memory: a second process on the same
 * folder replays and writes the same WAL from its own copy of the state, and the two overwrite each
 * other's records (docs/adr/0013-embedded-store-lock-and-recovery.md: that is how the store became
 * unopenable with `PANIC: could not locate a valid checkpoint record`).
 *
 * The lock is a file created with O_EXCL in the data folder, holding the owner's pid, host, boot id
 * and start time. It is stale — and taken over — when its owner is on this host and no longer runs
 * (a SIGKILL leaves it behind), or when the machine has rebooted since. A lock from another host is
 * never taken over: its process cannot be checked from here.
 */
import {
  closeSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE = 'onebill.lock';

export interface LockOwner {
  pid: number;
  hostname: string;
  /** /proc/sys/kernel/random/boot_id where there is one: a reboot makes every older lock stale */
  bootId: string | null;
  startedAt: string;
  command: string;
}

/** A second opener is refused; the message names the holder and what to do. */
export class StoreLockedError extends Error {
  constructor(
    message: string,
    readonly owner: LockOwner | null,
  ) {
    super(message);
    this.name = 'StoreLockedError';
  }
}

/** Lock files this process holds (by path): a second open in the same process is refused too. */
const held = new Map<string, StoreLock>();
let exitHookInstalled = false;

function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, under another user
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): LockOwner | null | 'absent' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw e;
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid !== 'number' || typeof o.hostname !== 'string') return null;
    return {
      pid: o.pid,
      hostname: o.hostname,
      bootId: typeof o.bootId === 'string' ? o.bootId : null,
      startedAt: typeof o.startedAt === 'string' ? o.startedAt : '?',
      command: typeof o.command === 'string' ? o.command : '?',
    };
  } catch {
    // a half-written lock (its writer was killed between create and write)
    return null;
  }
}

/** Why a lock is stale, or null when its owner may still run. */
function staleness(owner: LockOwner | null, self: LockOwner, path: string): string | null {
  if (owner === null) {
    // half-written: stale once its writer has had ample time to finish writing 200 bytes
    try {
      return Date.now() - statSync(path).mtimeMs > 5000 ? 'unreadable lock file' : null;
    } catch {
      return 'lock file gone';
    }
  }
  if (owner.hostname !== self.hostname) return null;
  if (owner.bootId !== null && self.bootId !== null && owner.bootId !== self.bootId)
    return 'written before the last reboot';
  // the same pid as ours but not held by us: an earlier incarnation (pid 1 in a container)
  if (owner.pid === self.pid) return held.has(path) ? null : `pid ${owner.pid} is this process`;
  return alive(owner.pid) ? null : `pid ${owner.pid} no longer runs`;
}

function tryCreate(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

export class StoreLock {
  private released = false;

  private constructor(
    readonly path: string,
    readonly owner: LockOwner,
    /** why an earlier lock was taken over, if one was */
    readonly tookOver: string | null,
  ) {}

  /**
   * Takes the lock of `dir` (which must exist) or throws StoreLockedError. `label` names the
   * store in the message (e.g. `embedded store .data/pglite`).
   */
  static acquire(dir: string, label = `embedded store ${dir}`): StoreLock {
    const path = join(dir, LOCK_FILE);
    const self: LockOwner = {
      pid: process.pid,
      hostname: hostname(),
      bootId: bootId(),
      startedAt: new Date().toISOString(),
      command: process.argv.slice(1, 3).join(' ').slice(0, 200),
    };
    const content = `${JSON.stringify(self)}\n`;
    if (held.has(path))
      throw new StoreLockedError(
        `${label} is already open in this process (pid ${process.pid}): open it once and share it`,
        self,
      );
    let tookOver: string | null = null;
    // a few rounds: another process may take or drop the lock between our steps
    for (let round = 0; round < 5; round += 1) {
      if (tryCreate(path, content)) {
        const lock = new StoreLock(path, self, tookOver);
        held.set(path, lock);
        installExitHook();
        return lock;
      }
      const owner = readOwner(path);
      if (owner === 'absent') continue;
      const why = staleness(owner, self, path);
      if (why === null) {
        if (owner === null)
          throw new StoreLockedError(
            `${label}: its lock file ${path} is being written; try again`,
            null,
          );
        throw lockedError(label, path, owner, self);
      }
      // take the stale lock over through a side lock, so that two starters cannot both remove
      // the stale file and one of them then remove the other's fresh lock
      const side = `${path}.takeover`;
      if (!tryCreate(side, content)) {
        const sideOwner = readOwner(side);
        if (sideOwner !== 'absent' && staleness(sideOwner, self, side) !== null) unlinkQuiet(side);
        continue;
      }
      try {
        const again = readOwner(path);
        if (again === 'absent' || staleness(again, self, path) !== null) {
          if (again !== 'absent') {
            // keep the evidence beside it rather than deleting it
            renameSync(path, `${path}.stale`);
            tookOver = why;
          }
        }
      } finally {
        unlinkQuiet(side);
      }
    }
    throw new StoreLockedError(`${label}: could not take its lock file ${path}; try again`, null);
  }

  /** Removes the lock file if it is still ours. Safe to call more than once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this.path);
    const owner = readOwner(this.path);
    if (owner !== 'absent' && owner !== null && owner.pid === this.owner.pid)
      unlinkQuiet(this.path);
  }
}

function lockedError(label: string, path: string, owner: LockOwner, self: LockOwner): Error {
  const where =
    owner.hostname === self.hostname ? `pid ${owner.pid}` : `pid ${owner.pid} on ${owner.hostname}`;
  const what =
    owner.hostname === self.hostname
      ? `stop that process (or use its HTTP API) and try again`
      : `stop it there, or delete ${path} if that process is gone`;
  return new StoreLockedError(
    `${label} is in use by ${where} (${owner.command}, since ${owner.startedAt}); ` +
      `PGlite allows one process at a time: ${what}`,
    owner,
  );
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** A process that ends without closing its store (process.exit, an uncaught error) frees it. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const lock of [...held.values()]) lock.release();
  });
}

/** An embedded store that PostgreSQL cannot start on; the message says how to recover. */
export class StoreDamagedError extends Error {
  constructor(
    readonly dir: string,
    cause: unknown,
  ) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    const aborted = /Aborted|RuntimeError|unreachable/.test(detail);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
    super(
      aborted
        ? `embedded store ${dir} cannot be opened: PostgreSQL aborted while starting on it (a damaged data folder, e.g. ` +
            `written by two processes at once). To start afresh with an empty store: mv ${dir} ${dir}.broken-${stamp} ` +
            `— the moved folder is a PostgreSQL 18 data directory (docs/adr/0013-embedded-store-lock-and-recovery.md)`
        : `embedded store ${dir} cannot be opened: ${detail.split('\n')[0]}`,
      { cause },
    );
    this.name = 'StoreDamagedError';
  }
}

/** Errors whose message is the whole story: an entry point prints the message alone, no stack. */
export function isStoreOpenError(error: unknown): error is StoreLockedError | StoreDamagedError {
  return error instanceof StoreLockedError || error instanceof StoreDamagedError;
}
