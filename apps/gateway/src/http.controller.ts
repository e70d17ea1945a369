/**
 * The cashier's-desk API: pre-settle (no side effects), settle, reverse, and look a settlement up.
 * Bodies are the same XML messages as on Kafka (application/xml), or the same tree as JSON
 * (`{"discharge": {…}}`, application/json). Answers are JSON in the national platform's names, or
 * the settlement-result XML when the client asks for application/xml. The contract is
 * contracts/openapi/gateway.v1.yaml, served at /api/v1/openapi.yaml.
 */
import {
  Controller,
  Get,
  Header,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findSettlement, findSettlementByBill, type SettlementRow } from '@onebill/ledger';
import { encodeSettlementResultXml, jsonMessageToXml } from '@onebill/messaging/xml';
import { toWire } from '@onebill/messaging/wire';
import { projectRoot } from '@onebill/rules';
import type { Outcome, Problem } from './intake.service';
import { GatewayRuntime } from './runtime';

type Body = { ok: true; xml: string } | { ok: false; problem: Problem };

/** The request body as message XML, or the reason it cannot be one. */
function messageOf(req: Request): Body {
  const body: unknown = req.body;
  if (typeof body === 'string' && body.trim() !== '') return { ok: true, xml: body };
  if (Buffer.isBuffer(body) && body.length > 0) return { ok: true, xml: body.toString('utf8') };
  if (typeof body === 'object' && body !== null && !Buffer.isBuffer(body)) {
    const xml = jsonMessageToXml(body);
    if (xml !== null) return { ok: true, xml };
    return {
      ok: false,
      problem: {
        code: 'WRONG_ROOT',
        field: '(message)',
        rule: 'a JSON body has exactly one key: discharge, reversal or admission',
        message: 'expected {"discharge": {…}}, {"reversal": {…}} or {"admission": {…}}',
      },
    };
  }
  return {
    ok: false,
    problem: {
      code: 'EMPTY_BODY',
      field: '(message)',
      rule: 'POST a message as application/xml or application/json',
      message: 'the request has no body of a supported content type',
    },
  };
}

function wantsXml(req: Request): boolean {
  const accept = req.headers.accept ?? '';
  return /\b(application|text)\/xml\b/.test(accept) && !/application\/json/.test(accept);
}

function sendSettlement(
  req: Request,
  res: Response,
  status: number,
  s: SettlementRow,
  outcome: string,
): void {
  const envelope = {
    setlId: s.setlId,
    fixmedinsCode: s.fixmedinsCode,
    mdtrtId: s.mdtrtId,
    psnNo: s.psnNo,
    clrOptins: s.clrOptins,
    setlTime: s.setlTime,
  };
  if (wantsXml(req)) {
    res.status(status).type('application/xml').send(encodeSettlementResultXml(s.result, envelope));
    return;
  }
  res
    .status(status)
    .json({ status: outcome, settlement_status: s.status, ...toWire(s.result, envelope) });
}

function sendProblems(
  res: Response,
  status: number,
  outcome: string,
  problems: Problem[],
  extra: object = {},
): void {
  res.status(status).json({ status: outcome, errors: problems, ...extra });
}

function sendOutcome(req: Request, res: Response, o: Outcome): void {
  res.setHeader('x-correlation-id', o.correlationId);
  switch (o.status) {
    case 'settled':
      sendSettlement(req, res, 201, o.settlement, o.status);
      return;
    case 'duplicate':
    case 'reversed':
      sendSettlement(req, res, 200, o.settlement, o.status);
      return;
    case 'admitted':
      res
        .status(201)
        .json({ status: o.status, fixmedins_code: o.fixmedinsCode, mdtrt_id: o.mdtrtId });
      return;
    case 'conflict':
      sendProblems(res, 409, o.status, o.problems, {
        existing_setl_id: o.existingSetlId,
        reject_id: o.rejectId,
      });
      return;
    case 'rejected':
      sendProblems(res, 422, o.status, o.problems, { reject_id: o.rejectId });
      return;
  }
}

