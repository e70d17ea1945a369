/**
 * Runs the compiled gateway (dist/, built once by global-setup) as a real process, the way it runs
 * in production: `node -r ./scripts/register-paths.js dist/apps/gateway/src/main.js`, across a
 * process boundary, which also lets a test kill it with SIGKILL or stop its database under it.
 * (Nest also runs inside jest now, for in-process tests: docs/adr/0018.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { eventually } from './eventually';

export const ROOT = join(__dirname, '..', '..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export class GatewayProcess {
  readonly output: string[] = [];
  private constructor(
    readonly child: ChildProcess,
    readonly base: string,
  ) {
    child.stdout?.on('data', (d: Buffer) => this.output.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => this.output.push(d.toString()));
  }

  /** The compiled gateway (npm run build) on `port`, quiet but for warnings. */
  private static spawn(env: Record<string, string>, port: number): GatewayProcess {
    const child = spawn(
      process.execPath,
      ['-r', './scripts/register-paths.js', 'dist/apps/gateway/src/main.js'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          PORT: String(port),
          LOG_LEVEL: 'warn',
          STATS_INTERVAL_MS: '0',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    return new GatewayProcess(child, `http://127.0.0.1:${port}`);
  }

  /** Starts the gateway and waits until /health/ready answers 200. */
  static async start(env: Record<string, string>, port?: number): Promise<GatewayProcess> {
    const gw = GatewayProcess.spawn(env, port ?? (await freePort()));
    const { child } = gw;
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}`);
        const res = await fetch(`${gw.base}/health/ready`);
        if (res.status !== 200) throw new Error(`/health/ready answered ${res.status}`);
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    ).catch((e: unknown) => {
      child.kill('SIGKILL');
      throw new Error(`gateway did not become ready: ${String(e)}\n${gw.output.join('')}`);
    });
    return gw;
  }

  /**
   * Starts a gateway that must refuse to start: resolves with its exit code and output once it
   * exits; rejects if it answers /health/ready 200 instead (and kills it) or runs past `timeoutMs`.
   */
  static async refused(
    env: Record<string, string>,
    timeoutMs = 90_000,
  ): Promise<{ code: number | null; output: string }> {
    const gw = GatewayProcess.spawn(env, await freePort());
    const { child } = gw;
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const code = await Promise.race([
        exited,
        new Promise<'running'>((r) => setTimeout(() => r('running'), 250)),
      ]);
      if (code !== 'running') return { code, output: gw.output.join('') };
      const ready = await fetch(`${gw.base}/health/ready`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(
          `gateway ${ready ? 'became ready' : `still running after ${timeoutMs} ms`} instead of refusing to start:\n${gw.output.join('')}`,
        );
      }
    }
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Sends the signal and waits for the process to end. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill(signal);
    await done;
  }
}
