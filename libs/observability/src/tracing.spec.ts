import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { traceRequests } from './http';
import { setupTracing } from './tracing-setup';
import {
  extractContext,
  inSpan,
  sendSpan,
  SpanKind,
  traceHeaders,
  tracesEndpoint,
  tracingEnabled,
} from './tracing';

const PARENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${PARENT_TRACE}-${PARENT_SPAN}-01`;

describe('tracing off (no endpoint configured)', () => {
  it('registers no provider, no propagator, no context manager', async () => {
    const tracing = await setupTracing({ serviceName: 'gateway', env: {} });
    expect(tracing.enabled).toBe(false);
    expect(tracing.target).toBeNull();
    expect(tracingEnabled()).toBe(false);
    // the API's no-op tracer: its spans record nothing and have no ids
    const span = trace.getTracer('gateway').startSpan('x');
    expect(span.isRecording()).toBe(false);
    expect(span.spanContext().traceId).toBe('00000000000000000000000000000000');
    // no propagator: nothing is injected even from a context that names a trace
    const carrier: Record<string, string> = {};
    propagation.inject(
      propagation.extract(context.active(), { traceparent: TRACEPARENT }),
      carrier,
    );
    expect(carrier).toEqual({});
    expect(traceHeaders()).toEqual({});
    expect(sendSpan('his-simulator', 'send')).toBeNull();
    await expect(inSpan('p', { tracer: 'gateway' }, (s) => Promise.resolve(s))).resolves.toBeNull();
    await tracing.shutdown();
  });

  it.each([
    [{}, null],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: '' }, null],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, 'http://c:4318/v1/traces'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }, 'http://c:4318/v1/traces'],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/t' }, 'http://c:4318/t'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }, null],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }, null],
  ])('the endpoint of %p is %p', (env, url) => {
    expect(tracesEndpoint(env)).toBe(url);
  });

  it('registers a provider when an endpoint is configured, and unregisters it on shutdown', async () => {
    const tracing = await setupTracing({
      serviceName: 'gateway',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' },
    });
    try {
      expect(tracing.enabled).toBe(true);
      expect(tracing.target).toBe('http://127.0.0.1:9/v1/traces');
      expect(trace.getTracer('gateway').startSpan('x').isRecording()).toBe(true);
      await expect(
        setupTracing({ serviceName: 'again', env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' } }),
      ).rejects.toThrow(/already set up for gateway/);
    } finally {
      await tracing.shutdown();
    }
    expect(tracingEnabled()).toBe(false);
    expect(trace.getTracer('gateway').startSpan('x').isRecording()).toBe(false);
  });
});

describe('tracing on (an in-memory exporter)', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Awaited<ReturnType<typeof setupTracing>>;
  beforeAll(async () => {
    tracing = await setupTracing({ serviceName: 'unit', exporter });
  });
  afterAll(() => tracing.shutdown());
  beforeEach(() => exporter.reset());

  it("continues a message's traceparent (a Kafka header, bytes) and stamps the span's on what it writes", async () => {
    let written: Record<string, string> = {};
    await inSpan(
      'his.discharge.v1 process',
      {
        tracer: 'gateway',
        parent: extractContext({ traceparent: Buffer.from(TRACEPARENT) }),
        kind: SpanKind.CONSUMER,
      },
      async () => {
        await new Promise((r) => setTimeout(r, 1)); // across an await, as the intake's queries are
        written = traceHeaders();
      },
    );
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('his.discharge.v1 process');
    expect(span?.spanContext().traceId).toBe(PARENT_TRACE);
    expect(span?.parentSpanContext?.spanId).toBe(PARENT_SPAN);
    expect(span?.resource.attributes['service.name']).toBe('unit');
    // the row's header names this span: a child of the HIS message's
    expect(written.traceparent).toBe(`00-${PARENT_TRACE}-${span?.spanContext().spanId}-01`);
    expect(traceHeaders()).toEqual({}); // nothing active outside
  });

  it('starts a new trace when the message has no traceparent (or a malformed one)', async () => {
    for (const headers of [{}, { traceparent: 'garbage' }, undefined]) {
      await inSpan('p', { tracer: 'gateway', parent: extractContext(headers) }, () =>
        Promise.resolve(),
      );
    }
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(3);
    for (const s of spans) {
      expect(s.parentSpanContext).toBeUndefined();
      expect(s.spanContext().traceId).not.toBe(PARENT_TRACE);
    }
  });

  it('marks a span whose work failed, and rethrows', async () => {
    await expect(
      inSpan('p', { tracer: 'gateway' }, () => Promise.reject(new Error('boom'))),
    ).rejects.toThrow('boom');
    const [span] = exporter.getFinishedSpans();
    expect(span?.status).toMatchObject({ code: 2, message: 'boom' });
  });

  it('gives each sent message a span of its own, its traceparent in the headers', () => {
    const a = sendSpan('his-simulator', 'his.discharge.v1 send');
    const b = sendSpan('his-simulator', 'his.discharge.v1 send');
    a?.end();
    b?.end(new Error('refused'));
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.kind)).toEqual([SpanKind.PRODUCER, SpanKind.PRODUCER]);
    expect(a?.headers.traceparent).toBe(
      `00-${spans[0]?.spanContext().traceId}-${spans[0]?.spanContext().spanId}-01`,
    );
    expect(spans[0]?.spanContext().traceId).not.toBe(spans[1]?.spanContext().traceId);
    expect(spans[1]?.status.code).toBe(2);
  });

  it('continues the traceparent of an HTTP request while the handler runs', async () => {
    const middleware = traceRequests('gateway');
    let finish: () => void = () => undefined;
    const res = {
      statusCode: 201,
      once: (event: string, listener: () => void) => {
        if (event === 'finish') finish = listener;
      },
    };
    let written: Record<string, string> = {};
    await new Promise<void>((resolve) => {
      middleware(
        {
          method: 'POST',
          headers: { traceparent: TRACEPARENT },
          originalUrl: '/api/v1/settlements?x=1',
        },
        res,
        () => {
          void (async () => {
            await new Promise((r) => setTimeout(r, 1));
            written = traceHeaders();
            resolve();
          })();
        },
      );
    });
    expect(exporter.getFinishedSpans()).toHaveLength(0); // ends with the response
    finish();
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('POST /api/v1/settlements');
    expect(span?.kind).toBe(SpanKind.SERVER);
    expect(span?.attributes['http.response.status_code']).toBe(201);
    expect(span?.spanContext().traceId).toBe(PARENT_TRACE);
    expect(span?.parentSpanContext?.spanId).toBe(PARENT_SPAN);
    expect(written.traceparent).toBe(`00-${PARENT_TRACE}-${span?.spanContext().spanId}-01`);
  });
});
