/**
 * npm run simulate -- [--target kafka|http] [--rate N] [--count N] [--seed N] [--year YYYY]
 *                     [--duplicates 0.05] [--malformed 0.02] [--url http://127.0.0.1:3000]
 *
 * Publishes realistic discharge XML (both regions, all visit types and categories) to
 * his.discharge.v1 on KAFKA_BROKERS, or posts it to the gateway's HTTP API.
 */
import { KafkaClient, Topics, kafkaSettingsFromEnv } from '@onebill/messaging';
import { RuleBook } from '@onebill/rules';
import { Feed, type FeedMessage } from './feed';
import { pace } from './pace';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}

function number(name: string, fallback: number, min: number, max: number): number {
  const raw = option(name, String(fallback));
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) {
    process.stderr.write(`--${name} must be a number between ${min} and ${max}, got "${raw}"\n`);
    process.exit(64);
  }
  return v;
}

async function main(): Promise<void> {
  const target = option('target', 'kafka');
  if (target !== 'kafka' && target !== 'http') {
    process.stderr.write(`--target must be kafka or http, got "${target}"\n`);
    process.exit(64);
  }
  const rate = number('rate', 100, 1, 100_000);
  const count = number('count', 1000, 0, 100_000_000);
  const book = RuleBook.load();
  const feed = new Feed({
    seed: number('seed', 1, 0, 2 ** 31),
    year: number('year', 2024, 2023, 2100),
    hospitals: book
      .allHospitals()
      .map((h) => ({ code: h.fixmedins_code, level: h.level, region: h.region })),
    persons: number('persons', 5000, 1, 10_000_000),
    duplicates: number('duplicates', 0, 0, 1),
    malformed: number('malformed', 0, 0, 1),
  });
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  const progress = (sent: number, ms: number): void => {
    process.stderr.write(
      `\rsent ${sent} in ${(ms / 1000).toFixed(1)} s (${Math.round(sent / (ms / 1000 || 1))}/s)   `,
    );
  };

  let sink: (batch: FeedMessage[]) => Promise<void>;
  let close = async (): Promise<void> => {};
  if (target === 'kafka') {
    const client = new KafkaClient(
      kafkaSettingsFromEnv(process.env, { clientId: 'his-simulator' }),
    );
    const producer = client.producer();
    sink = async (batch) => {
      await producer.send(
        Topics.hisDischarge,
        batch.map((m) => ({
          key: m.key,
          value: m.xml,
          headers: { 'content-type': 'application/xml' },
        })),
      );
    };
    close = async () => {
      await producer.disconnect();
      await client.close();
    };
  } else {
    const url = `${option('url', 'http://127.0.0.1:3000')}/api/v1/settlements`;
    sink = async (batch) => {
      await Promise.all(
        batch.map((m) =>
          fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/xml' },
            body: m.xml,
          }),
        ),
      );
    };
  }
  const sent = await pace(feed, sink, { rate, count, signal: abort.signal, onProgress: progress });
  await close();
  process.stderr.write(`\ndone: ${sent} messages to ${target}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`his-simulator: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
