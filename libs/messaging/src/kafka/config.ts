/**
 * Settings of our Kafka clients and the bridge from kafkajs's logger to ours. kafkajs is chatty at
 * INFO (every join, every connect); its level is set here by configuration (KAFKA_LOG_LEVEL).
 */
import { logLevel as KafkaJsLogLevel, type LogEntry, type logCreator } from 'kafkajs';

export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

/** Where kafkajs's log lines (and our client's own) go. Nest's Logger fits this shape. */
export interface KafkaLogSink {
  error(message: string): void;
  warn(message: string): void;
  log(message: string): void;
  debug?(message: string): void;
}

export interface KafkaSettings {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Prefix of the client ids this process shows the broker. */
  clientId: string;
  /** kafkajs's log level (default `warn`). */
  logLevel?: KafkaLogLevel;
  /** Where log lines go (default: the console, on stderr). */
  logSink?: KafkaLogSink;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

const LEVELS: Record<KafkaLogLevel, KafkaJsLogLevel> = {
  nothing: KafkaJsLogLevel.NOTHING,
  error: KafkaJsLogLevel.ERROR,
  warn: KafkaJsLogLevel.WARN,
  info: KafkaJsLogLevel.INFO,
  debug: KafkaJsLogLevel.DEBUG,
};

export function isKafkaLogLevel(value: string): value is KafkaLogLevel {
  return Object.prototype.hasOwnProperty.call(LEVELS, value);
}

/**
 * Reads KAFKA_BROKERS (comma separated, required), KAFKA_CLIENT_ID and KAFKA_LOG_LEVEL.
 * Throws on a missing broker list or an unknown level rather than guessing. The caller (an app's
 * configuration) passes the environment: the library reads none on its own.
 */
export function kafkaSettingsFromEnv(
  env: NodeJS.ProcessEnv,
  defaults: { clientId: string; logLevel?: KafkaLogLevel } = { clientId: 'onebill' },
): KafkaSettings {
  const brokers = (env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker.length > 0);
  if (brokers.length === 0) throw new Error('KAFKA_BROKERS is not set (host:port[,host:port])');
  const level = env.KAFKA_LOG_LEVEL?.trim().toLowerCase() || defaults.logLevel || 'warn';
  if (!isKafkaLogLevel(level)) {
    throw new Error(
      `KAFKA_LOG_LEVEL must be one of ${Object.keys(LEVELS).join(', ')}; got ${level}`,
    );
  }
  return { brokers, clientId: env.KAFKA_CLIENT_ID?.trim() || defaults.clientId, logLevel: level };
}

export function toKafkaJsLogLevel(level: KafkaLogLevel | undefined): KafkaJsLogLevel {
  return LEVELS[level ?? 'warn'];
}

export const consoleLogSink: KafkaLogSink = {
  error: (message) => console.error(message),
  warn: (message) => console.warn(message),
  log: (message) => console.error(message),
  debug: (message) => console.error(message),
};

function describeExtra(entry: LogEntry): string {
  const { timestamp: _timestamp, message: _message, logger: _logger, ...extra } = entry.log;
  const parts = Object.entries(extra)
    .filter(([, value]) => value !== undefined && typeof value !== 'function')
    .map(([key, value]) => {
      const text =
        value instanceof Error
          ? value.message
          : typeof value === 'string'
            ? value
            : JSON.stringify(value);
      return `${key}=${text}`;
    });
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

/** A kafkajs logCreator writing one line per entry to the sink. */
export function kafkaJsLogCreator(sink: KafkaLogSink): logCreator {
  return () => (entry: LogEntry) => {
    const line = `[kafkajs] ${entry.namespace ? `${entry.namespace}: ` : ''}${entry.log.message}${describeExtra(entry)}`;
    switch (entry.level) {
      case KafkaJsLogLevel.ERROR:
        sink.error(line);
        break;
      case KafkaJsLogLevel.WARN:
        sink.warn(line);
        break;
      case KafkaJsLogLevel.INFO:
        sink.log(line);
        break;
      case KafkaJsLogLevel.DEBUG:
        sink.debug?.(line);
        break;
      case KafkaJsLogLevel.NOTHING:
        break;
    }
  };
}
