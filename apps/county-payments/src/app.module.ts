import { type DynamicModule, Module } from '@nestjs/common';
import { CountyPaymentsController } from './http.controller';
import { CountyPaymentsRuntime } from './runtime';

@Module({})
export class CountyPaymentsModule {
  static forRuntime(runtime: CountyPaymentsRuntime): DynamicModule {
    return {
      module: CountyPaymentsModule,
      controllers: [CountyPaymentsController],
      providers: [{ provide: CountyPaymentsRuntime, useValue: runtime }],
    };
  }
}
