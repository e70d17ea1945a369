/**
 * Sets tracing up for a process (see tracing.ts), called by the apps' main.ts (and tests). The
 * OpenTelemetry SDK is loaded only when tracing is on (about a second of start-up on a busy
 * machine otherwise spent for nothing); the libs and the message path need only tracing.ts.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { markTracing, tracesEndpoint, tracingService } from './tracing';

export interface TracingOptions {
  /** `service.name` of the spans (OTEL_SERVICE_NAME overrides it) */
  serviceName: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Tests: export to this exporter (e.g. an InMemorySpanExporter), one span at a time, whatever
   * the environment says.
   */
  exporter?: SpanExporter;
}

export interface Tracing {
  /** whether a provider was registered (false: the no-op API) */
  readonly enabled: boolean;
  /** where spans go: the OTLP traces URL, 'exporter' (a test's), or null when off */
  readonly target: string | null;
  /** sends what is buffered */
  flush(): Promise<void>;
  /** flushes, then unregisters everything setupTracing registered */
  shutdown(): Promise<void>;
}

const OFF: Tracing = {
  enabled: false,
  target: null,
  flush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

/**
 * Registers tracing for this process when an endpoint is configured (see tracing.ts); resolves
 * to a handle whose `shutdown()` flushes. One registration per process: a second call while one
 * is active rejects.
 */
export async function setupTracing(options: TracingOptions): Promise<Tracing> {
  const env = options.env ?? process.env;
  const endpoint = options.exporter === undefined ? tracesEndpoint(env) : 'exporter';
  if (endpoint === null) return OFF;
  const current = tracingService();
  if (current !== null) throw new Error(`tracing is already set up for ${current}`);
  const [
    { AsyncLocalStorageContextManager },
    { W3CTraceContextPropagator },
    { OTLPTraceExporter },
    { resourceFromAttributes },
    { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider },
  ] = await Promise.all([
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace'),
  ]);
  // (checked again: another setup may have finished while the SDK loaded)
  const again = tracingService();
  if (again !== null) throw new Error(`tracing is already set up for ${again}`);
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || options.serviceName;
  const delay = Number(env.OTEL_BSP_SCHEDULE_DELAY);
  const processor =
    options.exporter === undefined
      ? new BatchSpanProcessor({
          exporter: new OTLPTraceExporter({ url: endpoint }),
          ...(Number.isFinite(delay) && delay > 0 ? { scheduledDelayMillis: delay } : {}),
        })
      : new SimpleSpanProcessor({ exporter: options.exporter });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [processor],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  markTracing(serviceName);
  let stopped = false;
  return {
    enabled: true,
    target: endpoint,
    flush: () => provider.forceFlush(),
    shutdown: async () => {
      if (stopped) return;
      stopped = true;
      try {
        await provider.shutdown();
      } finally {
        trace.disable();
        propagation.disable();
        context.disable();
        markTracing(null);
      }
    },
  };
}
