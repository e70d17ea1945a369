/**
 * A tiny OTLP/HTTP receiver in the test process: accepts `POST /v1/traces` in the JSON encoding
 * (what @opentelemetry/exporter-trace-otlp-http sends), keeps every span with its service name.
 */
import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';

export interface ReceivedSpan {
  service: string;
  scope: string;
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string;
}

interface OtlpJson {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string; value?: { stringValue?: string } }> };
    scopeSpans?: Array<{
      scope?: { name?: string };
      spans?: Array<{
        name: string;
        kind?: number;
        traceId: string;
        spanId: string;
        parentSpanId?: string;
      }>;
    }>;
  }>;
}

/** ids come hex-encoded in OTLP JSON; base64 from an exporter that does not follow that */
const hex = (id: string | undefined): string =>
  id === undefined || id === ''
    ? ''
    : /^[0-9a-f]+$/i.test(id) && (id.length === 32 || id.length === 16)
      ? id.toLowerCase()
      : Buffer.from(id, 'base64').toString('hex');

export class OtlpReceiver {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly spans: ReceivedSpan[],
  ) {}

  static async start(): Promise<OtlpReceiver> {
    const spans: ReceivedSpan[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        if (req.method !== 'POST' || req.url !== '/v1/traces') {
          res.writeHead(404).end();
          return;
        }
        take(JSON.parse(body.toString('utf8')) as OtlpJson, spans);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    return new OtlpReceiver(server, `http://127.0.0.1:${port}`, spans);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function take(body: OtlpJson, spans: ReceivedSpan[]): void {
  for (const rs of body.resourceSpans ?? []) {
    const service =
      rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue ?? '';
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          service,
          scope: ss.scope?.name ?? '',
          name: s.name,
          kind: s.kind ?? 0,
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
        });
      }
    }
  }
}
