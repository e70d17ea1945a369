/**
 * Boots the reference county payment service: config → database (migrated) → HTTP → consumer.
 * Stops cleanly on SIGINT/SIGTERM: in-flight batches commit before the group is left.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { isStoreOpenError } from '@onebill/ledger';
import { CountyPaymentsModule } from './app.module';
import { ConfigError, loadConfig } from './config';
import { CountyPaymentsRuntime } from './runtime';

async function main(): Promise<void> {
  const config = loadConfig();
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
  console.error(error instanceof ConfigError || isStoreOpenError(error) ? error.message : error);
  process.exit(1);
});
