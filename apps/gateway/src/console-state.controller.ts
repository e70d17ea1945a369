/**
 * What the console needs besides the ledger's figures (issue 13): names beside codes (hospitals,
 * counties, identity categories, from the registry and the rule sets), and the state banner's
 * facts — whether Kafka is on, the embedded feed's state, how long each hospital has been silent,
 * how old the oldest unpublished event is. Health itself stays at /health/ready; the console reads
 * both.
 */
import { Controller, Get, Inject, Req } from '@nestjs/common';
import type { Request } from 'express';
import { lastSeenByHospital, oldestPendingOutboxSeconds } from '@onebill/ledger';
import { Allow, principalOf, scopeOf } from './auth';
import { GatewayRuntime } from './runtime';

/** Beijing time: the national platform's times and the console's are all in it. */
export const TIME_ZONE = 'Asia/Shanghai';

@Controller('api/v1/console')
export class ConsoleStateController {
  constructor(@Inject(GatewayRuntime) private readonly runtime: GatewayRuntime) {}

  @Get('names')
  @Allow('operator', 'auditor', 'hospital')
  names(): Record<string, unknown> {
    const hospitals = this.runtime.rules.allHospitals();
    const counties: Record<string, string> = {};
    for (const h of hospitals) counties[h.admdvs] ??= h.county;
    return {
      hospitals: Object.fromEntries(
        hospitals.map((h) => [
          h.fixmedins_code,
          { name: h.name, admdvs: h.admdvs, county: h.county, region: h.region },
        ]),
      ),
      counties,
      categories: this.runtime.rules.categoryNames(),
      time_zone: TIME_ZONE,
      utc_offset: '+08:00',
    };
  }

  @Get('state')
  @Allow('operator', 'auditor', 'hospital')
  async state(@Req() req: Request): Promise<Record<string, unknown>> {
    const scope = scopeOf(principalOf(req));
    const codes = this.runtime.rules
      .allHospitals()
      .map((h) => h.fixmedins_code)
      .filter((c) => scope === undefined || c === scope)
      .sort();
    const now = Date.now();
    const [seen, outboxAge] = await Promise.all([
      lastSeenByHospital(this.runtime.db, codes),
      oldestPendingOutboxSeconds(this.runtime.db),
    ]);
    const feed = this.runtime.feedStatus();
    return {
      server_time: new Date(now).toISOString(),
      kafka: this.runtime.config.kafkaBrokers === null ? 'off' : 'on',
      store: this.runtime.db.driver,
      outbox_oldest_pending_seconds: outboxAge,
      feed:
        feed === null
          ? null
          : {
              phase: feed.phase,
              retries: feed.retries,
              last_error: feed.lastError,
              last_answer_at: feed.lastAnswerAt,
              answered: feed.answered,
            },
      hospitals: seen.map((s) => ({
        fixmedins_code: s.fixmedinsCode,
        last_message_at: s.at?.toISOString() ?? null,
        silent_minutes: s.at === null ? null : Math.floor((now - s.at.getTime()) / 60_000),
      })),
    };
  }
}
