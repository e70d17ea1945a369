/**
 * High-burden alerts over HTTP (issue 15, docs/adr/0009 decision 7): listed for the operators and
 * auditors of the agencies (filter by the person's county, status, year), acknowledged by an
 * operator. Alerts never leave the gateway only through Kafka: on the embedded store without a
 * broker this is how civil affairs and rural revitalization are told.
 */
import { Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { type AlertRow, type AlertStatus, acknowledgeAlert, listAlerts } from '@onebill/ledger';
import { Allow, principalOf } from './auth';
import { sendProblems } from './http.controller';
import { GatewayRuntime } from './runtime';

const STATUSES: readonly AlertStatus[] = ['open', 'acknowledged', 'withdrawn'];

function wire(a: AlertRow): Record<string, unknown> {
  return {
    psn_no: a.psnNo,
    year: a.year,
    status: a.status,
    admdvs: a.admdvs,
    admdvs_source: a.admdvsSource,
    region: a.region,
    cash_self_pay: a.cashSelfPay,
    threshold: a.threshold,
    setl_id: a.setlId,
    event_id: a.eventId,
    created_at: a.createdAt.toISOString(),
    updated_at: a.updatedAt?.toISOString() ?? null,
    acknowledged_by: a.acknowledgedBy,
    acknowledged_at: a.acknowledgedAt?.toISOString() ?? null,
    withdrawn_at: a.withdrawnAt?.toISOString() ?? null,
  };
}

function bad(res: Response, field: string, rule: string, message: string): void {
  sendProblems(res, 400, 'rejected', [{ code: 'INVALID_FIELD', field, rule, message }]);
}

@Controller('api/v1')
export class AlertsController {
  constructor(@Inject(GatewayRuntime) private readonly runtime: GatewayRuntime) {}

  @Get('alerts')
  @Allow('operator', 'auditor')
  async list(
    @Query('status') status: unknown,
    @Query('admdvs') admdvs: unknown,
    @Query('year') year: unknown,
    @Res() res: Response,
  ): Promise<void> {
    const filter: { status?: AlertStatus; admdvs?: string; year?: number } = {};
    if (typeof status === 'string' && status !== '') {
      const s = STATUSES.find((x) => x === status);
      if (s === undefined)
        return bad(res, 'status', STATUSES.join(' | '), `unknown status ${status}`);
      filter.status = s;
    }
    if (typeof admdvs === 'string' && admdvs !== '') {
      if (!/^\d{6}$/.test(admdvs)) return bad(res, 'admdvs', '6 digits', 'admdvs is 6 digits');
      filter.admdvs = admdvs;
    }
    if (typeof year === 'string' && year !== '') {
      if (!/^\d{4}$/.test(year)) return bad(res, 'year', 'YYYY', 'year is YYYY');
      filter.year = Number(year);
    }
    const rows = await listAlerts(this.runtime.db, { ...filter, limit: 500 });
    res.json({ alerts: rows.map(wire) });
  }

  @Post('alerts/:psnNo/:year/acknowledge')
  @Allow('operator')
  async acknowledge(
    @Param('psnNo') psnNo: string,
    @Param('year') year: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    if (!/^\d{4}$/.test(year)) return bad(res, 'year', 'YYYY', 'year is YYYY');
    const who = principalOf(req);
    const a = await acknowledgeAlert(this.runtime.db, psnNo, Number(year), who.name);
    if (a === null) {
      sendProblems(res, 404, 'not-found', [
        {
          code: 'NOT_FOUND',
          field: null,
          rule: 'an open alert of the person and year',
          message: `no open alert for ${psnNo} in ${year}`,
        },
      ]);
      return;
    }
    // an operator's change: in the audit log (docs/adr/0015)
    await this.runtime.recordAction(who, 'alert-acknowledge', `${psnNo}/${year}`, 'acknowledged', {
      setl_id: a.setlId,
      admdvs: a.admdvs,
    });
    // 200, as the contract says (Nest answers a POST 201 by default)
    res.status(200).json({ status: 'acknowledged', alert: wire(a) });
  }
}
