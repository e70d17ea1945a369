import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { CountyPaymentsController } from './http.controller';
import { CountyPaymentsRuntime } from './runtime';
import { StoreUnavailableFilter } from './store-unavailable.filter';

@Module({})
export class CountyPaymentsModule {
  static forRuntime(runtime: CountyPaymentsRuntime): DynamicModule {
    return {
      module: CountyPaymentsModule,
      controllers: [CountyPaymentsController],
      providers: [
        { provide: CountyPaymentsRuntime, useValue: runtime },
        { provide: APP_FILTER, useClass: StoreUnavailableFilter },
      ],
    };
  }
}
