/**
 * Finds or starts the real components once for the whole integration run and hands their
 * addresses to the test workers through the environment (KAFKA_BROKERS, DATABASE_URL).
 * Order (DESIGN.md): explicit environment → Testcontainers where a Docker engine answers → the
 * local fallback (the project's KRaft broker script; the PostgreSQL server on 127.0.0.1:5432).
 */
import { provideKafka } from './kafka';
import { providePostgres } from './postgres';

export default async function globalSetup(): Promise<void> {
  const [kafka, pg] = await Promise.all([provideKafka(), providePostgres()]);
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
