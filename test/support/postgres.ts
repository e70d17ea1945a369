/**
 * Finds or starts a real PostgreSQL for the integration tests (DESIGN.md, "Real components and
 * how they start"), in this order:
 *   1. DATABASE_URL from the environment (used as is, never dropped by us);
 *   2. Testcontainers (postgres:16-alpine) where a Docker engine answers;
 *   3. the local server on 127.0.0.1:5432 (trust auth, user postgres): a fresh database
 *      `onebill_it_<random>` is created for this run and dropped at teardown.
 * Every step says what it chose and why; if none works the setup throws and the run fails.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export interface ProvidedPostgres {
  url: string;
  redactedUrl: string;
  source: string;
  stop: () => Promise<void>;
}

const TESTCONTAINERS_IMAGE = process.env.POSTGRES_TESTCONTAINERS_IMAGE ?? 'postgres:16-alpine';
const DOCKER_PROBE_TIMEOUT_MS = 10_000;
const LOCAL_ADMIN_URL =
  process.env.POSTGRES_LOCAL_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function log(message: string): void {
  console.log(`[integration] ${message}`);
}

export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable DATABASE_URL>';
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves to a reason string when no Docker engine answers, or undefined when one does. */
async function dockerUnavailableReason(): Promise<string | undefined> {
  if (process.env.POSTGRES_NO_TESTCONTAINERS === '1') return 'POSTGRES_NO_TESTCONTAINERS=1';
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await withTimeout(getContainerRuntimeClient(), DOCKER_PROBE_TIMEOUT_MS, 'the Docker engine');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function startWithTestcontainers(): Promise<ProvidedPostgres> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  log(`starting PostgreSQL with Testcontainers (${TESTCONTAINERS_IMAGE})`);
  const container = await new PostgreSqlContainer(TESTCONTAINERS_IMAGE)
    .withDatabase('onebill')
    .start();
  const url = container.getConnectionUri();
  return {
    url,
    redactedUrl: redact(url),
    source: `Testcontainers ${TESTCONTAINERS_IMAGE}`,
    stop: async () => {
      await container.stop();
    },
  };
}

async function withAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: LOCAL_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function createLocalDatabase(): Promise<ProvidedPostgres> {
  // The name is generated here from hex digits only, so interpolating it is safe.
  const database = `onebill_it_${randomBytes(6).toString('hex')}`;
  try {
    await withAdmin((admin) => admin.query(`CREATE DATABASE ${database}`));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `no PostgreSQL for the integration tests: DATABASE_URL is not set, no Docker engine, ` +
        `and the local server ${redact(LOCAL_ADMIN_URL)} refused (${reason})`,
    );
  }
  const url = new URL(LOCAL_ADMIN_URL);
  url.pathname = `/${database}`;
  log(`created database ${database} on the local server ${url.host}`);
  return {
    url: url.toString(),
    redactedUrl: redact(url.toString()),
    source: `local server, fresh database ${database}`,
    stop: async () => {
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
      log(`dropped database ${database}`);
    },
  };
}

export async function providePostgres(): Promise<ProvidedPostgres> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) {
    log('using PostgreSQL from DATABASE_URL');
    return {
      url: fromEnv,
      redactedUrl: redact(fromEnv),
      source: 'DATABASE_URL',
      stop: () => Promise.resolve(),
    };
  }
  const noDocker = await dockerUnavailableReason();
  if (noDocker === undefined) return startWithTestcontainers();
  log(`no Docker engine for Testcontainers (${noDocker}); falling back to the local server`);
  return createLocalDatabase();
}
