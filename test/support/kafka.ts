/**
 * Finds or starts a real Apache Kafka broker for the integration tests (DESIGN.md, "Real
 * components and how they start"), in this order:
 *   1. KAFKA_BROKERS from the environment (used as is, never stopped by us);
 *   2. Testcontainers (Confluent's KRaft image, Kafka 3.9) where a Docker engine answers;
 *   3. scripts/kafka/start.sh: a single-node KRaft broker from the Apache Kafka jars on Maven
 *      Central, cached under .cache/kafka. Stopped at teardown only if this run started it.
 * Every step says what it chose and why; nothing is skipped silently: if no broker can be had,
 * the setup throws and the integration run fails.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';

export interface ProvidedKafka {
  brokers: string;
  source: string;
  stop: () => Promise<void>;
}

/** Confluent Platform 7.9 = Apache Kafka 3.9 (kafkajs needs a 3.x broker). */
const TESTCONTAINERS_IMAGE =
  process.env.KAFKA_TESTCONTAINERS_IMAGE ?? 'confluentinc/cp-kafka:7.9.0';
const DOCKER_PROBE_TIMEOUT_MS = 10_000;
const SCRIPTS = path.resolve(__dirname, '../../scripts/kafka');

function log(message: string): void {
  console.log(`[integration] ${message}`);
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
  if (process.env.KAFKA_NO_TESTCONTAINERS === '1') return 'KAFKA_NO_TESTCONTAINERS=1';
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await withTimeout(getContainerRuntimeClient(), DOCKER_PROBE_TIMEOUT_MS, 'the Docker engine');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function startWithTestcontainers(): Promise<ProvidedKafka> {
  const { KafkaContainer } = await import('@testcontainers/kafka');
  log(`starting Kafka with Testcontainers (${TESTCONTAINERS_IMAGE}, KRaft)`);
  const container = await new KafkaContainer(TESTCONTAINERS_IMAGE).withKraft().start();
  return {
    brokers: `${container.getHost()}:${container.getMappedPort(9093)}`,
    source: `Testcontainers ${TESTCONTAINERS_IMAGE}`,
    stop: async () => {
      await container.stop();
    },
  };
}

function runScript(
  script: string,
  args: string[] = [],
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [path.join(SCRIPTS, script), ...args],
      { env: process.env, timeout: 15 * 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`scripts/kafka/${script} failed: ${error.message}\n${stderr}`));
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
  });
}

/** start.sh prints KEY=VALUE lines on stdout (KAFKA_BROKERS, KAFKA_PID, KAFKA_STARTED). */
function parseKeyValues(stdout: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) values.set(match[1], match[2]);
  }
  return values;
}

async function startLocalBroker(): Promise<ProvidedKafka> {
  const started = Date.now();
  const { stdout, stderr } = await runScript('start.sh');
  const values = parseKeyValues(stdout);
  const brokers = values.get('KAFKA_BROKERS');
  if (!brokers) {
    throw new Error(`scripts/kafka/start.sh printed no KAFKA_BROKERS line.\n${stdout}\n${stderr}`);
  }
  const startedByUs = values.get('KAFKA_STARTED') === 'true';
  const keep = process.env.KAFKA_KEEP === '1';
  log(
    `${startedByUs ? 'started' : 'reusing'} the local KRaft broker ${brokers} in ${Date.now() - started} ms` +
      (startedByUs && keep ? ' (KAFKA_KEEP=1: left running after the tests)' : ''),
  );
  return {
    brokers,
    source: startedByUs ? 'scripts/kafka/start.sh (started)' : 'scripts/kafka/start.sh (reused)',
    stop: async () => {
      if (!startedByUs || keep) return;
      await runScript('stop.sh');
    },
  };
}

export async function provideKafka(): Promise<ProvidedKafka> {
  const fromEnv = process.env.KAFKA_BROKERS?.trim();
  if (fromEnv) {
    return { brokers: fromEnv, source: 'KAFKA_BROKERS', stop: () => Promise.resolve() };
  }
  const noDocker = await dockerUnavailableReason();
  if (noDocker === undefined) return startWithTestcontainers();
  log(`no Docker engine for Testcontainers (${noDocker}); falling back to scripts/kafka/start.sh`);
  return startLocalBroker();
}
