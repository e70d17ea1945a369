/**
 * Boots the gateway: config (validated) → Nest builds every provider (store opened and migrated,
 * rule book, intake, monitor, Kafka connection, relay; app.module.ts) → HTTP API → the Kafka
 * transport (when KAFKA_BROKERS is set; kafka.transport.ts) → the HIS simulator feed (embedded
 * mode). SIGINT/SIGTERM stop it cleanly with `app.close()`: no new messages, in-flight ones commit,
 * the outbox drains, the producer and the store close (docs/adr/0018).
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { isKafkaClusterMismatch, isStoreOpenError } from '@onebill/ledger';
import { preflight, startupHint, type StartupTarget } from '@onebill/messaging';
import { NestLogger, setupTracing, traceRequests } from '@onebill/observability';
import { RuleBook } from '@onebill/rules';
import { GatewayModule } from './app.module';
import { ConfigError, loadConfig } from './config';
import { bodyParserErrors } from './http.controller';
import { KafkaIngressTransport } from './kafka.transport';
import { Logger } from './log';
import { GatewayRuntime } from './runtime';
import { securityHeaders } from './security-headers';
import { SelfFeed } from './self-feed';

/** What this start needs (port, broker, database): checked first, named when it fails. */
let target: StartupTarget | undefined;

async function main(): Promise<void> {
  const config = loadConfig();
  target = { command: 'npm start', portVariable: 'PORT', ...config };
  await preflight(target);
  const tracing = await setupTracing({ serviceName: 'gateway' }); // off unless OTEL_EXPORTER_OTLP_ENDPOINT
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(config), {
    // a failed start (the store locked or damaged, a bad registry) is thrown to the catch below,
    // which prints it once; Nest's own error and warning lines are on from here on
    logger: false,
    abortOnError: false,
    bodyParser: false,
    // the message's bytes as they came (req.rawBody): the intake decodes them as it decodes a
    // Kafka message, by the XML declaration (docs/adr/0012-hostile-input.md)
    rawBody: true,
  });
  const log = app.get(Logger);
  app.useLogger(new NestLogger(log));
  const runtime = app.get(GatewayRuntime);
  // security headers on every answer, the parsers' refusals (413) included; no X-Powered-By
  app.disable('x-powered-by');
  app.use(securityHeaders);
  // A body over the size cap is still read, up to 16 times the cap, to be recorded as a
  // TOO_LARGE reject; beyond that the body parser answers 413 and nothing is stored.
  const limit = config.maxMessageBytes * 16;
  app.useBodyParser('json', { limit });
  app.useBodyParser('text', { type: ['application/xml', 'text/xml', 'text/plain'], limit });
  // a month's reconciliation detail (one line per bill) is larger than a message
  app.useBodyParser('text', { type: ['text/csv'], limit: config.maxDeclarationBytes });
  app.use(bodyParserErrors);
  app.use(traceRequests('gateway')); // continues the caller's traceparent (tracing on only)
  // onModuleInit (topics created) and onApplicationBootstrap (relay, monitor, sealer started)
  await app.init();
  const transport = app.get(KafkaIngressTransport);
  if (transport !== null) {
    // the @EventPattern handlers of kafka.controller.ts; resolves once both groups have joined
    app.connectMicroservice({ strategy: transport });
    await app.startAllMicroservices();
  }
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
  let feeding: Promise<void> = Promise.resolve();
  if (config.simulatorRate > 0 && runtime.simulatorToken !== null) {
    const feed = new SelfFeed(config, app.get(RuleBook), runtime.simulatorToken, log);
    runtime.feedStatus = () => feed.status;
    // the feed retries every failed request itself; this catch is for a bug in it, said loudly
    feeding = feed.run(abort.signal).catch((e: unknown) => {
      feed.status.phase = 'stopped';
      feed.status.lastError = e instanceof Error ? e.message : String(e);
      if (!abort.signal.aborted) log.error('simulator stopped', { error: feed.status.lastError });
    });
  }

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    abort.abort();
    void (async () => {
      await feeding;
      // HTTP and the Kafka transport close (consumers drain), then the providers' shutdown hooks
      // in dependency order: relay → producer and client → store (app.module.ts)
      await app.close();
      await tracing.shutdown();
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
  const hint = target === undefined ? null : startupHint(error, target);
  process.stderr.write(
    `${
      hint !== null
        ? `error: ${hint}`
        : error instanceof ConfigError || isStoreOpenError(error) || isKafkaClusterMismatch(error)
          ? error.message
          : error instanceof Error
            ? (error.stack ?? error.message)
            : String(error)
    }\n`,
  );
  process.exit(1);
});
