/**
 * npm run simulate -- [--target kafka|http] [--rate N] [--count N] [--seed N] [--year YYYY]
 *                     [--duplicates 0.05] [--malformed 0.02] [--url http://127.0.0.1:3000]
 *                     [--token <bearer token>]
 *
 * Publishes realistic discharge XML (both regions, all visit types and categories) to
 * his.discharge.v1 on KAFKA_BROKERS, or posts it to the gateway's HTTP API with a credential
 * (--token, else ONEBILL_TOKEN: the development token `npm start` prints, or one from
 * `npm run credential`) and counts what the gateway answered. Bad options: one line, exit 2.
 *
 * Progress and the summary are for the terminal (stderr); kafkajs's log lines are JSON on stdout
 * (pino, LOG_LEVEL). With OTEL_EXPORTER_OTLP_ENDPOINT set, each message is sent in a span of its
 * own and carries its `traceparent` (Kafka header or HTTP header): the start of the trace.
 */
import { KafkaClient, Topics, checkBrokers, kafkaSettingsFromEnv } from '@onebill/messaging';
import {
  lineSink,
  Logger,
  sendSpan,
  setupTracing,
  SpanKind,
  type Level,
} from '@onebill/observability';
import { RuleBook } from '@onebill/rules';
import { Feed, type FeedMessage } from './feed';
import { hospitalRefs } from './generate';
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
    process.exit(2);
  }
  return v;
}

async function main(): Promise<void> {
  const target = option('target', 'kafka');
  if (target !== 'kafka' && target !== 'http') {
    process.stderr.write(`--target must be kafka or http, got "${target}"\n`);
    process.exit(2);
  }
  const rate = number('rate', 100, 1, 100_000);
  const count = number('count', 1000, 0, 100_000_000);
  const level = process.env.LOG_LEVEL?.trim() || 'info';
  const log = new Logger(
    (['debug', 'info', 'warn', 'error'].includes(level) ? level : 'info') as Level,
    { service: 'his-simulator' },
  );
  const tracing = await setupTracing({ serviceName: 'his-simulator' }); // off unless configured
  const book = RuleBook.load({
    figuresDir: process.env.ONEBILL_FIGURES_DIR || undefined,
    registryFile: process.env.ONEBILL_REGISTRY || undefined,
  });
  const feed = new Feed({
    seed: number('seed', 1, 0, 2 ** 31),
    year: number('year', 2024, 2023, 2100),
    hospitals: hospitalRefs(book),
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
  /** what the gateway answered (http): "201 settled", "422 rejected", "401", "no answer (…)" */
  const answers = new Map<string, number>();
  let close = async (): Promise<void> => {};
  if (target === 'kafka') {
    const settings = kafkaSettingsFromEnv(process.env, { clientId: 'his-simulator' });
    // a broker that does not answer: what to run, at once (not kafkajs retrying)
    await checkBrokers(settings.brokers, 'or send over HTTP: --target http --token …');
    const client = new KafkaClient({ ...settings, logSink: lineSink(log) });
    const producer = client.producer();
    sink = async (batch) => {
      const spans = batch.map(() => sendSpan('his-simulator', `${Topics.hisDischarge} send`));
      try {
        await producer.send(
          Topics.hisDischarge,
          batch.map((m, i) => ({
            key: m.key,
            value: m.xml,
            headers: { 'content-type': 'application/xml', ...spans[i]?.headers },
          })),
        );
        for (const span of spans) span?.end();
      } catch (e) {
        for (const span of spans) span?.end(e);
        throw e;
      }
    };
    close = async () => {
      await producer.disconnect();
      await client.close();
    };
  } else {
    const token = option('token', process.env.ONEBILL_TOKEN ?? '');
    if (token === '') {
      process.stderr.write(
        '--target http needs a credential: --token <bearer token> or ONEBILL_TOKEN ' +
          '(npm start prints a development token; npm run credential makes one)\n',
      );
      process.exit(2);
    }
    const url = `${option('url', 'http://127.0.0.1:3000')}/api/v1/settlements`;
    sink = async (batch) => {
      await Promise.all(
        batch.map(async (m) => {
          const span = sendSpan('his-simulator', 'POST /api/v1/settlements', SpanKind.CLIENT);
          try {
            const r = await fetch(url, {
              method: 'POST',
              headers: {
                'content-type': 'application/xml',
                authorization: `Bearer ${token}`,
                ...span?.headers,
              },
              body: m.xml,
              signal: AbortSignal.timeout(30_000),
            });
            const body = (await r.json().catch(() => ({}))) as { status?: unknown };
            const what = `${r.status} ${typeof body.status === 'string' ? body.status : ''}`.trim();
            answers.set(what, (answers.get(what) ?? 0) + 1);
            span?.end();
          } catch (e) {
            span?.end(e);
            const why =
              e instanceof Error && e.cause instanceof Error ? e.cause.message : String(e);
            answers.set(`no answer (${why})`, (answers.get(`no answer (${why})`) ?? 0) + 1);
          }
        }),
      );
    };
  }
  const sent = await pace(feed, sink, { rate, count, signal: abort.signal, onProgress: progress });
  await close();
  await tracing.shutdown();
  process.stderr.write(`\ndone: ${sent} messages to ${target}\n`);
  if (target === 'http') {
    const lines = [...answers.entries()].sort((a, b) => b[1] - a[1]);
    for (const [what, n] of lines) process.stderr.write(`  ${String(n).padStart(7)}  ${what}\n`);
    // every request refused for its credential, or none answered: say it with the exit code
    const answered = lines.filter(([w]) => /^[2-4]\d\d/.test(w) && !/^40[13]/.test(w));
    if (sent > 0 && answered.length === 0) {
      process.stderr.write('the gateway accepted none of them: check --url and --token\n');
      process.exit(1);
    }
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`his-simulator: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
