/**
 * The cashier's-desk API: pre-settle (no side effects), settle, reverse, and look a settlement up.
 * Bodies are the same XML messages as on Kafka (application/xml), or the same tree as JSON
 * (`{"discharge": {…}}`, application/json). Answers are JSON in the national platform's names, or
 * the settlement-result XML when the client asks for application/xml. The contract is
 * contracts/openapi/gateway.v1.yaml, served at /api/v1/openapi.yaml.
 */
import { Controller, Get, Header, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Db,
  findSettlement,
  findSettlementByBill,
  findSettlementsOfPerson,
  type SettlementRow,
} from '@onebill/ledger';
import { encodeSettlementResultXml } from '@onebill/messaging/xml';
import { type SettlementEnvelope, toWire } from '@onebill/messaging/wire';
import { settlementView } from './topups';
import { projectRoot } from '@onebill/rules';
import { Allow, hospitalScopeOf, principalOf, Public, scopeOf } from './auth';
import {
  type Arrival,
  type IntakeService,
  type Outcome,
  type Problem,
  type Source,
  scopeProblem,
  waiverWire,
} from './intake.service';
import { GatewayRuntime } from './runtime';

/**
 * A message body decoded once at the edge (issue 12 item 1): XML from the bytes as they came
 * (decoded exactly as a Kafka message, docs/adr/0012-hostile-input.md), JSON from the tree the
 * body parser made, never turned into XML; the request's bytes are what is stored.
 */
type Body = { ok: true; arrival: Arrival } | { ok: false; problem: Problem };

const MESSAGE_KINDS: ReadonlySet<string> = new Set(['discharge', 'reversal', 'admission']);

