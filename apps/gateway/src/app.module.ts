import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { AlertsController } from './alerts.controller';
import { AuditController } from './audit.controller';
import { IdentityController } from './identity.controller';
import { AuthGuard, Authenticator } from './auth';
import { ConsoleController } from './console.controller';
import { HealthController } from './health.controller';
import { HttpController } from './http.controller';
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
        HealthController,
        AuditController,
        IdentityController,
        AlertsController,
      ],
      providers: [
        { provide: GatewayRuntime, useValue: runtime },
        { provide: Authenticator, useValue: runtime.auth },
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
    };
  }
}
