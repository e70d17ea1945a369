/**
 * Nest's own log lines (bootstrap, exceptions Nest catches) through our pino Logger, so that an app
 * writes one format: `NestFactory.create(module, { logger: new NestLogger(log) })`.
 *
 * Only a type comes from @nestjs/common: this file loads without Nest (Nest 12 is ESM-only and
 * jest cannot import it).
 */
import type { LoggerService } from '@nestjs/common';
import type { Logger } from './log';

type Params = unknown[];

/** Nest passes the context (the class that logs) as the last string argument. */
function split(params: Params): { context?: string; rest: Params } {
  const last = params[params.length - 1];
  if (typeof last === 'string') return { context: last, rest: params.slice(0, -1) };
  return { rest: params };
}

function text(message: unknown): string {
  if (typeof message === 'string') return message;
  if (message instanceof Error) return message.message;
  try {
    return JSON.stringify(message);
  } catch {
    return String(message);
  }
}

export class NestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  /** Nest's `log` is its bootstrap chatter (a line per route, per module): debug here */
  log(message: unknown, ...params: Params): void {
    const { context } = split(params);
    this.logger.debug(text(message), context === undefined ? {} : { context });
  }

  /** Nest calls error(message, stack?, context?) */
  error(message: unknown, ...params: Params): void {
    // (message, stack, context), (message, context) or (message, stack)
    let { context, rest } = split(params);
    if (rest.length === 0 && context !== undefined && /\n\s+at /.test(context)) {
      rest = [context];
      context = undefined;
    }
    const stack =
      message instanceof Error ? message.stack : typeof rest[0] === 'string' ? rest[0] : undefined;
    this.logger.error(text(message), {
      ...(context === undefined ? {} : { context }),
      ...(stack === undefined ? {} : { stack }),
    });
  }

  warn(message: unknown, ...params: Params): void {
    const { context } = split(params);
    this.logger.warn(text(message), context === undefined ? {} : { context });
  }

  debug(message: unknown, ...params: Params): void {
    const { context } = split(params);
    this.logger.debug(text(message), context === undefined ? {} : { context });
  }

  verbose(message: unknown, ...params: Params): void {
    this.debug(message, ...params);
  }

  fatal(message: unknown, ...params: Params): void {
    this.error(message, ...params);
  }
}
