/**
 * OpenTelemetry traces, off unless an OTLP endpoint is configured. This file needs only
 * @opentelemetry/api (the libs and the message path import it); the SDK is loaded by
 * tracing-setup.ts, which an app's main.ts calls.
 *
 * `setupTracing({ serviceName })` (tracing-setup.ts) registers a tracer provider, the W3C
 * trace-context propagator and an AsyncLocalStorage context manager only when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set and
 * `OTEL_SDK_DISABLED` is not `true`; spans then go out over OTLP/HTTP (JSON) in batches. Otherwise nothing is registered: the API stays the no-op
 * one, `inSpan` calls its function directly and `traceHeaders` returns no header — no span, no
 * context, no cost on the message path.
 *
 * `traceparent` travels in HTTP request headers and Kafka record headers: `extractContext` reads
 * it (strings or Buffers), `traceHeaders` writes the active context's.
 */
import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';

export { SpanKind };

/** The service tracing is set up for (tracing-setup.ts), or null: tracing off. */
let active: { serviceName: string } | null = null;

/** For tracing-setup.ts only: tracing is on for `serviceName` (null: off again). */
export function markTracing(serviceName: string | null): void {
  active = serviceName === null ? null : { serviceName };
}

/** The service tracing is set up for, or null. */
export function tracingService(): string | null {
  return active?.serviceName ?? null;
}

/** The OTLP URL traces go to, or null when tracing is off. */
export function tracesEndpoint(env: NodeJS.ProcessEnv = process.env): string | null {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return null;
  if ((env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase() === 'none') return null;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces !== undefined && traces !== '') return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (base === undefined || base === '') return null;
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

/** Whether spans are being recorded in this process. */
export function tracingEnabled(): boolean {
  return active !== null;
}

/** Header values as Kafka (Buffer, Buffer[]) and Node's HTTP (string, string[]) give them. */
export type Carrier = Record<string, string | string[] | Buffer | Buffer[] | undefined>;

const getter: TextMapGetter<Carrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = carrier[key] ?? carrier[key.toLowerCase()];
    if (v === undefined) return undefined;
    const one = Array.isArray(v) ? v[0] : v;
    return one === undefined ? undefined : one.toString();
  },
};

/** The context a message's or a request's `traceparent` names (the root context when none). */
export function extractContext(headers: Carrier | undefined): Context {
  if (active === null || headers === undefined) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, headers, getter);
}

/**
 * `traceparent` (and `tracestate`) of the active span, to put on an outgoing message or row;
 * empty when tracing is off or no span is active.
 */
export function traceHeaders(ctx?: Context): Record<string, string> {
  if (active === null) return {};
  const out: Record<string, string> = {};
  propagation.inject(ctx ?? context.active(), out);
  return out;
}

export interface SpanOptions {
  /** the tracer (instrumentation scope): the app or lib that records the span */
  tracer: string;
  /** the parent: by default the active context */
  parent?: Context;
  kind?: SpanKind;
  attributes?: Attributes;
}

/**
 * Runs `fn` inside a new span (the active one while `fn` runs, so what `fn` writes to the outbox
 * or sends carries it), ended when `fn` settles; an error marks the span and is rethrown. With
 * tracing off, `fn` runs as it is.
 */
export async function inSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span | null) => Promise<T>,
): Promise<T> {
  if (active === null) return fn(null);
  const parent = options.parent ?? context.active();
  const span = trace.getTracer(options.tracer).startSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes ? { attributes: options.attributes } : {}),
    },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (e) {
    span.recordException(e instanceof Error ? e : String(e));
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: e instanceof Error ? e.message : String(e),
    });
    throw e;
  } finally {
    span.end();
  }
}

/** A span started for a message about to be sent: its headers to send with it, and its end. */
export interface SendSpan {
  headers: Record<string, string>;
  end(error?: unknown): void;
}

/**
 * A span (PRODUCER, or CLIENT for a request) for one outgoing message, a child of the active
 * context, whose `traceparent` the message carries; null when tracing is off. The caller ends it
 * once the send settled.
 */
export function sendSpan(
  tracer: string,
  name: string,
  kind: SpanKind = SpanKind.PRODUCER,
): SendSpan | null {
  if (active === null) return null;
  const parent = context.active();
  const span = trace.getTracer(tracer).startSpan(name, { kind }, parent);
  return {
    headers: traceHeaders(trace.setSpan(parent, span)),
    end: (error?: unknown) => {
      if (error !== undefined) {
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : 'send failed',
        });
      }
      span.end();
    },
  };
}
