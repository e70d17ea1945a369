/**
 * Identities and enrollment subsidies over HTTP (issue 6): an identity change can be posted as
 * well as published on identity.changes.v1 (same processing); a person's registry; the subsidy on
 * a person's individual contribution (004 第六条, 002 第八条) and the per-county report.
 */
import { Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { type EnrollmentSubsidy, enrollmentSubsidy } from '@onebill/engine';
import { toCsv } from '@onebill/audit';
import { amountToFen, fenToAmount } from '@onebill/messaging';
import { categoriesInForce, identityPeriods, registryOn } from '@onebill/ledger';
import { RuleSetError } from '@onebill/rules';
import { Allow, principalOf } from './auth';
import { sendProblems } from './http.controller';
import { GatewayRuntime } from './runtime';

const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

function bad(res: Response, field: string, rule: string, message: string): void {
  sendProblems(res, 400, 'rejected', [{ code: 'INVALID_FIELD', field, rule, message }]);
}

@Controller('api/v1')
export class IdentityController {
  constructor(@Inject(GatewayRuntime) private readonly runtime: GatewayRuntime) {}

  /** The region whose rule sets govern a county (from the registry of institutions). */
  private regionOf(admdvs: string): string | undefined {
    return this.runtime.rules.allHospitals().find((h) => h.admdvs === admdvs)?.region;
  }

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
    res.json({
      psn_no: psnNo,
      date: on,
      in_force: categoriesInForce(periods, on),
      periods: periods.map((p) => ({
        category: p.category,
        valid_from: p.validFrom,
        valid_to: p.validTo,
        admdvs: p.admdvs,
      })),
    });
  }

  /**
   * The subsidy of one person for a year (their categories in force on `as_of`, default 1 January
   * of the year: 002 第八条（三） takes the category at the time of contribution), or of a category
   * in a region (`region` + `category`).
   */
  @Get('enrollment-subsidies')
  @Allow('operator', 'auditor')
  async subsidy(@Req() req: Request, @Res() res: Response): Promise<void> {
    const q = req.query;
    const year = typeof q['year'] === 'string' ? q['year'] : '';
    if (!/^\d{4}$/.test(year)) return bad(res, 'year', 'YYYY', 'year is YYYY');
    const asOf = typeof q['as_of'] === 'string' && q['as_of'] !== '' ? q['as_of'] : `${year}-01-01`;
    if (!DATE.test(asOf)) return bad(res, 'as_of', 'YYYY-MM-DD', 'as_of is YYYY-MM-DD');
    let region: string | undefined;
    let held: string[];
    let psnNo: string | null = null;
    if (typeof q['psn_no'] === 'string' && q['psn_no'] !== '') {
      psnNo = q['psn_no'];
      const periods = await identityPeriods(this.runtime.db, psnNo);
      if (periods.length === 0) {
        sendProblems(res, 404, 'not-found', [
          {
            code: 'NOT_IN_REGISTRY',
            field: 'psn_no',
            rule: 'a person with an identity change',
            message: `the registry knows nothing of ${psnNo}`,
          },
        ]);
        return;
      }
      held = categoriesInForce(periods, asOf);
      region = this.regionOf(periods[periods.length - 1]!.admdvs);
    } else {
      region = typeof q['region'] === 'string' ? q['region'] : undefined;
      const category = typeof q['category'] === 'string' ? q['category'] : '';
      if (category === '')
        return bad(res, 'category', 'required', 'give psn_no, or region and category');
      held = [category];
    }
    if (region === undefined || !this.runtime.rules.regions().includes(region)) {
      return bad(res, 'region', this.runtime.rules.regions().join('|'), 'unknown region');
    }
    const subsidyOf = this.subsidyRule(res, region, year);
    if (subsidyOf === null) return;
    const answer = subsidyOf(held);
    res.json({
      psn_no: psnNo,
      year: Number(year),
      as_of: asOf,
      region,
      categories: held,
      ...wire(answer),
    });
  }

  /** Per county: who is subsidised for the year, by category, and the total (JSON or CSV). */
  @Get('enrollment-subsidies/report')
  @Allow('operator', 'auditor')
  async report(@Req() req: Request, @Res() res: Response): Promise<void> {
    const q = req.query;
    const county = typeof q['county'] === 'string' ? q['county'] : '';
    const year = typeof q['year'] === 'string' ? q['year'] : '';
    if (!/^\d{6}$/.test(county))
      return bad(res, 'county', 'six-digit admdvs', 'county is an admdvs');
    if (!/^\d{4}$/.test(year)) return bad(res, 'year', 'YYYY', 'year is YYYY');
    const asOf = typeof q['as_of'] === 'string' && q['as_of'] !== '' ? q['as_of'] : `${year}-01-01`;
    if (!DATE.test(asOf)) return bad(res, 'as_of', 'YYYY-MM-DD', 'as_of is YYYY-MM-DD');
    const region = this.regionOf(county);
    if (region === undefined)
      return bad(res, 'county', 'a county of the registry', `no region for ${county}`);
    const people = await registryOn(this.runtime.db, asOf, county);
    const rows = new Map<
      string,
      { category: string; persons: number; subsidy: string; total: bigint }
    >();
    const subsidyOf = this.subsidyRule(res, region, year);
    if (subsidyOf === null) return;
    let total = 0n;
    for (const p of people) {
      const a = subsidyOf(p.categories);
      const key = a.category ?? 'none';
      const fen = amountToFen(a.subsidy);
      const row = rows.get(key) ?? { category: key, persons: 0, subsidy: a.subsidy, total: 0n };
      row.persons += 1;
      row.total += fen;
      rows.set(key, row);
      total += fen;
    }
    const lines = [...rows.values()]
      .sort((a, b) => a.category.localeCompare(b.category))
      .map((r) => ({
        category: r.category,
        persons: r.persons,
        subsidy_per_person: r.subsidy,
        total: fenToAmount(r.total),
      }));
    if (q['format'] === 'csv') {
      res
        .status(200)
        .setHeader('content-type', 'text/csv; charset=utf-8')
        .send(
          toCsv(
            ['county', 'year', 'as_of', 'category', 'persons', 'subsidy_per_person', 'total'],
            lines.map((l) => [
              county,
              year,
              asOf,
              l.category,
              l.persons,
              l.subsidy_per_person,
              l.total,
            ]),
          ),
        );
      return;
    }
    res.json({
      county,
      region,
      year: Number(year),
      as_of: asOf,
      persons: people.length,
      total: fenToAmount(total),
      by_category: lines,
    });
  }

  /**
   * The year's subsidy rule of a region as a function of the categories held (the rule and the
   * categories are resolved once); null when the rule set or the figures lack it (answered 422).
   */
  private subsidyRule(
    res: Response,
    region: string,
    year: string,
  ): ((held: readonly string[]) => EnrollmentSubsidy) | null {
    try {
      const rule = this.runtime.rules.enrollmentSubsidyRule(region, `${year}-07-01`);
      const categories = this.runtime.rules.resolve(region, `${year}-07-01`).categories;
      return (held) => enrollmentSubsidy(rule, categories, held);
    } catch (e) {
      if (!(e instanceof RuleSetError)) throw e;
      sendProblems(res, 422, 'rejected', [
        { code: e.code, field: e.field, rule: 'rule-set and yearly data', message: e.message },
      ]);
      return null;
    }
  }
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
