/**
 * Liveness and readiness (@nestjs/terminus). Both are public and carry no data beyond up/down:
 * an orchestrator probes them without credentials.
 * - GET /health: the process answers (liveness);
 * - GET /health/ready: the database answers a query and, with Kafka, the broker answers and the
 *   consumer has joined its group (readiness); 503 with the failing check otherwise.
 */
import { Controller, Get, Inject } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  type HealthCheckResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { Public } from './auth';
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
    return this.health.check([
      async () => {
        const s = this.indicator.check('database');
        const r = await this.runtime.checkDatabase();
        return r.ok ? s.up({ driver: r.detail }) : s.down({ message: r.detail });
      },
      async () => {
        const s = this.indicator.check('kafka');
        const r = await this.runtime.checkKafka();
        return r.ok ? s.up({ state: r.detail }) : s.down({ message: r.detail });
      },
    ]);
  }
}