/** The request body decoded into the canonical message, or the reason it cannot be one. */
export function messageOf(
  req: Request,
  intake: Pick<IntakeService, 'decode' | 'decodeJson'>,
): Body {
  const body: unknown = req.body;
  // main.ts keeps the raw bytes (rawBody): the body parser's charset reading is not used
  const raw: unknown = (req as Request & { rawBody?: unknown }).rawBody;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    const bytes = Buffer.isBuffer(raw) ? raw : Buffer.isBuffer(body) ? body : Buffer.from(body);
    if (bytes.length > 0) return { ok: true, arrival: intake.decode(bytes) };
  }
  if (typeof body === 'object' && body !== null && !Buffer.isBuffer(body)) {
    const keys = Object.keys(body);
    if (keys.length === 1 && MESSAGE_KINDS.has(keys[0]!)) {
      const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(JSON.stringify(body), 'utf8');
      return { ok: true, arrival: intake.decodeJson(body, bytes) };
    }
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

/**
 * A body the body parser refused (over 16 × the size cap, unreadable JSON, a charset it has no
 * decoder for) answered in the API's error shape instead of Express's HTML page. Nothing was read,
 * so nothing is recorded (docs/adr/0012-hostile-input.md).
 */
export function bodyParserErrors(
  error: unknown,
  _req: Request,
  res: Response,
  next: NextFunction,
): void {
  const e = error as { type?: unknown; status?: unknown; limit?: unknown; message?: unknown };
  if (typeof e?.type !== 'string' || typeof e.status !== 'number' || res.headersSent) {
    next(error);
    return;
  }
  const code =
    e.type === 'entity.too.large'
      ? 'TOO_LARGE'
      : e.type === 'charset.unsupported' || e.type === 'encoding.unsupported'
        ? 'UNSUPPORTED_ENCODING'
        : 'MALFORMED_BODY';
  sendProblems(res, e.status, 'rejected', [
    {
      code,
      field: '(message)',
      rule: code === 'TOO_LARGE' ? `maxBodyBytes:${String(e.limit)}` : 'a readable request body',
      message: typeof e.message === 'string' ? e.message : 'the request body could not be read',
    },
  ]);
}

/**
 * A hospital credential may only send messages of its own institution: 403 before anything is
 * stored (the message is not the hospital's to send). The institution is read by the decoder, not
 * by a pattern over the text (a comment or an attribute must not pass for the element). A message
 * that does not decode goes on to be rejected with its reasons, recorded under the credential's
 * institution (`hospitalScope`). Operators send for any hospital.
 */
export function foreignHospital(
  req: Request,
  res: Response,
  arrival: Arrival,
  intake: Pick<IntakeService, 'namedHospital'>,
): boolean {
  const scope = scopeOf(principalOf(req));
  if (scope === undefined) return false;
  const problem = scopeProblem(
    { kind: 'http', hospitalScope: scope },
    intake.namedHospital(arrival) ?? scope,
  );
  if (problem === null) return false;
  sendProblems(res, 403, 'forbidden', [problem]);
  return true;
}

const ROUTE_OF = {
  discharge: '/api/v1/settlements',
  reversal: '/api/v1/reversals',
  admission: '/api/v1/admissions',
} as const;
const ROUTED_ROOTS: ReadonlySet<string> = new Set(Object.keys(ROUTE_OF));

function wantsXml(req: Request): boolean {
  const accept = req.headers.accept ?? '';
  return /\b(application|text)\/xml\b/.test(accept) && !/application\/json/.test(accept);
}

export function envelopeOf(s: SettlementRow): SettlementEnvelope {
  return {
    setlId: s.setlId,
    fixmedinsCode: s.fixmedinsCode,
    mdtrtId: s.mdtrtId,
    psnNo: s.psnNo,
    clrOptins: s.clrOptins,
    setlTime: s.setlTime,
  };
}

/** Whether the caller may see this settlement: a hospital only its own. */
export function visible(req: Request, s: SettlementRow): boolean {
  const scope = scopeOf(principalOf(req));
  return scope === undefined || scope === s.fixmedinsCode;
}

/**
 * The settlement with this id if the caller may see it. Otherwise answers 404 and gives null:
 * another hospital's bill is answered as if it did not exist (no data, no existence).
 */
export async function visibleSettlement(
  db: Db,
  req: Request,
  res: Response,
  setlId: string,
): Promise<SettlementRow | null> {
  const s = await findSettlement(db, setlId);
  if (s !== null && visible(req, s)) return s;
  notFound(res, `no settlement ${setlId}`);
  return null;
}

export function sendSettlement(
  req: Request,
  res: Response,
  status: number,
  s: SettlementRow,
  outcome: string,
): void {
  const envelope = envelopeOf(s);
  if (wantsXml(req)) {
    res.status(status).type('application/xml').send(encodeSettlementResultXml(s.result, envelope));
    return;
  }
  res
    .status(status)
    .json({ status: outcome, settlement_status: s.status, ...toWire(s.result, envelope) });
}

export function sendProblems(
  res: Response,
  status: number,
  outcome: string,
  problems: Problem[],
  extra: object = {},
): void {
  res.status(status).json({ status: outcome, errors: problems, ...extra });
}

export function sendOutcome(req: Request, res: Response, o: Outcome): void {
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
      res.status(201).json({
        status: o.status,
        fixmedins_code: o.fixmedinsCode,
        mdtrt_id: o.mdtrtId,
        deposit_waiver: waiverWire(o.depositWaiver),
        identities_used: o.identities,
      });
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

/**
 * A message decoded at the edge, submitted to the intake, timed and counted like Kafka's (the
 * runtime's `submit` takes bytes; this is its decoded twin, so nothing is decoded twice).
 */
export async function submitArrival(
  runtime: Pick<GatewayRuntime, 'intake' | 'record'>,
  arrival: Arrival,
  source: Source,
  route: string,
): Promise<Outcome> {
  const started = process.hrtime.bigint();
  const outcome = await runtime.intake.submitDecoded(arrival, source);
  runtime.record(outcome, 'http', route, Number(process.hrtime.bigint() - started) / 1e9);
  return outcome;
}

export function notFound(res: Response, message: string): void {
  sendProblems(res, 404, 'not-found', [
    { code: 'NOT_FOUND', field: null, rule: 'an existing settlement', message },
  ]);
}

@Controller()
export class HttpController {
  private openapiText: string | undefined;

  constructor(@Inject(GatewayRuntime) private readonly runtime: GatewayRuntime) {}

  @Post('api/v1/settlements/preview')
  @Allow('operator', 'hospital')
  async preview(@Req() req: Request, @Res() res: Response): Promise<void> {
    const body = messageOf(req, this.runtime.intake);
    if (!body.ok) {
      sendProblems(res, 400, 'rejected', [body.problem]);
      return;
    }
    if (foreignHospital(req, res, body.arrival, this.runtime.intake)) return;
    const p = await this.runtime.intake.preview(body.arrival);
    if (!p.ok || p.result === undefined) {
      sendProblems(res, 422, 'rejected', p.problems);
      return;
    }
    res.status(200).json({
      status: 'preview',
      ...toWire(p.result),
      identities_used: p.identities,
      accumulators_after: p.result.accumulators,
    });
  }

  @Post('api/v1/settlements')
  @Allow('operator', 'hospital')
  settle(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.submit(req, res, 'discharge');
  }

  @Post('api/v1/reversals')
  @Allow('operator', 'hospital')
  reverse(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.submit(req, res, 'reversal');
  }

  @Post('api/v1/admissions')
  @Allow('operator', 'hospital')
  admit(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.submit(req, res, 'admission');
  }

  private async submit(
    req: Request,
    res: Response,
    root: 'discharge' | 'reversal' | 'admission',
  ): Promise<void> {
    const body = messageOf(req, this.runtime.intake);
    if (!body.ok) {
      sendProblems(res, 400, 'rejected', [body.problem]);
      return;
    }
    const decoded = body.arrival.decoded;
    const sent = decoded.ok ? decoded.message.kind : decoded.kind;
    // a message of another kind on this route (a discharge posted to /admissions): a caller's
    // mistake, answered before anything is stored; malformed XML goes on and is kept with reasons
    if (sent !== null && sent !== root && ROUTED_ROOTS.has(sent)) {
      sendProblems(res, 400, 'rejected', [
        {
          code: 'WRONG_ROUTE',
          field: '(root)',
          rule: `${req.path} takes <${root}>; <${sent}> goes to ${ROUTE_OF[sent as keyof typeof ROUTE_OF]}`,
          message: `a <${sent}> message was posted to ${req.path}`,
        },
      ]);
      return;
    }
    if (foreignHospital(req, res, body.arrival, this.runtime.intake)) return;
    const correlation = req.headers['x-correlation-id'];
    const outcome = await submitArrival(
      this.runtime,
      body.arrival,
      {
        kind: 'http',
        submittedBy: principalOf(req).name,
        ...hospitalScopeOf(req),
        ...(typeof correlation === 'string' && correlation !== ''
          ? { correlationId: correlation.slice(0, 128) }
          : {}),
      },
      req.path,
    );
    if (root === 'reversal') {
      await this.runtime.recordAction(
        principalOf(req),
        'reverse',
        'settlement' in outcome ? outcome.settlement.setlId : null,
        outcome.status,
        { correlation_id: outcome.correlationId },
      );
    }
    sendOutcome(req, res, outcome);
  }

  @Get('api/v1/settlements/:setlId')
  @Allow('operator', 'auditor', 'hospital')
  async byId(
    @Param('setlId') setlId: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const s = await visibleSettlement(this.runtime.db, req, res, setlId);
    if (s === null) return;
    if (wantsXml(req)) {
      sendSettlement(req, res, 200, s, 'found');
      return;
    }
    // the bill as settled, and as it now stands: its top-ups and current totals (issue 15)
    res.status(200).json({
      status: 'found',
      ...toWire(s.result, envelopeOf(s)),
      ...(await settlementView(this.runtime.db, s)),
    });
  }

  @Get('api/v1/settlements')
  @Allow('operator', 'auditor', 'hospital')
  async byBill(
    @Query('fixmedins_code') fixmedinsCode: string | undefined,
    @Query('mdtrt_id') mdtrtId: string | undefined,
    @Query('psn_no') psnNo: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    if (typeof psnNo === 'string' && psnNo !== '') {
      const rows = await findSettlementsOfPerson(this.runtime.db, psnNo, {
        fixmedinsCode: scopeOf(principalOf(req)),
        limit: 100,
      });
      res.status(200).json({
        status: 'found',
        settlements: rows.map((s) => ({
          settlement_status: s.status,
          ...toWire(s.result, envelopeOf(s)),
        })),
      });
      return;
    }
    if (typeof fixmedinsCode !== 'string' || typeof mdtrtId !== 'string') {
      sendProblems(res, 400, 'bad-request', [
        {
          code: 'MISSING_QUERY',
          field: typeof fixmedinsCode !== 'string' ? 'fixmedins_code' : 'mdtrt_id',
          rule: 'GET /api/v1/settlements needs fixmedins_code and mdtrt_id, or psn_no',
          message: "give fixmedins_code and mdtrt_id (one bill) or psn_no (a person's bills)",
        },
      ]);
      return;
    }
    const s = await findSettlementByBill(this.runtime.db, fixmedinsCode, mdtrtId);
    if (s === null || !visible(req, s)) {
      notFound(res, `no settlement in force for ${fixmedinsCode} / ${mdtrtId}`);
      return;
    }
    sendSettlement(req, res, 200, s, 'found');
  }

  @Get('api/v1/openapi.yaml')
  @Public()
  @Header('content-type', 'application/yaml; charset=utf-8')
  openapi(): string {
    this.openapiText ??= readFileSync(
      join(projectRoot(), 'contracts/openapi/gateway.v1.yaml'),
      'utf8',
    );
    return this.openapiText;
  }

  @Get('api/v1/stats')
  @Allow('operator', 'auditor')
  stats(): Record<string, number> {
    return { ...this.runtime.counters };
  }
}
