import { createServer, type Server } from 'node:net';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  databaseAddress,
  databaseDown,
  pgStartCommand,
  preflight,
  StartupProblem,
  startupHint,
  type StartupTarget,
} from './startup-hints';

/** A port something listens on, and one nothing listens on (listened on, then closed). */
async function listening(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0 };
}
async function closedPort(): Promise<number> {
  const { server, port } = await listening();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const target = (over: Partial<StartupTarget>): StartupTarget => ({
  command: 'npm run start:county',
  portVariable: 'PORT',
  port: 0,
  host: '127.0.0.1',
  ...over,
});

async function problemOf(t: StartupTarget): Promise<string> {
  try {
    await preflight(t);
  } catch (e) {
    expect(e).toBeInstanceOf(StartupProblem);
    return (e as Error).message;
  }
  throw new Error('preflight passed');
}

describe('a start that cannot go on says what to run (issue 13)', () => {
  it('a taken port names the port and the variable to set', async () => {
    const { server, port } = await listening();
    try {
      const message = await problemOf(target({ port }));
      expect(message).toContain(`port ${port} is taken`);
      expect(message).toContain(`PORT=${port + 1} npm run start:county`);
      expect(message).not.toContain('\n');
    } finally {
      server.close();
    }
  });

  it('a broker that does not answer names the brokers and the command that starts one', async () => {
    const port = await closedPort();
    const message = await problemOf(target({ kafkaBrokers: [`127.0.0.1:${port}`] }));
    expect(message).toContain(`Kafka does not answer at 127.0.0.1:${port} (KAFKA_BROKERS)`);
    expect(message).toContain('eval "$(npm run --silent kafka:start)"');
  });

  it('a database that refuses names its address and how to start it', async () => {
    const port = await closedPort();
    const message = await problemOf(
      target({ databaseUrl: `postgres://postgres@127.0.0.1:${port}/onebill` }),
    );
    expect(message).toContain(`PostgreSQL does not answer at 127.0.0.1:${port} (DATABASE_URL)`);
    expect(message).toContain('unset DATABASE_URL');
  });

  it('passes when the port is free and the broker and database answer', async () => {
    const { server, port } = await listening();
    try {
      await expect(
        preflight(
          target({
            kafkaBrokers: [`127.0.0.1:${await closedPort()}`, `127.0.0.1:${port}`],
            databaseUrl: `postgres://postgres@127.0.0.1:${port}/x`,
          }),
        ),
      ).resolves.toBeUndefined();
    } finally {
      server.close();
    }
  });

  it('turns the errors of a start into the same lines', () => {
    const t = target({ port: 3100, kafkaBrokers: ['k:9092'], databaseUrl: 'postgres://h:5433/d' });
    const inUse = Object.assign(new Error('listen EADDRINUSE: address already in use :::3100'), {
      code: 'EADDRINUSE',
    });
    expect(startupHint(inUse, t)).toContain('PORT=3101');
    const kafka = Object.assign(new Error('KafkaJSNonRetriableError'), {
      name: 'KafkaJSNonRetriableError',
      cause: Object.assign(new Error('Connection error'), { name: 'KafkaJSConnectionError' }),
    });
    expect(startupHint(kafka, t)).toContain('Kafka does not answer at k:9092');
    const pg = new AggregateError(
      [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', port: 5433 })],
      'connect failed',
    );
    expect(startupHint(pg, t)).toContain('PostgreSQL does not answer at h:5433');
    expect(startupHint(new Error('a bug'), t)).toBeNull();
  });

  it('names the local cluster when Debian keeps one, and skips a Unix-socket URL', () => {
    const etc = mkdtempSync(join(tmpdir(), 'etc-pg-'));
    mkdirSync(join(etc, '15', 'main'), { recursive: true });
    expect(pgStartCommand(etc)).toBe('sudo pg_ctlcluster 15 main start');
    expect(databaseDown('h:1', etc)).toContain('sudo pg_ctlcluster 15 main start');
    expect(pgStartCommand(join(etc, 'none'))).toContain('docker compose up -d postgres');
    expect(databaseAddress('postgres:///onebill?host=/run/postgresql')).toBeNull();
    expect(databaseAddress('postgres://u@db/onebill')).toEqual({ host: 'db', port: 5432 });
  });
});
