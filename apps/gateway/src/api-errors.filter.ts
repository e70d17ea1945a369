/**
 * The one global filter: a database outage is StoreUnavailableFilter's 503; every other error Nest
 * or the body parser raises gets apiErrorOf's answer (api-errors.ts). Outside HTTP (the Kafka
 * transport's handlers) the error is handed back unchanged.
 */
import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { type Observable, throwError } from 'rxjs';
import { StoreUnavailableError } from '@onebill/ledger';
import { apiErrorOf, ownBody } from './api-errors';
import { StoreUnavailableFilter } from './http.filters';

@Catch()
export class ApiErrorsFilter implements ExceptionFilter {
  constructor(
    private readonly maxMessageBytes: number,
    private readonly onInternal: (error: unknown) => void,
  ) {}

  private readonly storeUnavailable = new StoreUnavailableFilter();

  catch(error: unknown, host: ArgumentsHost): void | Observable<never> {
    // a Kafka handler's failure (kafka.controller.ts) goes back to the transport as it was: the
    // batch is not committed and Kafka delivers it again
    if (host.getType() !== 'http') return throwError(() => error);
    // the database being down: 503 with the reason and Retry-After (docs/adr/0010)
    if (error instanceof StoreUnavailableError) {
      this.storeUnavailable.catch(error, host);
      return;
    }
    const res = host.switchToHttp().getResponse<Response>();
    const shaped = ownBody(error);
    if (shaped !== null) {
      if (!res.headersSent) res.status(shaped.status).json(shaped.body);
      return;
    }
    const a = apiErrorOf(error, this.maxMessageBytes);
    if (a.status === 500) this.onInternal(error);
    if (res.headersSent) return;
    res.status(a.status).json({
      status: a.outcome,
      errors: [{ code: a.code, field: null, rule: a.rule, message: a.message }],
    });
  }
}
