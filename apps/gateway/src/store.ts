/**
 * The ledger store as a Nest provider: opened and migrated by its async factory (`open`), before
 * any provider that writes is built, and closed last, in `onApplicationShutdown`: everything that
 * depends on it (the relay, the Kafka connection, the sealer) sits higher in the dependency tree and
 * Nest shuts those down first (docs/adr/0018-nest-runtime-and-kafka-transport.md).
 */
import { type Db, failAbandonedAuditJobs, migrate, openDb } from '@onebill/ledger';
import type { ReadinessGate } from '@onebill/messaging';
import type { GatewayConfig } from './config';
import type { Logger } from './log';

export class GatewayStore {
  /** Kafka batches wait on this while the store is down (docs/adr/0010) */
  readonly gate: ReadinessGate;

  private constructor(
    readonly db: Db,
    log: Logger,
  ) {
    this.gate = {
      isReady: () => db.health.up,
      whenReady: (signal) => db.health.whenUp(signal),
    };
    db.health.onChange((state) => {
      if (state.status === 'down')
        log.error('database unavailable; pausing intake until it answers', {
          reason: state.reason,
        });
      else log.info('database available again; resuming');
    });
  }

  /** Opens PostgreSQL (DATABASE_URL) or the embedded PGlite, migrates it, fails old audit jobs. */
  static async open(config: GatewayConfig, log: Logger): Promise<GatewayStore> {
    const db = await openDb({
      ...(config.databaseUrl === null ? {} : { databaseUrl: config.databaseUrl }),
      poolSize: config.dbPoolSize,
      pg: {
        connectTimeoutMs: config.dbConnectTimeoutMs,
        queryTimeoutMs: config.dbQueryTimeoutMs,
        probeIntervalMs: config.dbProbeIntervalMs,
      },
      dataDir: config.pgliteDir === ':memory:' ? null : config.pgliteDir,
    });
    try {
      const applied = await migrate(db);
      if (applied.length > 0) log.info('database migrated', { applied });
      const abandoned = await failAbandonedAuditJobs(db);
      if (abandoned > 0) log.warn('audit jobs of an earlier run marked failed', { abandoned });
    } catch (error) {
      await db.close();
      throw error;
    }
    return new GatewayStore(db, log);
  }

  /** Nest: the last step of a stop, after the consumers drained and the relay stopped. */
  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}
