/**
 * Identities and enrollment subsidies over HTTP (issue 6): an identity change can be posted as
 * well as published on identity.changes.v1 (same processing); a person's registry; the subsidy on
 * a person's individual contribution (004 第六条, 002 第八条) and the per-county report over a
 * period, each person in one county (issue 15); a mistaken identity period withdrawn.
 */
import { Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { EnrollmentSubsidy } from '@onebill/engine';
import { toCsv } from '@onebill/audit';
import { categoriesInForce, identityPeriods, withdrawalsOf } from '@onebill/ledger';
import { RuleSetError } from '@onebill/rules';
import { Allow, principalOf } from './auth';
import { sendProblems } from './http.controller';
import { GatewayRuntime } from './runtime';
import {
  type CountyReport,
  type SubsidyPeriod,
  countyReport,
  personSubsidy,
  regionOfCounty,
  subsidyRuleOf,
} from './subsidy';

const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

function bad(res: Response, field: string, rule: string, message: string): void {
  sendProblems(res, 400, 'rejected', [{ code: 'INVALID_FIELD', field, rule, message }]);
}

@Controller('api/v1')
export class IdentityController {
  constructor(@Inject(GatewayRuntime) private readonly runtime: GatewayRuntime) {}

  @Post('identity-changes')
  @Allow('operator')
  async change(@Req() req: Request, @Res() res: Response): Promise<void> {
    const body: unknown = req.body;
    // decoded once: the body parser's tree is mapped, not serialised and parsed again; the
    // request's bytes are what is stored
    const rawBody: unknown = (req as Request & { rawBody?: unknown }).rawBody;
    const parsed = typeof body === 'object' && body !== null;
    const raw =
      typeof body === 'string'
        ? body
        : Buffer.isBuffer(rawBody)
          ? rawBody.toString('utf8')
          : parsed
            ? JSON.stringify(body)
            : '';
    const identities = this.runtime.identities;
    const o = await identities.processDecoded(
      raw,
      identities.decode(parsed ? { parsed: body } : raw),
      { kind: 'http', submittedBy: principalOf(req).name },
    );
    await this.runtime.recordAction(
      principalOf(req),
      'identity-change',
      'changeId' in o ? `change ${o.changeId}` : null,
      o.status,
      { correlation_id: o.correlationId },
    );
    res.setHeader('x-correlation-id', o.correlationId);
    switch (o.status) {
      case 'recorded':
        res.status(201).json({ status: o.status, change_id: o.changeId, topups: o.topups });
        return;
      case 'duplicate':
        res.status(200).json({ status: o.status, change_id: o.changeId });
        return;
      case 'rejected':
        sendProblems(res, 422, 'rejected', o.problems, { reject_id: o.rejectId });
        return;
    }
  }

  @Get('identities/:psnNo')
  @Allow('operator', 'auditor')
  async person(
    @Param('psnNo') psnNo: string,
    @Query('date') date: unknown,
    @Res() res: Response,
  ): Promise<void> {
    const on =
      typeof date === 'string' && date !== '' ? date : new Date().toISOString().slice(0, 10);
    if (!DATE.test(on)) return bad(res, 'date', 'YYYY-MM-DD', 'date is YYYY-MM-DD');
    const periods = await identityPeriods(this.runtime.db, psnNo);
    const withdrawn = await withdrawalsOf(this.runtime.db, psnNo);
    res.json({
      psn_no: psnNo,
      date: on,
      in_force: categoriesInForce(periods, on),
      periods: periods.map((p) => ({
        id: p.changeId ?? null,
        category: p.category,
        valid_from: p.validFrom,
        valid_to: p.validTo,
        admdvs: p.admdvs,
      })),
      withdrawn: withdrawn.map((w) => ({
        withdrawal_id: w.id,
        category: w.category,
        valid_from: w.validFrom,
        last_change_id: w.lastChangeId,
        reason: w.reason,
        withdrawn_by: w.withdrawnBy,
        withdrawn_at: w.withdrawnAt,
      })),
    });
  }

  /**
   * Withdraws a mistaken identity period (`id`: any change of the period, as GET
   * /identities/{psnNo} lists it); a reason is required. Not deleted: kept with who, when and why
   * (docs/adr/0009 decision 8a). Bills already settled under it are listed for review.
   */
  @Post('identities/:psnNo/periods/:id/withdraw')
  @Allow('operator')
  async withdraw(
    @Param('psnNo') psnNo: string,
    @Param('id') id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const body: unknown = req.body;
    const reason =
      typeof body === 'object' &&
      body !== null &&
      'reason' in body &&
      typeof body.reason === 'string'
        ? body.reason.trim()
        : '';
    if (reason === '' || reason.length > 500) {
      return bad(
        res,
        'reason',
        'required, at most 500 characters',
        'say why the period is withdrawn',
      );
    }
    const who = principalOf(req);
    const o = await this.runtime.identities.withdraw(psnNo, id, reason, who);
    switch (o.status) {
      case 'not-found':
        await this.runtime.recordAction(
          who,
          'identity-withdraw',
          `${psnNo} change ${id}`,
          o.status,
        );
        sendProblems(res, 404, 'not-found', [
          {
            code: 'NOT_IN_REGISTRY',
            field: 'id',
            rule: 'a change of this person',
            message: o.message,
          },
        ]);
        return;
      case 'already-withdrawn':
        await this.runtime.recordAction(
          who,
          'identity-withdraw',
          `${psnNo} change ${id}`,
          o.status,
          {
            withdrawal_id: o.withdrawalId,
          },
        );
        sendProblems(res, 409, 'conflict', [
          {
            code: 'ALREADY_WITHDRAWN',
            field: 'id',
            rule: 'a period is withdrawn once',
            message: o.message,
          },
        ]);
        return;
      case 'withdrawn':
        res.status(200).json({
          status: o.status,
          withdrawal_id: o.withdrawalId,
          operator_action_id: o.actionId,
          psn_no: psnNo,
          period: {
            category: o.period.category,
            valid_from: o.period.validFrom,
            valid_to: o.period.validTo,
            admdvs: o.period.admdvs,
          },
          change_ids: o.changeIds,
          reason,
          withdrawn_by: who.name,
          bills_to_review: o.billsToReview.map((b) => ({
            setl_id: b.setlId,
            fixmedins_code: b.fixmedinsCode,
            mdtrt_id: b.mdtrtId,
            discharge_date: b.dischargeDate,
            identities_used: b.identitiesUsed,
            topup_ids: b.topupIds,
            why: b.why,
          })),
        });
        return;
    }
  }

  /**
   * The subsidy of one person for a year: their one county and categories over the period
   * (`from`/`to`, default the calendar year; `as_of` = a one-day period, the contribution date
   * when it is known), or of a category in a region (`region` + `category`).
   */
  @Get('enrollment-subsidies')
  @Allow('operator', 'auditor')
  async subsidy(@Req() req: Request, @Res() res: Response): Promise<void> {
    const q = req.query;
    const period = periodOf(res, q);
    if (period === null) return;
    const year = String(period.year);
    if (typeof q['psn_no'] === 'string' && q['psn_no'] !== '') {
      const psnNo = q['psn_no'];
      let one: Awaited<ReturnType<typeof personSubsidy>>;
      try {
        one = await personSubsidy(this.runtime.db, this.runtime.rules, psnNo, period);
      } catch (e) {
        return ruleSetProblem(res, e);
      }
      if (one === null) {
        sendProblems(res, 404, 'not-found', [
          {
            code: 'NOT_IN_REGISTRY',
            field: 'psn_no',
            rule: 'a person with an identity in the period',
            message: `the registry has no identity of ${psnNo} from ${period.from} to ${period.to}`,
          },
        ]);
        return;
      }
      if (one.region === undefined) {
        return bad(res, 'region', 'a county of the registry', `no region for ${one.county.admdvs}`);
      }
      res.json({
        psn_no: psnNo,
        year: period.year,
        from: period.from,
        to: period.to,
        as_of: one.county.contributionDate,
        region: one.region,
        county: one.county.admdvs,
        reason: one.county.reason,
        also_registered_in: one.county.alsoRegisteredIn,
        categories: one.county.categories,
        ...wire(one.subsidy),
      });
      return;
    }
    const region = typeof q['region'] === 'string' ? q['region'] : undefined;
    const category = typeof q['category'] === 'string' ? q['category'] : '';
    if (category === '')
      return bad(res, 'category', 'required', 'give psn_no, or region and category');
    if (region === undefined || !this.runtime.rules.regions().includes(region)) {
      return bad(res, 'region', this.runtime.rules.regions().join('|'), 'unknown region');
    }
    let answer: EnrollmentSubsidy;
    try {
      answer = subsidyRuleOf(this.runtime.rules, region, period.year)([category]);
    } catch (e) {
      return ruleSetProblem(res, e);
    }
    res.json({
      psn_no: null,
      year: Number(year),
      as_of: period.from,
      region,
      categories: [category],
      ...wire(answer),
    });
  }

  /**
   * Per county: who is subsidised over the period (`from`/`to`, default the calendar year; people
   * identified during it included), each person once, in the one county the registry gives them
   * and why; totals by category (JSON, or CSV by category or, with `by=person`, by person).
   */
  @Get('enrollment-subsidies/report')
  @Allow('operator', 'auditor')
  async report(@Req() req: Request, @Res() res: Response): Promise<void> {
    const q = req.query;
    const county = typeof q['county'] === 'string' ? q['county'] : '';
    if (!/^\d{6}$/.test(county))
      return bad(res, 'county', 'six-digit admdvs', 'county is an admdvs');
    const period = periodOf(res, q);
    if (period === null) return;
    const region = regionOfCounty(this.runtime.rules, county);
    if (region === undefined)
      return bad(res, 'county', 'a county of the registry', `no region for ${county}`);
    let r: CountyReport;
    try {
      r = await countyReport(this.runtime.db, this.runtime.rules, county, region, period);
    } catch (e) {
      return ruleSetProblem(res, e);
    }
    if (q['format'] === 'csv') {
      const csv =
        q['by'] === 'person'
          ? toCsv(
              [
                'county',
                'year',
                'from',
                'to',
                'psn_no',
                'category',
                'subsidy',
                'contribution_date',
                'reason',
              ],
              r.people.map((p) => [
                county,
                period.year,
                period.from,
                period.to,
                p.psnNo,
                p.subsidy.category ?? 'none',
                p.subsidy.subsidy,
                p.county.contributionDate,
                p.county.reason,
              ]),
            )
          : toCsv(
              [
                'county',
                'year',
                'from',
                'to',
                'category',
                'persons',
                'subsidy_per_person',
                'total',
              ],
              r.byCategory.map((l) => [
                county,
                period.year,
                period.from,
                period.to,
                l.category,
                l.persons,
                l.subsidyPerPerson,
                l.total,
              ]),
            );
      res.status(200).setHeader('content-type', 'text/csv; charset=utf-8').send(csv);
      return;
    }
    res.json({
      county,
      region,
      year: period.year,
      from: period.from,
      to: period.to,
      persons: r.persons,
      total: r.total,
      by_category: r.byCategory.map((l) => ({
        category: l.category,
        persons: l.persons,
        subsidy_per_person: l.subsidyPerPerson,
        total: l.total,
      })),
      people: r.people.map((p) => ({
        psn_no: p.psnNo,
        county: p.county.admdvs,
        categories: p.county.categories,
        category: p.subsidy.category,
        subsidy: p.subsidy.subsidy,
        contribution_date: p.county.contributionDate,
        basis: p.county.basis,
        also_registered_in: p.county.alsoRegisteredIn,
        reason: p.county.reason,
      })),
    });
  }
}

/**
 * The reporting period from `year` and optional `from`/`to` (default the whole year) or `as_of`
 * (a one-day period); both ends within the year. Answers 400 and returns null when malformed.
 */
function periodOf(res: Response, q: Request['query']): SubsidyPeriod | null {
  const str = (k: string): string => (typeof q[k] === 'string' && q[k] !== '' ? q[k] : '');
  const year = str('year');
  if (!/^\d{4}$/.test(year)) {
    bad(res, 'year', 'YYYY', 'year is YYYY');
    return null;
  }
  const asOf = str('as_of');
  const from = asOf || str('from') || `${year}-01-01`;
  const to = asOf || str('to') || `${year}-12-31`;
  for (const [field, v] of [
    [asOf ? 'as_of' : 'from', from],
    [asOf ? 'as_of' : 'to', to],
  ] as const) {
    if (!DATE.test(v)) {
      bad(res, field, 'YYYY-MM-DD', `${field} is YYYY-MM-DD`);
      return null;
    }
    if (v.slice(0, 4) !== year) {
      bad(res, field, `within ${year}`, `${field} is within the subsidy's year ${year}`);
      return null;
    }
  }
  if (to < from) {
    bad(res, 'to', 'not before from', 'to is on or after from');
    return null;
  }
  return { year: Number(year), from, to };
}

/** A rule set or figures lacking the subsidy: 422 naming what is missing; anything else throws. */
function ruleSetProblem(res: Response, e: unknown): void {
  if (!(e instanceof RuleSetError)) throw e;
  sendProblems(res, 422, 'rejected', [
    { code: e.code, field: e.field, rule: 'rule-set and yearly data', message: e.message },
  ]);
}

function wire(a: EnrollmentSubsidy): Record<string, string | null> {
  return {
    category: a.category,
    contribution: a.contribution,
    subsidy: a.subsidy,
    person_pays: a.personPays,
    basis: a.basis,
    article: a.article,
  };
}
