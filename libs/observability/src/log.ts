/**
 * Structured JSON logs through pino, one line per event, with the correlation id of the message
 * they concern. ID-card numbers and names never reach a log whole: `maskCertno`, `maskName`, and
 * `redact` for whole objects, applied by pino's `formatters.log` hook to every entry; an ID-card
 * number written into any string (the message included) is masked as well.
 *
 * pino does the levels, the serialization and the sink. The line keeps its readable order —
 * `time`, `level`, `msg`, then the base fields and the event's fields — and a child's field
 * replaces its parent's instead of appearing twice.
 */
import pino from 'pino';

export type Level = 'debug' | 'info' | 'warn' | 'error';

/** 510402199001011234 → 510402********1234 */
export function maskCertno(certno: string): string {
  if (certno.length <= 4) return '*'.repeat(certno.length);
  const head = certno.length >= 14 ? certno.slice(0, 6) : '';
  return `${head}${'*'.repeat(certno.length - head.length - 4)}${certno.slice(-4)}`;
}

/** 张三丰 → 张**; Ming Li → M****** */
export function maskName(name: string): string {
  const chars = [...name];
  if (chars.length === 0) return '';
  return `${chars[0] ?? ''}${'*'.repeat(Math.max(1, chars.length - 1))}`;
}

const SENSITIVE = /^(certno|psn_name|name|psnName|cert_no|id_card|idCard)$/;

/** A copy with ID numbers and names masked, however deep. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (SENSITIVE.test(k) && typeof v === 'string') {
      out[k] = /name/i.test(k) ? maskName(v) : maskCertno(v);
    } else out[k] = redact(v);
  }
  return out;
}

/**
 * A resident ID-card number (GB 11643: region, birth date 18xx–20xx, sequence, check digit)
 * standing alone in a text, e.g. in an error message that quotes a field.
 */
const ID_CARD_IN_TEXT =
  /(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])/g;

/** `redact`, and ID-card numbers inside any string masked too. */
function scrub(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(ID_CARD_IN_TEXT, maskCertno);
  if (Array.isArray(value)) return value.map(scrub);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(redact(value) as Record<string, unknown>)) out[k] = scrub(v);
  return out;
}

/** The fields of an entry. */
export interface LogFields {
  [key: string]: unknown;
}

type Writer = (line: string) => void;

function instance(level: Level, write: Writer): pino.Logger {
  return pino(
    {
      level,
      // no pid/hostname: the fields are the caller's (service, correlationId, …)
      base: null,
      // the level is a field of the entry (see Logger.log), so that `time` can come first
      formatters: { level: () => ({}), log: (entry) => scrub(entry) as Record<string, unknown> },
      timestamp: () => `"time":"${new Date().toISOString()}"`,
    },
    {
      // pino's line ends with "\n"; the writer takes the line without it
      write: (chunk: string) => write(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk),
    },
  );
}

export class Logger {
  private readonly pino: pino.Logger;

  constructor(
    private readonly level: Level = 'info',
    private readonly base: LogFields = {},
    private readonly write: Writer = (l) => process.stdout.write(`${l}\n`),
    shared?: pino.Logger,
  ) {
    this.pino = shared ?? instance(level, write);
  }

  child(fields: LogFields): Logger {
    return new Logger(this.level, { ...this.base, ...fields }, this.write, this.pino);
  }

  /** Whether an entry at this level is written (to skip building costly fields). */
  enabled(level: Level): boolean {
    return this.pino.isLevelEnabled(level);
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  private log(level: Level, msg: string, fields?: LogFields): void {
    if (!this.pino.isLevelEnabled(level)) return;
    this.pino[level]({ level, msg, ...this.base, ...fields });
  }
}

/**
 * The logger as a sink of plain lines (kafkajs's via libs/messaging's KafkaLogSink, the county
 * ingest's warnings): `log` is info.
 */
export function lineSink(log: Logger): {
  error(message: string): void;
  warn(message: string): void;
  log(message: string): void;
  debug(message: string): void;
} {
  return {
    error: (m) => log.error(m),
    warn: (m) => log.warn(m),
    log: (m) => log.info(m),
    debug: (m) => log.debug(m),
  };
}
