/**
 * One trace from the HIS message to the county's payable (issue 13, item 2), with the real broker
 * and PostgreSQL: the compiled gateway exports over OTLP/HTTP (JSON) to a receiver in this
 * process; the county payment service runs in this process with an in-memory exporter.
 *
 * A discharge published with a `traceparent` header → the gateway's consumer span is its child →
 * the settlement event on settlement.events.v1 (and the HIS result) carries a `traceparent` naming
 * that span → the county's span is a child of it. The same over HTTP from the request's header.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { KafkaClient, type KafkaLogSink, type KafkaProducer, Topics } from '@onebill/messaging';
import { setupTracing, SpanKind, type Tracing } from '@onebill/observability';
import { loadConfig } from '../apps/county-payments/src/config';
import { CountyPaymentsRuntime } from '../apps/county-payments/src/runtime';
import { billXml, hospitalOf, newRun } from './support/bills';
import { writeCredentials } from './support/credentials';
import { eventually } from './support/eventually';
import { GatewayProcess } from './support/gateway-process';
import { KafkaTap, positionGroupAtEnd } from './support/kafka-tap';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver';

const RUN = newRun('T');
const CREDENTIALS = writeCredentials();
const quiet: KafkaLogSink = { error: () => undefined, warn: () => undefined, log: () => undefined };
const id = (bytes: number): string => randomBytes(bytes).toString('hex');
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

/** A database of the county's own on the shared server (it takes every county's events). */
async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = new URL(process.env.DATABASE_URL ?? '');
  const name = `onebill_trace_${RUN.toLowerCase()}`;
  const admin = new Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: base.toString() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

