/** Applies apiErrorOf (api-errors.ts) to every error Nest or the body parser raises. */
import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { apiErrorOf } from './api-errors';

@Catch()
export class ApiErrorsFilter implements ExceptionFilter {
  constructor(
    private readonly maxMessageBytes: number,
    private readonly onInternal: (error: unknown) => void,
  ) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const a = apiErrorOf(error, this.maxMessageBytes);
    if (a.status === 500) this.onInternal(error);
    if (res.headersSent) return;
    res.status(a.status).json({
      status: a.outcome,
      errors: [{ code: a.code, field: null, rule: a.rule, message: a.message }],
    });
  }
}
