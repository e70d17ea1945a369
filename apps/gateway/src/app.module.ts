import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { AlertsController } from './alerts.controller';
import { ApiErrorsFilter } from './api-errors.filter';
import { AuditController } from './audit.controller';
import { IdentityController } from './identity.controller';
import { AuthGuard, Authenticator } from './auth';
import { ConsoleController } from './console.controller';
import { ConsoleStateController } from './console-state.controller';
import { HealthController } from './health.controller';
import { HttpController } from './http.controller';
import { Logger } from './log';
import { OutboxController } from './outbox.controller';
import { GatewayRuntime } from './runtime';

/**
 * The HTTP face of a runtime built (and owned) by main.ts. Every route passes the AuthGuard: it is
 * @Public() or names its roles with @Allow(...); anything else is refused.
 */
@Module({})
export class GatewayModule {
  static forRuntime(runtime: GatewayRuntime): DynamicModule {
    return {
      module: GatewayModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [
        HttpController,
        ConsoleController,
        ConsoleStateController,
        HealthController,
        AuditController,
        IdentityController,
        OutboxController,
        AlertsController,
      ],
      providers: [
        { provide: GatewayRuntime, useValue: runtime },
        { provide: Authenticator, useValue: runtime.auth },
        { provide: APP_GUARD, useClass: AuthGuard },
        {
          provide: APP_FILTER,
          useFactory: () => {
            const log = new Logger(runtime.config.logLevel, { service: 'gateway' });
            return new ApiErrorsFilter(runtime.config.maxMessageBytes, (e) =>
              log.error('unhandled error in an HTTP request', {
                error: e instanceof Error ? e.message : String(e),
              }),
            );
          },
        },
      ],
    };
  }
}
