/**
 * Liveness and readiness (@nestjs/terminus), public for orchestrators and answered at once from
 * the background monitor's last results (health.monitor.ts; docs/adr/0010). No personal data:
 * components, states, topic and partition numbers, counts.
 * - GET /health: the process answers (liveness);
 * - GET /health/ready: every component — database, broker, consumer progress, relay progress —
 *   with its state and, when down, what to do; 503 when any is down;
 * - GET /health/intake: what the cashier's-desk HTTP intake needs, the database only; it settles
 *   while the broker is away (its events wait in the outbox), so a load balancer in front of the
 *   HTTP API probes this one.
 */
import { Controller, Get, Inject } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  type HealthCheckResult,
  type HealthIndicatorFunction,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { Public } from './auth';
import { type ComponentHealth, type ComponentName, COMPONENTS } from './health.monitor';
import { GatewayRuntime } from './runtime';

@Controller('health')
@Public()
export class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(HealthIndicatorService) private readonly indicator: HealthIndicatorService,
    @Inject(GatewayRuntime) private readonly runtime: GatewayRuntime,
  ) {}

  @Get()
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([() => this.indicator.check('process').up({ pid: process.pid })]);
  }

  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.check(COMPONENTS);
  }

  @Get('intake')
  @HealthCheck()
  intake(): Promise<HealthCheckResult> {
    return this.check(['database']);
  }

  private check(names: readonly ComponentName[]): Promise<HealthCheckResult> {
    const r = this.runtime.readiness();
    const indicators: HealthIndicatorFunction[] = names.map((name) => () => {
      const { status, ...details }: ComponentHealth = r[name];
      const s = this.indicator.check(name);
      return status === 'up' ? s.up(details) : s.down(details);
    });
    return this.health.check(indicators);
  }
}
