import { type DynamicModule, Module } from '@nestjs/common';
import { HttpController } from './http.controller';
import { GatewayRuntime } from './runtime';

/** The HTTP face of a runtime built (and owned) by main.ts. */
@Module({})
export class GatewayModule {
  static forRuntime(runtime: GatewayRuntime): DynamicModule {
    return {
      module: GatewayModule,
      controllers: [HttpController],
      providers: [{ provide: GatewayRuntime, useValue: runtime }],
    };
  }
}
