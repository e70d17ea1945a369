/**
 * What to run when a service cannot start (issue 13): a taken port, a broker that does not answer,
 * a PostgreSQL that refuses — each said in one line with the command or the setting that fixes it,
 * instead of a stack trace or kafkajs retrying for a quarter of a minute. `preflight` checks the
 * three before anything starts (a TCP connect each, a few seconds at most); `startupHint` turns an
 * error that happens anyway (the port taken between the check and the listen) into the same line.
 * Used by the gateway's and the county service's main.ts; nothing here knows a table or a rule.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';

/** A start that cannot go on, with what to do in its message (one line). */
export class StartupProblem extends Error {
  override readonly name = 'StartupProblem';
}

export interface StartupTarget {
  /** the app, as npm starts it: "npm start" or "npm run start:county" */
  command: string;
  /** the variable that sets the port, and the port with its host */
  portVariable: string;
  port: number;
  host?: string | undefined;
  kafkaBrokers?: readonly string[] | null | undefined;
  databaseUrl?: string | null | undefined;
}

const KAFKA_START = 'eval "$(npm run --silent kafka:start)"';

export function portTaken(t: StartupTarget): string {
  return (
    `port ${t.port} is taken (another gateway, county service or program listens on it): ` +
    `stop that one, or set ${t.portVariable} to a free port, e.g. ${t.portVariable}=${t.port + 1} ${t.command}`
  );
}

export function brokerDown(
  brokers: readonly string[],
  otherwise = 'or unset KAFKA_BROKERS to run on HTTP alone',
): string {
  return (
    `Kafka does not answer at ${brokers.join(',')} (KAFKA_BROKERS): start a local broker with ` +
    `${KAFKA_START} (it prints KAFKA_BROKERS), ${otherwise}`
  );
}

/** The command that starts the local PostgreSQL cluster, when Debian's tools show one. */
export function pgStartCommand(etc = '/etc/postgresql'): string {
  try {
    if (existsSync(etc)) {
      for (const version of readdirSync(etc).sort().reverse()) {
        const clusters = readdirSync(`${etc}/${version}`);
        if (clusters.length > 0) return `sudo pg_ctlcluster ${version} ${clusters[0]} start`;
      }
    }
  } catch {
    // not Debian's layout: the generic advice below
  }
  return 'docker compose up -d postgres (or start your PostgreSQL service)';
}

export function databaseDown(where: string, etc?: string): string {
  return (
    `PostgreSQL does not answer at ${where} (DATABASE_URL): start it with ${pgStartCommand(etc)}, ` +
    `or unset DATABASE_URL to use the embedded PGlite store`
  );
}

/**
 * host:port of a postgres:// URL (5432 unless given), or null when it is not one or names a Unix
 * socket (no host, or ?host=/run/postgresql): then nothing is checked ahead.
 */
export function databaseAddress(url: string): { host: string; port: number } | null {
  try {
    const u = new URL(url);
    if (u.hostname === '' || (u.searchParams.get('host') ?? '').startsWith('/')) return null;
    // eslint-disable-next-line no-restricted-syntax -- a TCP port, not money
    return { host: u.hostname, port: u.port === '' ? 5432 : Number(u.port) };
  } catch {
    return null;
  }
}

/** Whether something accepts a TCP connection at host:port within the time. */
export function answers(host: string, port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Whether the port can be listened on now (it is free). */
export function portFree(port: number, host?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, ...(host === undefined ? {} : { host }), exclusive: true }, () =>
      server.close(() => resolve(true)),
    );
  });
}

function hostPort(broker: string): { host: string; port: number } {
  const i = broker.lastIndexOf(':');
  // eslint-disable-next-line no-restricted-syntax -- a TCP port, not money
  return { host: broker.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(broker.slice(i + 1)) };
}

/**
 * The port is free, one broker answers, the database answers — or a StartupProblem saying what to
 * run. A broker or database that answers but then fails (wrong credentials, no such database)
 * is left to the client's own error.
 */
export async function preflight(t: StartupTarget): Promise<void> {
  if (!(await portFree(t.port, t.host))) throw new StartupProblem(portTaken(t));
  await checkBrokers(t.kafkaBrokers ?? []);
  if (t.databaseUrl) {
    const at = databaseAddress(t.databaseUrl);
    if (at !== null && !(await answers(at.host, at.port)))
      throw new StartupProblem(databaseDown(`${at.host}:${at.port}`));
  }
}

/** One of the brokers answers, or a StartupProblem saying how to start one (none given: no check). */
export async function checkBrokers(brokers: readonly string[], otherwise?: string): Promise<void> {
  if (brokers.length === 0) return;
  const up = await Promise.all(
    brokers.map((b) => {
      const { host, port } = hostPort(b);
      return answers(host, port);
    }),
  );
  if (!up.some(Boolean)) throw new StartupProblem(brokerDown(brokers, otherwise));
}

/** The error and its causes (Error.cause, AggregateError.errors, kafkajs's originalError). */
function chain(error: unknown): unknown[] {
  const seen: unknown[] = [];
  const visit = (e: unknown): void => {
    if (e === null || e === undefined || seen.includes(e) || seen.length > 20) return;
    seen.push(e);
    if (typeof e !== 'object') return;
    const o = e as { cause?: unknown; errors?: unknown; originalError?: unknown };
    visit(o.cause);
    visit(o.originalError);
    if (Array.isArray(o.errors)) o.errors.forEach(visit);
  };
  visit(error);
  return seen;
}

/** One line saying what to run, for an error of a start; null when it is none of these. */
export function startupHint(error: unknown, t: StartupTarget): string | null {
  const all = chain(error);
  if (all.some((e) => e instanceof StartupProblem))
    return (all.find((e) => e instanceof StartupProblem) as StartupProblem).message;
  const codeOf = (e: unknown): unknown => (e as { code?: unknown } | null)?.code;
  if (all.some((e) => codeOf(e) === 'EADDRINUSE')) return portTaken(t);
  if (all.some((e) => typeof e === 'object' && /^KafkaJS/.test((e as Error).name ?? '')))
    if (t.kafkaBrokers && t.kafkaBrokers.length > 0) return brokerDown(t.kafkaBrokers);
  const refused = all.find((e) => codeOf(e) === 'ECONNREFUSED' || codeOf(e) === 'ETIMEDOUT') as
    { port?: number; address?: string } | undefined;
  if (refused !== undefined && t.databaseUrl) {
    const at = databaseAddress(t.databaseUrl);
    if (at !== null && (refused.port === undefined || refused.port === at.port))
      return databaseDown(`${at.host}:${at.port}`);
  }
  return null;
}
