/**
 * Boots the reference county payment service: config → database (migrated) → HTTP → consumer.
 * Stops cleanly on SIGINT/SIGTERM: in-flight batches commit before the group is left.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { isStoreOpenError } from '@onebill/ledger';
import { preflight, startupHint, type StartupTarget } from '@onebill/messaging';
import { CountyPaymentsModule } from './app.module';
import { ConfigError, loadConfig } from './config';
import { CountyPaymentsRuntime } from './runtime';

/** What this start needs (port, broker, database): checked first, named when it fails. */
let target: StartupTarget | undefined;

async function main(): Promise<void> {
  const config = loadConfig();
  target = {
    command: 'npm run start:county',
    portVariable: 'PORT',
    port: config.port,
    kafkaBrokers: config.kafka.brokers,
    databaseUrl: config.databaseUrl,
  };
  await preflight(target);
  const runtime = await CountyPaymentsRuntime.open(config);
  const app = await NestFactory.create(CountyPaymentsModule.forRuntime(runtime), {
    logger: ['error', 'warn', 'log'],
  });
  await app.listen(config.port);
  await runtime.start();
  const counties = config.counties === '*' ? 'all counties' : config.counties.join(', ');
  console.log(
    `[county-payments] http://localhost:${config.port} · ${counties} · group ${config.groupId} · ${runtime.db.driver}`,
  );

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`[county-payments] ${signal}: stopping`);
    void (async () => {
      await app.close();
      await runtime.stop();
    })().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
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
