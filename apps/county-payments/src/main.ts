/**
 * Boots the reference county payment service: config → database (migrated) → HTTP → consumer.
 * Stops cleanly on SIGINT/SIGTERM: in-flight batches commit before the group is left.
 * Logs are JSON lines (pino, libs/observability); traces go over OTLP when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { isStoreOpenError } from '@onebill/ledger';
import { lineSink, Logger, NestLogger, setupTracing } from '@onebill/observability';
import { preflight, startupHint, type StartupTarget } from '@onebill/messaging';
import { CountyPaymentsModule } from './app.module';
import { ConfigError, loadConfig } from './config';
import { CountyPaymentsRuntime } from './runtime';

/** What this start needs (port, broker, database): checked first, named when it fails. */
let target: StartupTarget | undefined;

async function main(): Promise<void> {
  const config = loadConfig();
  const log = new Logger(config.logLevel, { service: 'county-payments' });
  target = {
    command: 'npm run start:county',
    portVariable: 'PORT',
    port: config.port,
    kafkaBrokers: config.kafka.brokers,
    databaseUrl: config.databaseUrl,
  };
  await preflight(target);
  const tracing = await setupTracing({ serviceName: 'county-payments' }); // off unless configured
  const runtime = await CountyPaymentsRuntime.open(config, lineSink(log));
  const app = await NestFactory.create(CountyPaymentsModule.forRuntime(runtime), {
    logger: new NestLogger(log),
  });
  await app.listen(config.port);
  await runtime.start();
  log.info('county-payments ready', {
    http: `http://localhost:${config.port}`,
    counties: config.counties === '*' ? 'all counties' : config.counties.join(', '),
    group: config.groupId,
    database: runtime.db.driver,
    traces: tracing.target ?? 'off (set OTEL_EXPORTER_OTLP_ENDPOINT)',
  });

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    void (async () => {
      await app.close();
      await runtime.stop();
      await tracing.shutdown();
    })().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('stop failed', {
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  const hint = target === undefined ? null : startupHint(error, target);
  console.error(
    hint !== null
      ? `error: ${hint}`
      : error instanceof ConfigError || isStoreOpenError(error)
        ? error.message
        : error,
  );
  process.exit(1);
});
