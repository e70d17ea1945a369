/**
 * Every environment variable of the county payment service, parsed and validated once at start;
 * a bad value stops the start with the list of what is wrong.
 */
import { kafkaSettingsFromEnv, type KafkaSettings } from '@onebill/messaging';
import type { Level } from '@onebill/observability/log';

export interface CountyPaymentsConfig {
  kafka: KafkaSettings;
  /** PostgreSQL URL, or undefined for PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** The counties (admdvs) this service pays for; `'*'` for all. */
  counties: readonly string[] | '*';
  port: number;
  groupId: string;
  /** LOG_LEVEL: debug | info | warn | error (default info) */
  logLevel: Level;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`county-payments: invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): CountyPaymentsConfig {
  const problems: string[] = [];

  let kafka: KafkaSettings | undefined;
  try {
    kafka = kafkaSettingsFromEnv(env, { clientId: 'county-payments' });
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }

  const rawCounties = env.COUNTY_ADMDVS?.trim() ?? '';
  let counties: readonly string[] | '*' = [];
  if (rawCounties === '*') {
    counties = '*';
  } else if (rawCounties === '') {
    problems.push('COUNTY_ADMDVS is not set (comma list of 6-digit admdvs codes, or * for all)');
  } else {
    const codes = rawCounties.split(',').map((c) => c.trim());
    const bad = codes.filter((c) => !/^\d{6}$/.test(c));
    if (bad.length > 0) problems.push(`COUNTY_ADMDVS: not 6-digit admdvs codes: ${bad.join(', ')}`);
    counties = [...new Set(codes)].sort();
  }

  const rawPort = env.PORT?.trim() || '3100';
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port < 1 || port > 65535) {
    problems.push(`PORT: not a TCP port: ${rawPort}`);
  }

  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL: not a postgres:// URL');
  }

  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    problems.push(`LOG_LEVEL="${logLevel}" must be one of debug, info, warn, error`);
  }

  if (problems.length > 0 || !kafka) throw new ConfigError(problems);
  const label = counties === '*' ? 'all' : counties.join('-');
  return {
    kafka,
    databaseUrl,
    dataDir: env.COUNTY_PAYMENTS_DATA_DIR?.trim() || '.data/county-payments',
    counties,
    port,
    groupId: env.KAFKA_GROUP_ID?.trim() || `county-payments-${label}`,
    logLevel: logLevel as Level,
  };
}
