/**
 * The operator console (issue 4): its static assets at /console (no data in them, so public) and
 * the read APIs it draws from — flow, latest messages, reject queue, bill view — plus the reject
 * resubmission and /metrics. Every data route names its roles; a hospital credential sees only its
 * own institution's rows.
 */
import { Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  findReject,
  listMessages,
  listRejects,
  type MessageRow,
  readFlow,
  type RejectListRow,
  type RejectRow,
} from '@onebill/ledger';
import { maskMessage } from '@onebill/messaging/xml';
import { decodeStoredMessage } from '@onebill/messaging/canonical';
import { toWire } from '@onebill/messaging/wire';
import { projectRoot } from '@onebill/rules';
import { Allow, hospitalScopeOf, principalOf, Public, scopeOf } from './auth';
import {
  envelopeOf,
  foreignHospital,
  messageOf,
  notFound,
  sendOutcome,
  sendProblems,
  submitArrival,
  visibleSettlement,
} from './http.controller';
import { messagesCsv, parseConsoleTime, rejectsCsv } from './console-export';
import { AlreadyResubmitted } from './intake.service';
import { maskCertno, maskName } from './log';
import { explainReject } from './reject-reasons';
import { GatewayRuntime } from './runtime';

const ASSETS: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** P1234567890 → P123****7890: enough to tell people apart on screen, not to identify them. */
export function maskPsnNo(psnNo: string): string {
  if (psnNo.length <= 8) return `${psnNo.slice(0, 2)}${'*'.repeat(Math.max(1, psnNo.length - 2))}`;
  return `${psnNo.slice(0, 4)}${'*'.repeat(psnNo.length - 8)}${psnNo.slice(-4)}`;
}

function limitOf(raw: string | undefined, fallback = 50, max = 500): number {
  const n = raw === undefined ? fallback : Number.parseInt(raw, 10);
  return Number.isFinite(n) && n > 0 ? Math.min(n, max) : fallback;
}

/** The picker's range (from, to: Beijing time or ISO), or the 400 already sent. */
function rangeOf(
  req: Request,
  res: Response,
): { from: Date | undefined; to: Date | undefined } | null {
  const from = parseConsoleTime(req.query['from'], 'from');
  const to = parseConsoleTime(req.query['to'], 'to');
  for (const [name, t] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (!t.ok) {
      sendProblems(res, 400, 'rejected', [
        {
          code: 'INVALID_FIELD',
          field: name,
          rule: 'YYYY-MM-DD[ HH:MM[:SS]] in Beijing time, or ISO 8601 with Z or an offset',
          message: t.message,
        },
      ]);
      return null;
    }
  }
  return { from: from.ok ? from.at : undefined, to: to.ok ? to.at : undefined };
}

