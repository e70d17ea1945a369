import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type GatewayConfig, loadConfig } from './config';

const keys = mkdtempSync(join(tmpdir(), 'onebill-config-'));
const HEADS_KEY = join(keys, 'heads.key');
writeFileSync(
  HEADS_KEY,
  generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }),
);
const RSA_KEY = join(keys, 'rsa.key');
writeFileSync(
  RSA_KEY,
  generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }),
);

/** The problems loadConfig lists for this environment (none: it did not throw). */
function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems;
  }
}

describe('gateway configuration', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('runs embedded with no environment: PGlite, no Kafka, the simulator on, a dev credential', () => {
    // the default seed is the clock modulo 2^31: a new one at every start
    jest.spyOn(Date, 'now').mockReturnValue(2 ** 31 + 7);
    const expected: GatewayConfig = {
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: null,
      dbPoolSize: 20,
      dbConnectTimeoutMs: 5000,
      dbQueryTimeoutMs: 60000,
      dbProbeIntervalMs: 2000,
      healthIntervalMs: 2000,
      consumerStallMs: 60000,
      relayStallMs: 60000,
      pgliteDir: '.data/pglite',
      kafkaBrokers: null,
      kafkaClientId: 'onebill-gateway',
      kafkaGroupId: 'onebill-gateway',
      kafkaPartitionsConcurrently: 6,
      maxMessageBytes: 65536,
      maxDeclarationBytes: 16777216,
      outboxBatch: 500,
      outboxPollMs: 50,
      outboxMaxBatchBytes: 524288,
      kafkaSendTimeoutMs: 30000,
      simulatorRate: 20,
      simulatorSeed: 7,
      simulatorYear: 2024,
      simulatorCount: 0,
      logLevel: 'info',
      statsIntervalMs: 5000,
      archiveSealMs: 1000,
      archiveHeadsKeyFile: null,
      archiveHeadsFile: null,
      credentialsFile: null,
      devCredential: 'auto',
      figuresDir: null,
      registryFile: null,
      fundsDir: null,
      intakeBatchSize: 100,
      intakeLanes: 1,
    };
    expect(loadConfig({})).toEqual(expected);
  });

  it('treats an empty variable as unset', () => {
    const c = loadConfig({
      PORT: '',
      DATABASE_URL: '',
      KAFKA_BROKERS: '',
      LOG_LEVEL: '',
      GATEWAY_CREDENTIALS_FILE: '',
      GATEWAY_DEV_CREDENTIAL: '',
      PGLITE_DIR: '',
    });
    expect(c).toMatchObject({
      port: 3000,
      databaseUrl: null,
      kafkaBrokers: null,
      logLevel: 'info',
      credentialsFile: null,
      devCredential: 'auto',
      pgliteDir: '.data/pglite',
    });
  });

  it('turns the simulator off by default when Kafka is configured', () => {
    const c = loadConfig({ KAFKA_BROKERS: 'k1:9092, k2:9093', DATABASE_URL: 'postgres://db/x' });
    expect(c.kafkaBrokers).toEqual(['k1:9092', 'k2:9093']);
    expect(c.databaseUrl).toBe('postgres://db/x');
    expect(c.simulatorRate).toBe(0);
    // with Kafka the simulator still runs when asked for
    expect(loadConfig({ KAFKA_BROKERS: 'k1:9092', SIMULATOR_RATE: '5' }).simulatorRate).toBe(5);
  });

  it('reads every variable it documents', () => {
    const c = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgresql://u:p@db:5432/onebill',
      DB_POOL_SIZE: '50',
      DB_CONNECT_TIMEOUT_MS: '3000',
      DB_QUERY_TIMEOUT_MS: '0',
      DB_PROBE_INTERVAL_MS: '1000',
      HEALTH_INTERVAL_MS: '500',
      CONSUMER_STALL_MS: '30000',
      RELAY_STALL_MS: '45000',
      PGLITE_DIR: ':memory:',
      KAFKA_BROKERS: 'kafka:9092',
      KAFKA_CLIENT_ID: 'gw-a',
      KAFKA_GROUP_ID: 'gw-group',
      KAFKA_PARTITIONS_CONCURRENTLY: '12',
      MAX_MESSAGE_BYTES: '131072',
      MAX_DECLARATION_BYTES: '2048',
      OUTBOX_BATCH: '100',
      OUTBOX_POLL_MS: '250',
      OUTBOX_MAX_BATCH_BYTES: '262144',
      KAFKA_SEND_TIMEOUT_MS: '5000',
      SIMULATOR_RATE: '40',
      SIMULATOR_SEED: '42',
      SIMULATOR_YEAR: '2025',
      SIMULATOR_COUNT: '1000',
      LOG_LEVEL: 'debug',
      INTAKE_BATCH_SIZE: '64',
      INTAKE_LANES: '3',
      STATS_INTERVAL_MS: '0',
      ARCHIVE_SEAL_MS: '250',
      ARCHIVE_HEADS_KEY_FILE: HEADS_KEY,
      ARCHIVE_HEADS_FILE: '/var/lib/onebill/archive-heads.jsonl',
      GATEWAY_CREDENTIALS_FILE: '/etc/onebill/credentials.json',
      GATEWAY_DEV_CREDENTIAL: 'off',
      ONEBILL_FIGURES_DIR: '/etc/onebill/figures',
      ONEBILL_REGISTRY: '/etc/onebill/hospitals.json',
      ONEBILL_FUNDS_DIR: '/etc/onebill/funds',
    });
    expect(c).toEqual({
      port: 8080,
      host: '0.0.0.0',
      databaseUrl: 'postgresql://u:p@db:5432/onebill',
      dbPoolSize: 50,
      dbConnectTimeoutMs: 3000,
      dbQueryTimeoutMs: 0,
      dbProbeIntervalMs: 1000,
      healthIntervalMs: 500,
      consumerStallMs: 30000,
      relayStallMs: 45000,
      pgliteDir: ':memory:',
      kafkaBrokers: ['kafka:9092'],
      kafkaClientId: 'gw-a',
      kafkaGroupId: 'gw-group',
      kafkaPartitionsConcurrently: 12,
      maxMessageBytes: 131072,
      maxDeclarationBytes: 2048,
      outboxBatch: 100,
      outboxPollMs: 250,
      outboxMaxBatchBytes: 262144,
      kafkaSendTimeoutMs: 5000,
      simulatorRate: 40,
      simulatorSeed: 42,
      simulatorYear: 2025,
      simulatorCount: 1000,
      logLevel: 'debug',
      statsIntervalMs: 0,
      archiveSealMs: 250,
      archiveHeadsKeyFile: HEADS_KEY,
      archiveHeadsFile: '/var/lib/onebill/archive-heads.jsonl',
      credentialsFile: '/etc/onebill/credentials.json',
      devCredential: 'off',
      figuresDir: '/etc/onebill/figures',
      registryFile: '/etc/onebill/hospitals.json',
      fundsDir: '/etc/onebill/funds',
      intakeBatchSize: 64,
      intakeLanes: 3,
    });
  });

  it('refuses a heads key that is not Ed25519, and a heads file without a key', () => {
    expect(problemsOf({ ARCHIVE_HEADS_KEY_FILE: RSA_KEY })).toEqual([
      `ARCHIVE_HEADS_KEY_FILE: ${RSA_KEY}: an Ed25519 key is needed, this is rsa`,
    ]);
    expect(problemsOf({ ARCHIVE_HEADS_KEY_FILE: join(keys, 'none.key') })[0]).toMatch(
      /^ARCHIVE_HEADS_KEY_FILE: .*none\.key: not a private key/,
    );
    expect(problemsOf({ ARCHIVE_HEADS_FILE: '/tmp/heads.jsonl' })).toEqual([
      'ARCHIVE_HEADS_FILE needs ARCHIVE_HEADS_KEY_FILE: the heads file holds signed heads',
    ]);
  });

  describe('whole numbers within their range', () => {
    // [variable, min, max]: each is accepted at both edges and refused one step outside
    const ranges: [string, number, number][] = [
      ['PORT', 1, 65535],
      ['DB_POOL_SIZE', 1, 500],
      ['DB_CONNECT_TIMEOUT_MS', 100, 600_000],
      ['DB_QUERY_TIMEOUT_MS', 0, 3_600_000],
      ['DB_PROBE_INTERVAL_MS', 250, 60_000],
      ['HEALTH_INTERVAL_MS', 100, 60_000],
      ['CONSUMER_STALL_MS', 1000, 86_400_000],
      ['RELAY_STALL_MS', 1000, 86_400_000],
      ['KAFKA_PARTITIONS_CONCURRENTLY', 1, 64],
      ['MAX_MESSAGE_BYTES', 1024, 10 * 1024 * 1024],
      ['MAX_DECLARATION_BYTES', 1024, 256 * 1024 * 1024],
      ['ARCHIVE_SEAL_MS', 0, 3_600_000],
      ['OUTBOX_BATCH', 1, 10000],
      ['OUTBOX_POLL_MS', 5, 60000],
      // below the broker's default message.max.bytes (1048588): docs/adr/0011
      ['OUTBOX_MAX_BATCH_BYTES', 16 * 1024, 1_000_000],
      ['KAFKA_SEND_TIMEOUT_MS', 1000, 600_000],
      ['SIMULATOR_RATE', 0, 100000],
      ['SIMULATOR_SEED', 0, 2 ** 31],
      ['SIMULATOR_YEAR', 2023, 2100],
      ['SIMULATOR_COUNT', 0, 100_000_000],
      ['STATS_INTERVAL_MS', 0, 3_600_000],
      ['INTAKE_BATCH_SIZE', 1, 5000],
      ['INTAKE_LANES', 1, 64],
    ];

    it.each(ranges)('%s accepts %d and %d', (name, min, max) => {
      expect(problemsOf({ [name]: String(min) })).toEqual([]);
      expect(problemsOf({ [name]: String(max) })).toEqual([]);
    });

    it.each(ranges)('%s refuses one under %d and one over %d', (name, min, max) => {
      expect(problemsOf({ [name]: String(max + 1) })).toEqual([
        `${name}=${max + 1} must be between ${min} and ${max}`,
      ]);
      // one under zero is not a whole number at all
      expect(problemsOf({ [name]: String(min - 1) })).toEqual([
        min === 0
          ? `${name}="-1" must be a whole number`
          : `${name}=${min - 1} must be between ${min} and ${max}`,
      ]);
    });

    it.each(['eighty', '1.5', '-3', '0x10', '3000 ', '1e3'])(
      'refuses PORT="%s" as not a whole number',
      (raw) => {
        expect(problemsOf({ PORT: raw })).toEqual([`PORT="${raw}" must be a whole number`]);
      },
    );
  });

  it('accepts postgres:// and postgresql:// URLs and nothing else', () => {
    expect(problemsOf({ DATABASE_URL: 'postgres://h/db' })).toEqual([]);
    expect(problemsOf({ DATABASE_URL: 'postgresql://h/db' })).toEqual([]);
    for (const url of ['mysql://h/db', 'h:5432/db', 'POSTGRES://h/db']) {
      expect(problemsOf({ DATABASE_URL: url })).toEqual([
        'DATABASE_URL must start with postgres:// or postgresql://',
      ]);
    }
  });

  it('names each Kafka broker that is not host:port', () => {
    expect(problemsOf({ KAFKA_BROKERS: 'kafka:9092,10.0.0.7:19092,broker-2.local:9093' })).toEqual(
      [],
    );
    expect(problemsOf({ KAFKA_BROKERS: 'kafka:9092,kafka,kafka:port,:9092' })).toEqual([
      'KAFKA_BROKERS entry "kafka" must be host:port',
      'KAFKA_BROKERS entry "kafka:port" must be host:port',
      'KAFKA_BROKERS entry ":9092" must be host:port',
    ]);
  });

  it('knows four log levels', () => {
    for (const level of ['debug', 'info', 'warn', 'error']) {
      expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
    }
    expect(problemsOf({ LOG_LEVEL: 'INFO' })).toEqual([
      'LOG_LEVEL="INFO" must be one of debug, info, warn, error',
    ]);
  });

  it('knows two dev-credential modes', () => {
    expect(loadConfig({ GATEWAY_DEV_CREDENTIAL: 'off' }).devCredential).toBe('off');
    expect(problemsOf({ GATEWAY_DEV_CREDENTIAL: 'yes' })).toEqual([
      'GATEWAY_DEV_CREDENTIAL="yes" must be auto or off',
    ]);
  });

  it('lists every problem at once, naming the variable and the rule', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        MAX_MESSAGE_BYTES: '10',
        OUTBOX_POLL_MS: '1',
        DATABASE_URL: 'mysql://x',
        KAFKA_BROKERS: 'nohostport',
        LOG_LEVEL: 'loud',
        GATEWAY_DEV_CREDENTIAL: 'yes',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = [
      'DATABASE_URL must start with postgres:// or postgresql://',
      'KAFKA_BROKERS entry "nohostport" must be host:port',
      'LOG_LEVEL="loud" must be one of debug, info, warn, error',
      'GATEWAY_DEV_CREDENTIAL="yes" must be auto or off',
      'PORT="eighty" must be a whole number',
      'MAX_MESSAGE_BYTES=10 must be between 1024 and 10485760',
      'OUTBOX_POLL_MS=1 must be between 5 and 60000',
    ];
    expect([...(error as ConfigError).problems].sort()).toEqual([...problems].sort());
    // the message main.ts prints before exiting 1: one problem a line
    const message = (error as ConfigError).message;
    expect(message.split('\n')).toHaveLength(problems.length + 1);
    expect(message.startsWith('invalid configuration:\n')).toBe(true);
    for (const p of problems) expect(message).toContain(`\n  - ${p}`);
    expect((error as ConfigError).name).toBe('ConfigError');
  });
});
