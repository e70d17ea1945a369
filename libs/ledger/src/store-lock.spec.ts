import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCK_FILE, StoreDamagedError, StoreLock, StoreLockedError } from './store-lock';

function lockOf(dir: string, owner: Record<string, unknown>): void {
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify(owner));
}

function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

/** A pid that surely no longer runs: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid ?? 0;
}

describe('StoreLock', () => {
  let dir: string;
  let sleeper: ChildProcess | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'onebill-lock-'));
  });
  afterEach(() => {
    sleeper?.kill('SIGKILL');
    sleeper = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('is written with our pid and removed on release', () => {
    const lock = StoreLock.acquire(dir);
    const written = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number };
    expect(written.pid).toBe(process.pid);
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('refuses a second open in the same process', () => {
    const lock = StoreLock.acquire(dir);
    try {
      expect(() => StoreLock.acquire(dir)).toThrow(/already open in this process/);
    } finally {
      lock.release();
    }
  });

  it('refuses while a live process on this host holds it, naming its pid', () => {
    sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    const pid = sleeper.pid ?? 0;
    lockOf(dir, {
      pid,
      hostname: hostname(),
      bootId: bootId(),
      startedAt: '2026-11-30T10:00:00.000Z',
      command: 'dist/apps/gateway/src/main.js',
    });
    let error: unknown;
    try {
      StoreLock.acquire(dir, 'embedded store X');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreLockedError);
    const message = (error as Error).message;
    expect(message).toContain(`in use by pid ${pid}`);
    expect(message).toContain('dist/apps/gateway/src/main.js');
    expect(message).toContain('stop that process');
    expect(message).not.toContain('\n');
  });

  it('takes over the lock of a process that no longer runs and keeps it as .stale', async () => {
    const pid = await deadPid();
    lockOf(dir, { pid, hostname: hostname(), bootId: bootId(), startedAt: 'x', command: 'y' });
    const lock = StoreLock.acquire(dir);
    expect(lock.tookOver).toBe(`pid ${pid} no longer runs`);
    expect(existsSync(join(dir, `${LOCK_FILE}.stale`))).toBe(true);
    lock.release();
  });

  it('takes over a lock left before a reboot, even if its pid now runs', () => {
    lockOf(dir, {
      pid: process.ppid,
      hostname: hostname(),
      bootId: 'another-boot',
      startedAt: 'x',
      command: 'y',
    });
    if (bootId() === null) {
      // no boot id on this system: the live pid keeps the lock
      expect(() => StoreLock.acquire(dir)).toThrow(StoreLockedError);
      return;
    }
    const lock = StoreLock.acquire(dir);
    expect(lock.tookOver).toBe('written before the last reboot');
    lock.release();
  });

  it('takes over a lock with our own pid that this process does not hold (container restart)', () => {
    lockOf(dir, {
      pid: process.pid,
      hostname: hostname(),
      bootId: bootId(),
      startedAt: 'x',
      command: 'y',
    });
    const lock = StoreLock.acquire(dir);
    expect(lock.tookOver).toBe(`pid ${process.pid} is this process`);
    lock.release();
  });

  it('never takes over a lock from another host: it tells to delete the file if that process is gone', async () => {
    const pid = await deadPid();
    lockOf(dir, { pid, hostname: 'other-host', bootId: null, startedAt: 'x', command: 'y' });
    expect(() => StoreLock.acquire(dir)).toThrow(
      new RegExp(`pid ${pid} on other-host .*delete .*${LOCK_FILE}`),
    );
  });
});

describe('StoreDamagedError', () => {
  it('turns a wasm abort into one line with the command that moves the folder aside', () => {
    const e = new StoreDamagedError(
      '.data/pglite',
      new Error('RuntimeError: Aborted(). Build with -sASSERTIONS for more info.'),
    );
    expect(e.message).not.toContain('\n');
    expect(e.message).toMatch(/mv \.data\/pglite \.data\/pglite\.broken-\d{8}T\d{6}/);
  });

  it('keeps the first line of any other failure', () => {
    const e = new StoreDamagedError('d', new Error('EACCES: permission denied\nmore'));
    expect(e.message).toBe('embedded store d cannot be opened: EACCES: permission denied');
  });
});
