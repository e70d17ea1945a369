/**
 * Finds or starts the real components once for the whole integration run and hands their
 * addresses to the test workers through the environment (KAFKA_BROKERS, DATABASE_URL).
 * Order (DESIGN.md): explicit environment → Testcontainers where a Docker engine answers → the
 * local fallback (the project's KRaft broker script; the PostgreSQL server on 127.0.0.1:5432).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
// the Kafka part only: jest loads this file without the @onebill/* path mapping, and the rest of
// libs/messaging imports @onebill/money
import { KafkaClient, TOPIC_SPECS } from '../../libs/messaging/src/kafka';
import { provideKafka } from './kafka';
import { providePostgres } from './postgres';

export default async function globalSetup(): Promise<void> {
  const [kafka, pg] = await Promise.all([provideKafka(), providePostgres()]);
  // the apps run as processes from dist/ (test/support/gateway-process.ts): build them once
  const root = join(__dirname, '..', '..');
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  // the deployment's topics, created once as an operator's start does (a fresh broker has none;
  // specs that tap output topics before a gateway starts must find them)
  const admin = new KafkaClient({
    brokers: kafka.brokers.split(','),
    clientId: 'integration-setup',
    logLevel: 'nothing',
  });
  try {
    await admin.admin().ensureTopics(TOPIC_SPECS);
  } finally {
    await admin.close();
  }
  process.env.KAFKA_BROKERS = kafka.brokers;
  process.env.DATABASE_URL = pg.url;
  console.log(
    `\n[integration] Kafka ${kafka.brokers} (${kafka.source}); PostgreSQL ${pg.redactedUrl} (${pg.source})`,
  );
  (globalThis as { __onebillTeardown?: Array<() => Promise<void>> }).__onebillTeardown = [
    kafka.stop,
    pg.stop,
  ];
}
