/**
 * Structured JSON logs, one line per event, with the correlation id of the message they concern.
 * ID-card numbers and names never reach a log whole: `maskCertno`, `maskName`, and `redact` for
 * whole objects.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

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

export class Logger {
  constructor(
    private readonly level: Level = 'info',
    private readonly base: Record<string, unknown> = {},
    private readonly write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  ) {}

  child(fields: Record<string, unknown>): Logger {
    return new Logger(this.level, { ...this.base, ...fields }, this.write);
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log('error', msg, fields);
  }

  private log(level: Level, msg: string, fields?: Record<string, unknown>): void {
    if (ORDER[level] < ORDER[this.level]) return;
    const entry = redact({ time: new Date().toISOString(), level, msg, ...this.base, ...fields });
    this.write(JSON.stringify(entry));
  }
}