function notFound(res: Response, message: string): void {
  sendProblems(res, 404, 'not-found', [
    { code: 'NOT_FOUND', field: null, rule: 'an existing settlement', message },
  ]);
}

@Controller()
export class HttpController {
  private openapiText: string | undefined;

  constructor(@Inject(GatewayRuntime) private readonly runtime: GatewayRuntime) {}

  @Post('api/v1/settlements/preview')
  async preview(@Req() req: Request, @Res() res: Response): Promise<void> {
    const body = messageOf(req);
    if (!body.ok) {
      sendProblems(res, 400, 'rejected', [body.problem]);
      return;
    }
    const p = await this.runtime.intake.preview(body.xml);
    if (!p.ok || p.result === undefined) {
      sendProblems(res, 422, 'rejected', p.problems);
      return;
    }
    res
      .status(200)
      .json({ status: 'preview', ...toWire(p.result), accumulators_after: p.result.accumulators });
  }

  @Post('api/v1/settlements')
  settle(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.submit(req, res);
  }

  @Post('api/v1/reversals')
  reverse(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.submit(req, res);
  }

  @Post('api/v1/admissions')
  admit(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.submit(req, res);
  }

  private async submit(req: Request, res: Response): Promise<void> {
    const body = messageOf(req);
    if (!body.ok) {
      sendProblems(res, 400, 'rejected', [body.problem]);
      return;
    }
    const correlation = req.headers['x-correlation-id'];
    const outcome = await this.runtime.intake.submit(body.xml, {
      kind: 'http',
      ...(typeof correlation === 'string' && correlation !== ''
        ? { correlationId: correlation.slice(0, 128) }
        : {}),
    });
    this.runtime.record(outcome);
    sendOutcome(req, res, outcome);
  }

  @Get('api/v1/settlements/:setlId')
  async byId(
    @Param('setlId') setlId: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const s = await findSettlement(this.runtime.db, setlId);
    if (s === null) {
      notFound(res, `no settlement ${setlId}`);
      return;
    }
    sendSettlement(req, res, 200, s, 'found');
  }

  @Get('api/v1/settlements')
  async byBill(
    @Query('fixmedins_code') fixmedinsCode: string | undefined,
    @Query('mdtrt_id') mdtrtId: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    if (typeof fixmedinsCode !== 'string' || typeof mdtrtId !== 'string') {
      sendProblems(res, 400, 'bad-request', [
        {
          code: 'MISSING_QUERY',
          field: typeof fixmedinsCode !== 'string' ? 'fixmedins_code' : 'mdtrt_id',
          rule: 'GET /api/v1/settlements needs fixmedins_code and mdtrt_id',
          message: 'both fixmedins_code and mdtrt_id are required',
        },
      ]);
      return;
    }
    const s = await findSettlementByBill(this.runtime.db, fixmedinsCode, mdtrtId);
    if (s === null) {
      notFound(res, `no settlement in force for ${fixmedinsCode} / ${mdtrtId}`);
      return;
    }
    sendSettlement(req, res, 200, s, 'found');
  }

  @Get('api/v1/openapi.yaml')
  @Header('content-type', 'application/yaml; charset=utf-8')
  openapi(): string {
    this.openapiText ??= readFileSync(
      join(projectRoot(), 'contracts/openapi/gateway.v1.yaml'),
      'utf8',
    );
    return this.openapiText;
  }

  @Get('health')
  @HttpCode(200)
  live(): { status: string } {
    return { status: 'ok' };
  }

  @Get('health/ready')
  async ready(@Res() res: Response): Promise<void> {
    const r = await this.runtime.ready();
    res.status(r.ok ? 200 : 503).json({ status: r.ok ? 'ok' : 'unavailable', checks: r.checks });
  }

  @Get('api/v1/stats')
  stats(): Record<string, number> {
    return { ...this.runtime.counters };
  }
}
