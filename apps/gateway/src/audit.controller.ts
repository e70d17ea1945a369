/**
 * Audit and clearing over HTTP (issue 5): audit replay and archive verification as background
 * jobs with progress (the console polls them), reconciliation of a hospital's declaration, the
 * clearing statements and the fund statements. Everything here reads the ledger; what it writes
 * is the jobs (audit_jobs) and the operators' audit log (operator_actions, docs/adr/0015).
 * Reports come as JSON, or CSV with ?format=csv.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  type AuditReport,
  type Declaration,
  type ReplayFilter,
  DeclarationError,
  annualClearing,
  annualClearingCsv,
  auditCsv,
  auditReplay,
  fundStatementOf,
  fundYearFile,
  readFundYear,
  verifyCsv,
  monthlyClearing,
  monthlyClearingCsv,
  parseCsvDeclarations,
  reconcile,
  reconciliationsCsv,
  fundStatementCsv,
} from '@onebill/audit';
import { FundInputError } from '@onebill/funds';
import {
  type AuditJobRow,
  type VerifyReport,
  findAuditJob,
  finishAuditJob,
  insertAuditJob,
  listAuditJobs,
  listOperatorActions,
  updateAuditJobProgress,
  verifyArchive,
  archiveLastSeq,
} from '@onebill/ledger';
import { decodeDeclaration } from '@onebill/messaging';
import { Allow, principalOf, scopeOf } from './auth';
import { sendProblems } from './http.controller';
import { GatewayRuntime } from './runtime';

type JobKind = 'replay' | 'verify';

interface Job {
  id: string;
  kind: JobKind;
  status: 'running' | 'done' | 'failed';
  requestedBy: string;
  startedAt: string;
  finishedAt: string | null;
  progress: { done: number; total: number; rate: number };
  filter?: ReplayFilter;
  report?: AuditReport | VerifyReport;
  error?: string;
}

/** Jobs listed (the database keeps them all; docs/adr/0015). */
const MAX_JOBS = 50;

