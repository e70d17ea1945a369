/**
 * The database being unavailable is answered 503 in the API's problem shape, with the reason and a
 * Retry-After, on every route (docs/adr/0010): the cashier's desk sees "try again shortly", not a
 * 500. Nothing was stored: the transaction did not commit, and the same message sent again is
 * settled once (the bill is the idempotency key).
 */
import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { StoreUnavailableError } from '@onebill/ledger';

/** Seconds a client should wait before trying again (the store's probe runs every ≤ 2 s). */
export const RETRY_AFTER_SECONDS = 5;

@Catch(StoreUnavailableError)
export class StoreUnavailableFilter implements ExceptionFilter<StoreUnavailableError> {
  catch(error: StoreUnavailableError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) {
      res.end();
      return;
    }
    res
      .status(503)
      .setHeader('retry-after', String(RETRY_AFTER_SECONDS))
      .json({
        status: 'unavailable',
        errors: [
          {
            code: 'STORE_UNAVAILABLE',
            field: null,
            rule: 'the ledger database must answer; nothing was stored, send the message again later',
            message: `the database is unavailable since ${error.since.toISOString()}: ${error.reason}`,
          },
        ],
      });
  }
}
