import {
  BadRequestException,
  Controller,
  Get,
  Inject,
  Query,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ingestCounts, listPayables, totalsByHospital } from './payables.repository';
import { CountyPaymentsRuntime } from './runtime';

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

@Controller()
export class CountyPaymentsController {
  constructor(@Inject(CountyPaymentsRuntime) private readonly runtime: CountyPaymentsRuntime) {}

  @Get('payables')
  async payables(
    @Query('month') month?: string,
    @Query('fixmedins_code') fixmedinsCode?: string,
  ): Promise<Awaited<ReturnType<typeof listPayables>>> {
    if (month !== undefined && !MONTH.test(month)) {
      throw new BadRequestException('month must be YYYY-MM');
    }
    if (fixmedinsCode !== undefined && !/^[0-9A-Za-z]{1,30}$/.test(fixmedinsCode)) {
      throw new BadRequestException('fixmedins_code is not a hospital code');
    }
    return listPayables(this.runtime.db, { month, fixmedinsCode });
  }

  @Get('payables/totals')
  async totals(): Promise<{ totals: Awaited<ReturnType<typeof totalsByHospital>> }> {
    return { totals: await totalsByHospital(this.runtime.db) };
  }

  /** 503 with the store's state while the database is down (the consumer waits meanwhile). */
  @Get('health')
  async health(): Promise<Record<string, unknown>> {
    const store = this.runtime.db.health.state;
    if (store.status === 'down') {
      throw new ServiceUnavailableException({
        status: 'unavailable',
        database: { status: 'down', reason: store.reason, since: store.since.toISOString() },
      });
    }
    const counts = await ingestCounts(this.runtime.db);
    return {
      status: this.runtime.consuming ? 'ok' : 'starting',
      counties: this.runtime.config.counties,
      group_id: this.runtime.config.groupId,
      database: this.runtime.db.driver,
      stored: counts,
      since_start: this.runtime.ingest?.stats ?? null,
    };
  }
}