function jobFromRow(r: AuditJobRow): Job {
  return {
    id: r.id,
    kind: r.kind as JobKind,
    status: r.status,
    requestedBy: r.requestedBy,
    startedAt: r.startedAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
    progress: r.progress,
    ...(r.filter !== null ? { filter: r.filter } : {}),
    ...(r.report !== null ? { report: r.report as AuditReport | VerifyReport } : {}),
    ...(r.error !== null ? { error: r.error } : {}),
  };
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const COUNTY = /^\d{6}$/;

function bad(res: Response, field: string, rule: string, message: string): void {
  sendProblems(res, 400, 'rejected', [{ code: 'INVALID_FIELD', field, rule, message }]);
}

function wantsCsv(req: Request): boolean {
  return req.query['format'] === 'csv' || (req.headers.accept ?? '').includes('text/csv');
}

function sendCsv(res: Response, name: string, csv: string): void {
  res
    .status(200)
    .setHeader('content-type', 'text/csv; charset=utf-8')
    .setHeader('content-disposition', `attachment; filename="${name}.csv"`)
    .send(csv);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

@Controller('api/v1')
export class AuditController {
  /** the jobs running in this process, with their live progress (the rows follow) */
  private readonly running = new Map<string, Job>();

  constructor(@Inject(GatewayRuntime) private readonly runtime: GatewayRuntime) {}

  private view(job: Job, withReport: boolean): Record<string, unknown> {
    return {
      job_id: job.id,
      kind: job.kind,
      status: job.status,
      requested_by: job.requestedBy,
      started_at: job.startedAt,
      finished_at: job.finishedAt,
      progress: job.progress,
      ...(job.filter ? { filter: job.filter } : {}),
      ...(job.error ? { error: job.error } : {}),
      ...(withReport && job.report ? { report: job.report } : {}),
    };
  }

  /** Starts an audit replay: 202 with the job; GET the job for progress and the report. */
  @Post('audit/replays')
  @Allow('operator', 'auditor')
  async startReplay(@Req() req: Request, @Res() res: Response): Promise<void> {
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<
      string,
      unknown
    >;
    const filter: ReplayFilter = {};
    for (const k of ['from', 'to', 'hospital', 'county', 'person', 'bill'] as const) {
      const v = body[k];
      if (v === undefined) continue;
      if (typeof v !== 'string' || v === '') {
        bad(res, k, 'string', `${k} must be a non-empty string`);
        return;
      }
      filter[k] = v;
    }
    for (const k of ['from', 'to'] as const) {
      if (filter[k] !== undefined && Number.isNaN(Date.parse(filter[k]))) {
        bad(res, k, 'date', `${k} must be a date or date-time, e.g. 2024-05-01`);
        return;
      }
    }
    const status = body['status'];
    if (status !== undefined) {
      if (status !== 'settled' && status !== 'reversed' && status !== 'all') {
        bad(res, 'status', 'settled|reversed|all', 'status is settled, reversed or all');
        return;
      }
      filter.status = status;
    }
    const job = await this.newJob('replay', req, filter);
    auditReplay(this.runtime.db, this.runtime.rules, filter, {
      onProgress: (p) => this.progress(job, p),
    }).then(
      (report) => this.finish(job, report),
      (e: unknown) => this.fail(job, e),
    );
    res
      .status(202)
      .setHeader('location', `/api/v1/audit/jobs/${job.id}`)
      .json(this.view(job, false));
  }

  /** Starts a verification of the archive's hash chain. */
  @Post('audit/archive/verifications')
  @Allow('operator', 'auditor')
  async startVerify(@Req() req: Request, @Res() res: Response): Promise<void> {
    // what was archived before this request: its own operator action is archived as it starts
    const asOf = await archiveLastSeq(this.runtime.db);
    const job = await this.newJob('verify', req);
    verifyArchive(this.runtime.db, {
      unsealedUpTo: asOf,
      onProgress: (n) => this.progress(job, { done: n, total: 0, rate: 0 }),
    }).then(
      (report) => this.finish(job, report),
      (e: unknown) => this.fail(job, e),
    );
    res
      .status(202)
      .setHeader('location', `/api/v1/audit/jobs/${job.id}`)
      .json(this.view(job, false));
  }

  @Get('audit/jobs')
  @Allow('operator', 'auditor')
  async listJobs(@Res() res: Response): Promise<void> {
    const rows = await listAuditJobs(this.runtime.db, MAX_JOBS);
    res.json({
      jobs: rows.map((r) => this.view(this.running.get(r.id) ?? jobFromRow(r), false)),
    });
  }

  @Get('audit/jobs/:id')
  @Allow('operator', 'auditor')
  async job(@Param('id') id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const live = this.running.get(id);
    const row = live === undefined ? await findAuditJob(this.runtime.db, id) : null;
    const job = live ?? (row === null ? undefined : jobFromRow(row));
    if (job === undefined) {
      sendProblems(res, 404, 'not-found', [
        { code: 'NOT_FOUND', field: 'id', rule: 'an audit job', message: `no job ${id}` },
      ]);
      return;
    }
    if (wantsCsv(req) && job.status === 'done' && job.report !== undefined) {
      const r = job.report;
      if ('kind' in r) sendCsv(res, `audit-${id}`, auditCsv(r));
      else {
        sendCsv(res, `archive-${id}`, verifyCsv(r));
      }
      return;
    }
    res.json(this.view(job, true));
  }

  /** The operators' audit log, newest first (`before`: an id, to page back; `actor`). */
  @Get('audit/actions')
  @Allow('operator', 'auditor')
  async actions(
    @Query('before') before: unknown,
    @Query('actor') actor: unknown,
    @Query('limit') limit: unknown,
    @Res() res: Response,
  ): Promise<void> {
    const b = str(before);
    if (b !== undefined && !/^\d{1,18}$/.test(b))
      return bad(res, 'before', 'an action id', 'before is the id of an action');
    const l = str(limit) ?? '100';
    if (!/^\d{1,4}$/.test(l) || Number(l) < 1 || Number(l) > 1000)
      return bad(res, 'limit', '1–1000', 'limit is between 1 and 1000');
    const rows = await listOperatorActions(this.runtime.db, {
      before: b ?? null,
      actor: str(actor) ?? null,
      limit: Number(l),
    });
    res.json({
      actions: rows.map((a) => ({
        id: a.id,
        at: a.at.toISOString(),
        actor: a.actor,
        role: a.role,
        action: a.action,
        target: a.target,
        outcome: a.outcome,
        detail: a.detail,
      })),
    });
  }

  /**
   * Reconciles a hospital's declaration (XML <reconciliation>, or CSV detail lines as text/csv)
   * against the ledger. A hospital credential may reconcile only its own institution.
   */
  @Post('reconciliations')
  @Allow('operator', 'auditor', 'hospital')
  async reconcile(@Req() req: Request, @Res() res: Response): Promise<void> {
    const body: unknown = req.body;
    const text =
      typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : '';
    if (text.trim() === '') {
      sendProblems(res, 400, 'rejected', [
        {
          code: 'EMPTY_BODY',
          field: '(declaration)',
          rule: 'POST <reconciliation> as application/xml, or detail lines as text/csv',
          message: 'the request has no declaration',
        },
      ]);
      return;
    }
    let declarations: Declaration[];
    if ((req.headers['content-type'] ?? '').includes('csv')) {
      try {
        declarations = parseCsvDeclarations(text);
      } catch (e) {
        if (!(e instanceof DeclarationError)) throw e;
        sendProblems(
          res,
          422,
          'rejected',
          e.problems.map((p) => ({ code: 'INVALID_FIELD', ...p })),
        );
        return;
      }
    } else {
      const d = decodeDeclaration(text);
      if (!d.ok) {
        sendProblems(res, 422, 'rejected', d.errors);
        return;
      }
      declarations = [d.declaration];
    }
    const scope = scopeOf(principalOf(req));
    const foreign = declarations.find((d) => scope !== undefined && d.fixmedinsCode !== scope);
    if (foreign !== undefined) {
      sendProblems(res, 403, 'forbidden', [
        {
          code: 'FOREIGN_HOSPITAL',
          field: 'fixmedins_code',
          rule: "a hospital credential reconciles its own institution's bills only",
          message: `${principalOf(req).name} may not reconcile ${foreign.fixmedinsCode}`,
        },
      ]);
      return;
    }
    const reports = [];
    for (const d of declarations) reports.push(await reconcile(this.runtime.db, d));
    await this.runtime.recordAction(
      principalOf(req),
      'reconcile',
      declarations.map((d) => `${d.fixmedinsCode}/${d.clrOptins}/${d.month}`).join(' '),
      reports.every((r) => r.matched) ? 'matched' : 'differs',
    );
    if (wantsCsv(req)) {
      sendCsv(res, 'reconciliation', reconciliationsCsv(reports));
      return;
    }
    res.status(200).json({
      matched: reports.every((r) => r.matched),
      reports,
    });
  }

  @Get('clearing/monthly')
  @Allow('operator', 'auditor')
  async monthly(
    @Query('county') county: unknown,
    @Query('month') month: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const c = str(county);
    const m = str(month);
    if (c === undefined || !COUNTY.test(c))
      return bad(res, 'county', 'six-digit admdvs', 'county is the agency admdvs, e.g. 510402');
    if (m === undefined || !MONTH.test(m)) return bad(res, 'month', 'YYYY-MM', 'month is YYYY-MM');
    const s = await monthlyClearing(this.runtime.db, c, m);
    if (wantsCsv(req)) sendCsv(res, `clearing-${c}-${m}`, monthlyClearingCsv(s));
    else res.json(s);
  }

  @Get('clearing/annual')
  @Allow('operator', 'auditor')
  async annual(
    @Query('county') county: unknown,
    @Query('year') year: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const c = str(county);
    const y = str(year);
    if (c === undefined || !COUNTY.test(c))
      return bad(res, 'county', 'six-digit admdvs', 'county is the agency admdvs, e.g. 510402');
    if (y === undefined || !/^\d{4}$/.test(y)) return bad(res, 'year', 'YYYY', 'year is YYYY');
    const s = await annualClearing(this.runtime.db, c, Number(y));
    if (wantsCsv(req)) sendCsv(res, `clearing-${c}-${y}`, annualClearingCsv(s));
    else res.json(s);
  }

  @Get('funds/statements')
  @Allow('operator', 'auditor')
  async funds(
    @Query('region') region: unknown,
    @Query('year') year: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const r = str(region);
    const y = str(year);
    if (r === undefined || !/^[a-z][a-z-]*$/.test(r))
      return bad(res, 'region', 'region name', 'region is e.g. panzhihua or baoshan');
    if (y === undefined || !/^\d{4}$/.test(y)) return bad(res, 'year', 'YYYY', 'year is YYYY');
    const file = fundYearFile(r, y, this.runtime.config.fundsDir);
    if (!existsSync(file)) {
      sendProblems(res, 404, 'not-found', [
        {
          code: 'NO_FUND_DATA',
          field: 'year',
          rule: 'config/funds/<region>-<year>.json',
          message: `no fund data for ${r} ${y}: add ${file}`,
        },
      ]);
      return;
    }
    let statement;
    try {
      statement = await fundStatementOf(this.runtime.db, readFundYear(file));
    } catch (e) {
      if (!(e instanceof FundInputError)) throw e;
      sendProblems(res, 500, 'bad-fund-data', [
        { code: 'INVALID_FUND_DATA', field: e.field, rule: file, message: e.message },
      ]);
      return;
    }
    if (wantsCsv(req)) sendCsv(res, `funds-${r}-${y}`, fundStatementCsv(statement.statement.rows));
    else res.json(statement);
  }

  private async newJob(kind: JobKind, req: Request, filter?: ReplayFilter): Promise<Job> {
    const job: Job = {
      id: randomUUID(),
      kind,
      status: 'running',
      requestedBy: principalOf(req).name,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      progress: { done: 0, total: 0, rate: 0 },
      ...(filter ? { filter } : {}),
    };
    await insertAuditJob(this.runtime.db, {
      id: job.id,
      kind,
      requestedBy: job.requestedBy,
      filter: filter ?? null,
    });
    this.running.set(job.id, job);
    await this.runtime.recordAction(principalOf(req), `audit-${kind}`, `job ${job.id}`, 'started', {
      ...(filter ? { filter } : {}),
    });
    return job;
  }

  private progress(job: Job, p: Job['progress']): void {
    job.progress = p;
    updateAuditJobProgress(this.runtime.db, job.id, p).catch(() => undefined);
  }

  private finish(job: Job, report: AuditReport | VerifyReport): void {
    job.status = 'done';
    job.report = report;
    job.finishedAt = new Date().toISOString();
    this.store(job, { report });
  }

  private fail(job: Job, e: unknown): void {
    job.status = 'failed';
    job.error = e instanceof Error ? e.message : String(e);
    job.finishedAt = new Date().toISOString();
    this.store(job, { error: job.error });
  }

  /** Writes the outcome; the live copy answers until the row has it. */
  private store(job: Job, outcome: { report: unknown } | { error: string }): void {
    finishAuditJob(this.runtime.db, job.id, outcome).then(
      () => this.running.delete(job.id),
      // kept in memory: this process still answers for it
      () => undefined,
    );
  }
}
