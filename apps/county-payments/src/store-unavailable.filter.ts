/** The database being down is a 503 with the reason (not a 500) on every route (docs/adr/0010). */
import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { StoreUnavailableError } from '@onebill/ledger';

@Catch(StoreUnavailableError)
export class StoreUnavailableFilter implements ExceptionFilter<StoreUnavailableError> {
  catch(error: StoreUnavailableError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    res
      .status(503)
      .setHeader('retry-after', '5')
      .json({
        status: 'unavailable',
        database: { status: 'down', reason: error.reason, since: error.since.toISOString() },
      });
  }
}