const query = (req: Request, name: string): string | undefined => {
  const v = req.query[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/** Rows an export holds at most: a month of a busy county's rejects, not the whole ledger. */
export const EXPORT_MAX_ROWS = 50_000;

function sendCsvFile(res: Response, name: string, csv: string, rows: number): void {
  res
    .status(200)
    .setHeader('content-type', 'text/csv; charset=utf-8')
    .setHeader('content-disposition', `attachment; filename="${name}.csv"`)
    .setHeader('x-row-count', String(rows))
    .send(csv);
}

function rejectJson(
  r: RejectRow,
  withPayload: boolean,
  shownPayload: string | null = null,
): Record<string, unknown> {
  return {
    reject_id: r.id,
    inbox_id: r.inboxId,
    reason_code: r.reasonCode,
    field: r.field,
    message: r.message,
    // in plain words with the fix, and the bad value as the reader may see it (masked or not)
    explanation: explainReject({ ...r, payload: withPayload ? r.payload : shownPayload }),
    fixmedins_code: r.fixmedinsCode,
    created_at: r.createdAt.toISOString(),
    resubmitted_as: r.resubmittedAs,
    resubmitted_by: r.resubmittedBy,
    resubmitted_at: r.resubmittedAt?.toISOString() ?? null,
    original_payload_size: r.payloadSize,
    original_payload_sha256: r.payloadSha256,
    ...(withPayload
      ? {
          original_payload: r.payload,
          // the bytes, where they are not text (NUL, another encoding gone wrong, junk)
          ...(r.payload === null
            ? { original_payload_base64: r.payloadBytes.toString('base64') }
            : {}),
          original_payload_complete: r.payloadBytes.length === r.payloadSize,
        }
      : {}),
  };
}

/**
 * The reject as a role that must not see a person's name or ID number reads it: the message
 * parsed and masked in the tree (CDATA, comments and odd spacing cannot hide a name from it), or,
 * where it cannot be parsed, only its size and hash (docs/adr/0012-hostile-input.md).
 */
export function maskedRejectJson(r: RejectRow): Record<string, unknown> {
  const masked = maskMessage(r.payload, { name: maskName, id: maskCertno, psnNo: maskPsnNo });
  const json = rejectJson(r, false, masked);
  if (masked !== null) return { ...json, original_payload: masked, original_payload_masked: true };
  return {
    ...json,
    original_payload: null,
    original_payload_masked: false,
    original_payload_note:
      `cannot be masked safely (not well-formed XML or not text): ${r.payloadSize} bytes, ` +
      `sha256 ${r.payloadSha256}`,
  };
}

@Controller()
export class ConsoleController {
  private readonly dir = join(projectRoot(), 'apps/gateway/console');

  constructor(@Inject(GatewayRuntime) private readonly runtime: GatewayRuntime) {}

  @Get('console')
  @Public()
  index(@Res() res: Response): void {
    this.asset('index.html', res);
  }

  @Get('console/:file')
  @Public()
  file(@Param('file') file: string, @Res() res: Response): void {
    this.asset(file, res);
  }

  private asset(file: string, res: Response): void {
    const ext = /\.[a-z]+$/.exec(file)?.[0] ?? '';
    const path = join(this.dir, file);
    if (!/^[\w.-]+$/.test(file) || ASSETS[ext] === undefined || !existsSync(path)) {
      res.status(404).type('text/plain').send('not found');
      return;
    }
    res.status(200).type(ASSETS[ext]).send(readFileSync(path));
  }

  @Get('api/v1/whoami')
  @Allow('operator', 'auditor', 'hospital')
  whoami(@Req() req: Request): Record<string, unknown> {
    const p = principalOf(req);
    return { name: p.name, role: p.role, fixmedins_code: p.fixmedinsCode };
  }

  @Get('api/v1/console/flow')
  @Allow('operator', 'auditor', 'hospital')
  async flow(
    @Query('minutes') minutes: string | undefined,
    @Req() req: Request,
  ): Promise<Record<string, unknown>> {
    const scope = scopeOf(principalOf(req));
    const m = limitOf(minutes, 30, 24 * 60);
    const [flow, lag] = await Promise.all([
      readFlow(this.runtime.db, m, scope),
      this.runtime.lag().catch(() => []),
    ]);
    return { ...flow, consumerLag: lag, counters: { ...this.runtime.counters } };
  }

  @Get('api/v1/messages')
  @Allow('operator', 'auditor', 'hospital')
  async messages(@Req() req: Request, @Res() res: Response): Promise<void> {
    const rows = await this.messageRows(req, res, limitOf(query(req, 'limit')));
    if (rows === null) return;
    res.status(200).json({
      messages: rows.map((r) => ({
        id: r.id,
        source: r.source,
        topic: r.topic,
        partition: r.partition,
        offset: r.offset,
        received_at: r.receivedAt.toISOString(),
        status: r.status,
        correlation_id: r.correlationId,
        fixmedins_code: r.fixmedinsCode,
        mdtrt_id: r.mdtrtId,
        setl_id: r.setlId,
        reject_id: r.rejectId,
        reason_code: r.reasonCode,
        submitted_by: r.submittedBy,
        resubmission_of: r.resubmissionOf,
      })),
    });
  }

  /**
   * The messages of a time range as CSV (from/to in Beijing time, the list's filters), newest
   * first, person numbers masked, formula-like cells made inert (console-export.ts).
   */
  @Get('api/v1/console/messages.csv')
  @Allow('operator', 'auditor', 'hospital')
  async messagesCsv(@Req() req: Request, @Res() res: Response): Promise<void> {
    const rows = await this.messageRows(req, res, EXPORT_MAX_ROWS);
    if (rows === null) return;
    sendCsvFile(res, 'messages', messagesCsv(rows), rows.length);
  }

  private async messageRows(
    req: Request,
    res: Response,
    limit: number,
  ): Promise<MessageRow[] | null> {
    const range = rangeOf(req, res);
    if (range === null) return null;
    const before = query(req, 'before');
    return listMessages(this.runtime.db, {
      status: query(req, 'status'),
      fixmedinsCode: scopeOf(principalOf(req)) ?? query(req, 'fixmedins_code'),
      beforeId: before !== undefined && /^\d{1,18}$/.test(before) ? before : undefined,
      ...range,
      limit,
    });
  }

  @Get('api/v1/rejects')
  @Allow('operator', 'auditor', 'hospital')
  async rejects(@Req() req: Request, @Res() res: Response): Promise<void> {
    const rows = await this.rejectRows(req, res, limitOf(query(req, 'limit')));
    if (rows === null) return;
    res.status(200).json({ rejects: rows.map((r) => rejectJson(r, false)) });
  }

  /** The rejects of a time range as CSV, each with its plain reason and fix beside the code. */
  @Get('api/v1/console/rejects.csv')
  @Allow('operator', 'auditor', 'hospital')
  async rejectsCsv(@Req() req: Request, @Res() res: Response): Promise<void> {
    const rows = await this.rejectRows(req, res, EXPORT_MAX_ROWS);
    if (rows === null) return;
    sendCsvFile(res, 'rejects', rejectsCsv(rows), rows.length);
  }

  private async rejectRows(
    req: Request,
    res: Response,
    limit: number,
  ): Promise<RejectListRow[] | null> {
    const range = rangeOf(req, res);
    if (range === null) return null;
    const open = query(req, 'open');
    return listRejects(this.runtime.db, {
      fixmedinsCode: scopeOf(principalOf(req)),
      open: open === 'true' || open === '1',
      reasonCode: query(req, 'reason'),
      ...range,
      limit,
    });
  }

  @Get('api/v1/rejects/:id')
  @Allow('operator', 'auditor', 'hospital')
  async reject(@Param('id') id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const r = await findReject(this.runtime.db, id);
    const scope = scopeOf(principalOf(req));
    if (r === null || (scope !== undefined && r.fixmedinsCode !== scope)) {
      notFound(res, `no reject ${id}`);
      return;
    }
    // the operator edits and resubmits the message as it came; everyone else sees it masked
    res
      .status(200)
      .json(principalOf(req).role === 'operator' ? rejectJson(r, true) : maskedRejectJson(r));
  }

  /** The fixed message for a reject, sent again, linked to it and to who sent it. */
  @Post('api/v1/rejects/:id/resubmit')
  @Allow('operator')
  async resubmit(
    @Param('id') id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const r = await findReject(this.runtime.db, id);
    if (r === null) {
      notFound(res, `no reject ${id}`);
      return;
    }
    const body = messageOf(req, this.runtime.intake);
    if (!body.ok) {
      sendProblems(res, 400, 'rejected', [body.problem]);
      return;
    }
    if (foreignHospital(req, res, body.arrival, this.runtime.intake)) return;
    const already = (): void =>
      sendProblems(res, 409, 'already-resubmitted', [
        {
          code: 'ALREADY_RESUBMITTED',
          field: null,
          rule: 'a reject is resubmitted once; if that failed, fix the newer reject',
          message: `reject ${id} was resubmitted as message ${r.resubmittedAs ?? '?'} by ${r.resubmittedBy ?? '?'}`,
        },
      ]);
    if (r.resubmittedAs !== null) {
      already();
      return;
    }
    try {
      const outcome = await submitArrival(
        this.runtime,
        body.arrival,
        {
          kind: 'http',
          submittedBy: principalOf(req).name,
          resubmissionOf: id,
          ...hospitalScopeOf(req),
        },
        'console-resubmit',
      );
      await this.runtime.recordAction(
        principalOf(req),
        'resubmit',
        `reject ${id}`,
        outcome.status,
        {
          correlation_id: outcome.correlationId,
        },
      );
      res.setHeader('x-resubmission-of', id);
      sendOutcome(req, res, outcome);
    } catch (e) {
      if (!(e instanceof AlreadyResubmitted)) throw e;
      const again = await findReject(this.runtime.db, id);
      if (again !== null) Object.assign(r, again);
      already();
    }
  }

  /** A bill as the console shows it: the one bill, its steps with articles, the person masked. */
  @Get('api/v1/console/bills/:setlId')
  @Allow('operator', 'auditor', 'hospital')
  async bill(
    @Param('setlId') setlId: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const s = await visibleSettlement(this.runtime.db, req, res, setlId);
    if (s === null) return;
    let person: Record<string, string | null> = {
      psn_no: maskPsnNo(s.psnNo),
      psn_name: null,
      certno: null,
    };
    if (s.inboxId !== null) {
      const raw = await this.runtime.db.query<{ payload: string | null }>(
        'SELECT payload FROM inbox WHERE id = $1',
        [s.inboxId],
      );
      // the stored message (XML, or JSON as a client sent it) read by the one decoder
      const decoded = decodeStoredMessage(raw.rows[0]?.payload ?? '', { maxBytes: Infinity });
      const patient =
        decoded.ok && decoded.message.kind === 'discharge' ? decoded.message.patient : null;
      if (patient !== null)
        person = {
          ...person,
          psn_name: patient.name === undefined ? null : maskName(patient.name),
          certno: patient.certno === undefined ? null : maskCertno(patient.certno),
        };
    }
    const wire = toWire(s.result, envelopeOf(s));
    res.status(200).json({
      settlement_status: s.status,
      ...wire,
      setlinfo: { ...wire.setlinfo, psn_no: maskPsnNo(s.psnNo) },
      person,
    });
  }

  @Get('metrics')
  @Allow('operator', 'auditor')
  async metrics(@Res() res: Response): Promise<void> {
    const registry = this.runtime.metrics.registry;
    res
      .status(200)
      .type(registry.contentType)
      .send(await registry.metrics());
  }
}
