/**
 * Boots the gateway: config (validated) → database (migrated) → rule book → HTTP API → Kafka
 * ingress and outbox relay (when KAFKA_BROKERS is set) → the HIS simulator feed (embedded mode).
 * SIGINT/SIGTERM stop it cleanly: no new messages, in-flight ones commit, the outbox drains.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { isStoreOpenError } from '@onebill/ledger';
import { type RuleBook } from '@onebill/rules';
import { Feed, type FeedMessage } from '../../his-simulator/src/feed';
import { pace } from '../../his-simulator/src/pace';
import { GatewayModule } from './app.module';
import { ConfigError, type GatewayConfig, loadConfig } from './config';
import { Logger } from './log';
import { GatewayRuntime } from './runtime';

/** Embedded demo: the simulator posts bills to our own HTTP API, as a cashier's desk would. */
async function feedSelf(
  config: GatewayConfig,
  rules: RuleBook,
  token: string,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  const url = `http://127.0.0.1:${config.port}/api/v1/settlements`;
  const feed = new Feed({
    seed: config.simulatorSeed,
    year: config.simulatorYear,
    hospitals: rules
      .allHospitals()
      .map((h) => ({ code: h.fixmedins_code, level: h.level, region: h.region })),
    persons: 2000,
    duplicates: 0.05,
    malformed: 0.02,
  });
  const sink = async (batch: FeedMessage[]): Promise<void> => {
    await Promise.all(
      batch.map(async (m) => {
        const r = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/xml', authorization: `Bearer ${token}` },
          body: m.xml,
          signal,
        });
        await r.arrayBuffer();
      }),
    );
  };
  log.info('simulator feeding the HTTP API', {
    rate: config.simulatorRate,
    count: config.simulatorCount,
    seed: config.simulatorSeed,
  });
  const sent = await pace(feed, sink, {
    rate: config.simulatorRate,
    count: config.simulatorCount,
    signal,
  });
  log.info('simulator done', { sent });
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = new Logger(config.logLevel, { service: 'gateway' });
  const runtime = await GatewayRuntime.open(config, log);
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRuntime(runtime), {
    logger: ['error', 'warn'],
    bodyParser: false,
  });
  // the size cap applies before anything is parsed (413 beyond it)
  const limit = config.maxMessageBytes;
  app.useBodyParser('json', { limit });
  app.useBodyParser('text', { type: ['application/xml', 'text/xml', 'text/plain'], limit });
  // a month's reconciliation detail (one line per bill) is larger than a message
  app.useBodyParser('text', { type: ['text/csv'], limit: config.maxDeclarationBytes });
  app.enableShutdownHooks([]);
  await runtime.start();
  await app.listen(config.port, config.host);
  log.info('gateway ready', {
    http: `http://${config.host}:${config.port}`,
    openapi: `http://${config.host}:${config.port}/api/v1/openapi.yaml`,
    database:
      config.databaseUrl === null ? `PGlite ${config.pgliteDir}` : 'PostgreSQL (DATABASE_URL)',
    kafka: config.kafkaBrokers?.join(',') ?? 'off (embedded mode: HTTP only)',
    console: `http://${config.host}:${config.port}/console`,
    credentials: config.credentialsFile ?? (runtime.devToken === null ? 'none' : 'development'),
  });
  if (runtime.devToken !== null) {
    // printed once, on the terminal of whoever started it; not a log field, never in the store
    process.stdout.write(
      `\n  development credential (role operator, this run only; set GATEWAY_CREDENTIALS_FILE for real ones):\n` +
        `    Authorization: Bearer ${runtime.devToken}\n` +
        `    console: http://${config.host}:${config.port}/console  (paste the token to sign in)\n\n`,
    );
  }

  const abort = new AbortController();
  const feeding =
    config.simulatorRate > 0 && runtime.simulatorToken !== null
      ? feedSelf(config, runtime.rules, runtime.simulatorToken, log, abort.signal).catch(
          (e: unknown) => {
            if (!abort.signal.aborted)
              log.error('simulator failed', { error: e instanceof Error ? e.message : String(e) });
          },
        )
      : Promise.resolve();

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    abort.abort();
    void (async () => {
      await feeding;
      await app.close();
      await runtime.stop();
    })().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('stop failed', { error: error instanceof Error ? error.message : String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof ConfigError || isStoreOpenError(error) ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