describe('traces from the HIS message to the county event (real Kafka, real PostgreSQL)', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let receiver: OtlpReceiver;
  let gateway: GatewayProcess;
  let county: CountyPaymentsRuntime;
  let countyDb: { url: string; drop: () => Promise<void> };
  let tap: KafkaTap;
  let client: KafkaClient;
  let producer: KafkaProducer;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    // this process is the county service: its spans go to memory
    tracing = await setupTracing({ serviceName: 'county-payments', exporter });
    const group = `trace-e2e-${RUN}`;
    await positionGroupAtEnd(group, [Topics.hisDischarge, Topics.hisAdmission]);
    await positionGroupAtEnd(`${group}-identity`, [Topics.identityChanges]);
    tap = await KafkaTap.open([Topics.settlementEvents, Topics.hisSettlementResult]);
    gateway = await GatewayProcess.start({
      KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '',
      DATABASE_URL: process.env.DATABASE_URL ?? '',
      KAFKA_GROUP_ID: group,
      OUTBOX_POLL_MS: '20',
      GATEWAY_CREDENTIALS_FILE: CREDENTIALS.file,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    countyDb = await freshDatabase();
    const countyGroup = `trace-county-${RUN}`;
    await positionGroupAtEnd(countyGroup, [Topics.settlementEvents]);
    county = await CountyPaymentsRuntime.open(
      loadConfig({
        KAFKA_BROKERS: process.env.KAFKA_BROKERS,
        DATABASE_URL: countyDb.url,
        COUNTY_ADMDVS: '*',
        KAFKA_GROUP_ID: countyGroup,
        KAFKA_LOG_LEVEL: 'nothing',
      }),
      quiet,
    );
    await county.start();
    client = new KafkaClient({
      brokers: (process.env.KAFKA_BROKERS ?? '').split(','),
      clientId: `trace-his-${RUN}`,
      logLevel: 'nothing',
    });
    producer = client.producer();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await client?.close();
    await gateway?.stop('SIGTERM');
    await county?.stop();
    await countyDb?.drop();
    await tap?.close();
    await tracing?.shutdown();
    await receiver?.close();
  });

  /**
   * The tapped message of `topic` about visit `visit` whose `traceparent` is of `trace`, once it
   * came; its parent span id. (Other developers' gateways on the shared broker may consume the
   * same discharge and publish their own event for it, without a traceparent: those are skipped.)
   */
  const tapped = (topic: string, visit: string, trace: string): Promise<string> =>
    eventually(
      () => {
        const ours = tap
          .on(topic)
          .filter((t) => t.value.includes(visit))
          .map((t) => TRACEPARENT.exec(t.headers.traceparent ?? ''))
          .find((match) => match?.[1] === trace);
        if (ours === undefined || ours === null)
          throw new Error(`nothing on ${topic} for ${visit} in trace ${trace} yet`);
        return ours[2] ?? '';
      },
      // a busy shared machine: the first message after the gateway's start can take a while
      { timeoutMs: 120_000, intervalMs: 100 },
    ).catch((e: unknown) => {
      const seen = tap
        .on(topic)
        .filter((t) => t.value.includes(visit))
        .map((t) => t.headers.traceparent ?? '(no traceparent)');
      throw new Error(
        `${String(e)}\nseen for ${visit}: ${seen.join(', ') || 'nothing'}\ngateway output:\n${gateway.output.join('').slice(-4000)}`,
      );
    });

  const countySpan = (trace: string): Promise<ReadableSpan> =>
    eventually(
      () => {
        const s = exporter.getFinishedSpans().find((span) => span.spanContext().traceId === trace);
        if (s === undefined) throw new Error(`no county span of trace ${trace} yet`);
        return s;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );

  /** The first span of `trace` the gateway exported over OTLP. */
  const gatewaySpan = (trace: string): Promise<ReceivedSpan> =>
    eventually(
      () => {
        const s = receiver.spans.find((span) => span.traceId === trace);
        if (s === undefined) throw new Error(`no exported span of trace ${trace} yet`);
        return s;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );

  it('continues a discharge’s traceparent (Kafka header) to the settlement event and the county', async () => {
    const trace = id(16);
    const hisSpan = id(8);
    const xml = billXml(RUN, 'discharge-panzhihua-11-none.xml', 'K1');
    await producer.send(Topics.hisDischarge, [
      {
        key: hospitalOf(xml),
        value: xml,
        headers: { 'content-type': 'application/xml', traceparent: `00-${trace}-${hisSpan}-01` },
      },
    ]);

    const intakeSpan = await tapped(Topics.settlementEvents, `${RUN}-K1`, trace);
    expect(intakeSpan).not.toBe(hisSpan); // a child, not the HIS message's span passed on
    // the HIS's own answer carries the same trace
    expect(await tapped(Topics.hisSettlementResult, `${RUN}-K1`, trace)).toBe(intakeSpan);

    // the gateway exported its consumer span over OTLP: the HIS message's child, the event's parent
    const exported = await gatewaySpan(trace);
    expect(exported).toMatchObject({
      service: 'gateway',
      name: 'his.discharge.v1 process',
      kind: 5, // OTLP SPAN_KIND_CONSUMER
      spanId: intakeSpan,
      parentSpanId: hisSpan,
    });

    // the county's span: same trace, a child of the gateway's
    const span = await countySpan(trace);
    expect(span.name).toBe('settlement.events.v1 process');
    expect(span.kind).toBe(SpanKind.CONSUMER);
    expect(span.parentSpanContext?.spanId).toBe(intakeSpan);
    expect(span.resource.attributes['service.name']).toBe('county-payments');
    expect(span.attributes['county.outcome']).toBe('applied');
  });

  it('continues an HTTP request’s traceparent to the settlement event and the county', async () => {
    const trace = id(16);
    const callerSpan = id(8);
    const xml = billXml(RUN, 'discharge-baoshan-11-none.xml', 'H1');
    const res = await fetch(`${gateway.base}/api/v1/settlements`, {
      method: 'POST',
      headers: {
        'content-type': 'application/xml',
        ...CREDENTIALS.header(CREDENTIALS.operator),
        traceparent: `00-${trace}-${callerSpan}-01`,
        'x-request-id': randomUUID(),
      },
      body: xml,
    });
    expect(res.status).toBe(201);

    const serverSpan = await tapped(Topics.settlementEvents, `${RUN}-H1`, trace);
    const exported = await gatewaySpan(trace);
    expect(exported).toMatchObject({
      service: 'gateway',
      name: 'POST /api/v1/settlements',
      kind: 2, // OTLP SPAN_KIND_SERVER
      spanId: serverSpan,
      parentSpanId: callerSpan,
    });
    const span = await countySpan(trace);
    expect(span.parentSpanContext?.spanId).toBe(serverSpan);
  });
});
