/**
 * Every environment variable the gateway reads, parsed and validated once at start into one typed
 * object. A bad value stops the start with the list of everything that is wrong. The result is the
 * one configuration provider of the Nest application (`GATEWAY_CONFIG`): no service or library
 * reads `process.env` on its own (docs/adr/0018-nest-runtime-and-kafka-transport.md).
 */
import { loadHeadSigningKey } from '@onebill/ledger';
/** The Nest injection token of the validated configuration. */
export const GATEWAY_CONFIG = Symbol('GatewayConfig');

export interface GatewayConfig {
  /** HTTP port of the cashier's-desk API and the console */
  port: number;
  host: string;
  /** PostgreSQL URL; when absent the embedded PGlite store is used */
  databaseUrl: string | null;
  /** PostgreSQL connections at most (the Kafka lanes and the relay share them) */
  dbPoolSize: number;
  /** give up connecting to PostgreSQL after this long */
  dbConnectTimeoutMs: number;
  /** a statement with no answer after this long fails (0 = never) */
  dbQueryTimeoutMs: number;
  /** the store probe's period while up, and its longest back-off while down */
  dbProbeIntervalMs: number;
  /** how often the health monitor checks the broker, consumer progress and the outbox */
  healthIntervalMs: number;
  /** a partition with lag whose committed offset stands still this long is stalled */
  consumerStallMs: number;
  /** the relay is stalled when the oldest unpublished event is older than this */
  relayStallMs: number;
  /** PGlite data folder (embedded default); ":memory:" for a throw-away store */
  pgliteDir: string;
  /** Kafka bootstrap brokers, comma-separated; when absent there is no Kafka intake or relay */
  kafkaBrokers: string[] | null;
  kafkaClientId: string;
  kafkaGroupId: string;
  /** Kafka partitions the consumer works on at once (each with its lanes by person) */
  kafkaPartitionsConcurrently: number;
  /** largest discharge message accepted, in bytes (checked before parsing) */
  maxMessageBytes: number;
  /** largest reconciliation CSV accepted over HTTP */
  maxDeclarationBytes: number;
  /** outbox relay: rows per batch and idle poll interval */
  outboxBatch: number;
  outboxPollMs: number;
  /**
   * outbox relay: bytes per batch at most, below the broker's `message.max.bytes` (1 MB by
   * default; kafkajs sends one batch per partition per request); docs/adr/0011
   */
  outboxMaxBatchBytes: number;
  /** a Kafka send (the relay's) fails after this long instead of waiting for the broker */
  kafkaSendTimeoutMs: number;
  /** feed the embedded default with the HIS simulator: bills per second, 0 = off */
  simulatorRate: number;
  simulatorSeed: number;
  /** the year of the simulated bills (yearly figures must exist for it) */
  simulatorYear: number;
  /** stop the simulator after this many bills (0 = no limit) */
  simulatorCount: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** a 'flow' line with the counters and the outbox backlog every so often (0 = never) */
  statsIntervalMs: number;
  /**
   * how often the archive sealer extends the hash chain (0 = never: seal with
   * `npm run audit:cli -- archive seal`)
   */
  archiveSealMs: number;
  /** Ed25519 private key (PEM) that signs each published archive head; null = heads unsigned */
  archiveHeadsKeyFile: string | null;
  /** file each signed archive head is appended to (needs the key); null = none */
  archiveHeadsFile: string | null;
  /** JSON file of credentials (name, role, hospital, token SHA-256); null = none configured */
  credentialsFile: string | null;
  /**
   * 'auto': when no credentials file is configured, create a development operator credential and
   * print its token at start; 'off': never (the API then answers 401 to everyone).
   */
  devCredential: 'auto' | 'off';
  /** the yearly figures' folder (ONEBILL_FIGURES_DIR); null = config/figures */
  figuresDir: string | null;
  /** the hospital registry (ONEBILL_REGISTRY); null = config/hospitals.json */
  registryFile: string | null;
  /** the fund data's folder (ONEBILL_FUNDS_DIR); null = config/funds */
  fundsDir: string | null;
  /**
   * Group commit (docs/adr/0020-group-commit.md; measured in bench/README.md, "Group commit
   * knobs"): messages of a fetched batch settled in one transaction at most (a lane's messages
   * are cut into transactions of this many), and lanes per fetched batch (by person; each lane
   * its own transaction, run at once).
   */
  intakeBatchSize: number;
  intakeLanes: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw)) {
      problems.push(`${name}="${raw}" must be a whole number`);
      return fallback;
    }
    const v = Number.parseInt(raw, 10);
    if (v < min || v > max) problems.push(`${name}=${v} must be between ${min} and ${max}`);
    return v;
  };
  const str = (name: string, fallback: string): string => {
    const raw = env[name];
    return raw === undefined || raw === '' ? fallback : raw;
  };

  const databaseUrl =
    env.DATABASE_URL === undefined || env.DATABASE_URL === '' ? null : env.DATABASE_URL;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must start with postgres:// or postgresql://');
  }
  let kafkaBrokers: string[] | null = null;
  if (env.KAFKA_BROKERS !== undefined && env.KAFKA_BROKERS !== '') {
    kafkaBrokers = env.KAFKA_BROKERS.split(',').map((b) => b.trim());
    for (const b of kafkaBrokers) {
      if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(b))
        problems.push(`KAFKA_BROKERS entry "${b}" must be host:port`);
    }
  }
  const logLevel = str('LOG_LEVEL', 'info');
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    problems.push(`LOG_LEVEL="${logLevel}" must be one of debug, info, warn, error`);
  }
  const devCredential = str('GATEWAY_DEV_CREDENTIAL', 'auto');
  if (devCredential !== 'auto' && devCredential !== 'off') {
    problems.push(`GATEWAY_DEV_CREDENTIAL="${devCredential}" must be auto or off`);
  }
  const optional = (name: string): string | null => {
    const raw = env[name];
    return raw === undefined || raw === '' ? null : raw;
  };
  const archiveHeadsKeyFile = optional('ARCHIVE_HEADS_KEY_FILE');
  const archiveHeadsFile = optional('ARCHIVE_HEADS_FILE');
  if (archiveHeadsKeyFile !== null) {
    try {
      loadHeadSigningKey(archiveHeadsKeyFile);
    } catch (e) {
      problems.push(`ARCHIVE_HEADS_KEY_FILE: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (archiveHeadsFile !== null && archiveHeadsKeyFile === null) {
    problems.push(
      'ARCHIVE_HEADS_FILE needs ARCHIVE_HEADS_KEY_FILE: the heads file holds signed heads',
    );
  }
  const config: GatewayConfig = {
    port: int('PORT', 3000, 1, 65535),
    host: str('HOST', '127.0.0.1'),
    databaseUrl,
    dbPoolSize: int('DB_POOL_SIZE', 20, 1, 500),
    dbConnectTimeoutMs: int('DB_CONNECT_TIMEOUT_MS', 5000, 100, 600_000),
    dbQueryTimeoutMs: int('DB_QUERY_TIMEOUT_MS', 60_000, 0, 3_600_000),
    dbProbeIntervalMs: int('DB_PROBE_INTERVAL_MS', 2000, 250, 60_000),
    healthIntervalMs: int('HEALTH_INTERVAL_MS', 2000, 100, 60_000),
    consumerStallMs: int('CONSUMER_STALL_MS', 60_000, 1000, 86_400_000),
    relayStallMs: int('RELAY_STALL_MS', 60_000, 1000, 86_400_000),
    pgliteDir: str('PGLITE_DIR', '.data/pglite'),
    kafkaBrokers,
    kafkaClientId: str('KAFKA_CLIENT_ID', 'onebill-gateway'),
    kafkaGroupId: str('KAFKA_GROUP_ID', 'onebill-gateway'),
    kafkaPartitionsConcurrently: int('KAFKA_PARTITIONS_CONCURRENTLY', 6, 1, 64),
    maxMessageBytes: int('MAX_MESSAGE_BYTES', 65536, 1024, 10 * 1024 * 1024),
    maxDeclarationBytes: int('MAX_DECLARATION_BYTES', 16 * 1024 * 1024, 1024, 256 * 1024 * 1024),
    outboxBatch: int('OUTBOX_BATCH', 500, 1, 10000),
    outboxPollMs: int('OUTBOX_POLL_MS', 50, 5, 60000),
    outboxMaxBatchBytes: int('OUTBOX_MAX_BATCH_BYTES', 512 * 1024, 16 * 1024, 1_000_000),
    kafkaSendTimeoutMs: int('KAFKA_SEND_TIMEOUT_MS', 30_000, 1000, 600_000),
    // embedded mode (no Kafka) feeds itself so that a fresh clone shows bills flowing
    simulatorRate: int('SIMULATOR_RATE', kafkaBrokers === null ? 20 : 0, 0, 100000),
    // a new seed per start by default: a persistent PGlite store would see yesterday's bills again
    simulatorSeed: int('SIMULATOR_SEED', Date.now() % 2 ** 31, 0, 2 ** 31),
    simulatorYear: int('SIMULATOR_YEAR', 2024, 2023, 2100),
    simulatorCount: int('SIMULATOR_COUNT', 0, 0, 100_000_000),
    logLevel: logLevel as GatewayConfig['logLevel'],
    statsIntervalMs: int('STATS_INTERVAL_MS', 5000, 0, 3_600_000),
    archiveSealMs: int('ARCHIVE_SEAL_MS', 1000, 0, 3_600_000),
    archiveHeadsKeyFile,
    archiveHeadsFile,
    credentialsFile:
      env.GATEWAY_CREDENTIALS_FILE === undefined || env.GATEWAY_CREDENTIALS_FILE === ''
        ? null
        : env.GATEWAY_CREDENTIALS_FILE,
    devCredential: devCredential === 'off' ? 'off' : 'auto',
    figuresDir: optional('ONEBILL_FIGURES_DIR'),
    registryFile: optional('ONEBILL_REGISTRY'),
    fundsDir: optional('ONEBILL_FUNDS_DIR'),
    // group commit: defaults measured with bench/ledger-writers.bench.ts (bench/README.md)
    intakeBatchSize: int('INTAKE_BATCH_SIZE', 100, 1, 5000),
    intakeLanes: int('INTAKE_LANES', 1, 1, 64),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
