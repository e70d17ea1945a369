/**
 * The services say what to run when they cannot start (issue 13): the compiled county service on a
 * taken port, the compiled gateway with a broker that does not answer and with a PostgreSQL that
 * refuses. Each ends within seconds with one line naming what is wrong and the command or setting
 * that fixes it; no stack trace, no quarter-minute of kafkajs retries.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { ROOT } from './support/gateway-process';

interface Run {
  code: number | null;
  stderr: string;
}

function start(app: 'gateway' | 'county-payments', env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['-r', './scripts/register-paths.js', `dist/apps/${app}/src/main.js`],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });
}

async function listening(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0 };
}

async function closedPort(): Promise<number> {
  const { server, port } = await listening();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The run's error lines: exactly one, and no stack frame anywhere. */
function oneLine(r: Run): string {
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
  expect(errors).toHaveLength(1);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.code).not.toBe(0);
  return errors[0] ?? '';
}

describe('a service that cannot start says what to run', () => {
  it('npm run start:county on a taken port names the port and PORT to set', async () => {
    const { server, port } = await listening();
    try {
      const r = await start('county-payments', {
        PORT: String(port),
        COUNTY_ADMDVS: '510402',
        KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '',
      });
      const line = oneLine(r);
      expect(line).toContain(`port ${port} is taken`);
      expect(line).toContain(`PORT=${port + 1} npm run start:county`);
    } finally {
      server.close();
    }
  });

  it('the gateway with a broker that does not answer says to run kafka:start', async () => {
    const broker = `127.0.0.1:${await closedPort()}`;
    const r = await start('gateway', {
      PORT: String(await closedPort()),
      KAFKA_BROKERS: broker,
      PGLITE_DIR: ':memory:',
    });
    const line = oneLine(r);
    expect(line).toContain(`Kafka does not answer at ${broker} (KAFKA_BROKERS)`);
    expect(line).toContain('eval "$(npm run --silent kafka:start)"');
    expect(r.stderr).not.toContain('[kafkajs]');
  });

  it('the gateway with a PostgreSQL that refuses says how to start it or to use PGlite', async () => {
    const port = await closedPort();
    const r = await start('gateway', {
      PORT: String(await closedPort()),
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/onebill`,
    });
    const line = oneLine(r);
    expect(line).toContain(`PostgreSQL does not answer at 127.0.0.1:${port} (DATABASE_URL)`);
    expect(line).toMatch(/pg_ctlcluster|docker compose up -d postgres/);
    expect(line).toContain('unset DATABASE_URL');
  });
});
