/**
 * An Express middleware that continues the caller's trace: the `traceparent` of the request (if
 * any) is the parent of a SERVER span that is active while the request is handled, so that what
 * the handler writes to the outbox carries it. With tracing off it only calls `next()`.
 *
 * `app.use(traceRequests('gateway'))` after the body parsers: the span covers the handler, not
 * the upload.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { extractContext, tracingEnabled } from './tracing';

/** What the middleware reads of a request and a response (Express's satisfy it). */
export interface TracedRequest {
  method: string;
  headers: IncomingHttpHeaders;
  originalUrl?: string;
  url?: string;
}
export interface TracedResponse {
  statusCode: number;
  once(event: 'finish' | 'close', listener: () => void): unknown;
}

/** The path without its query (no ids or tokens of a query string in a span name). */
function pathOf(req: TracedRequest): string {
  const url = req.originalUrl ?? req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export function traceRequests(
  tracer: string,
): (req: TracedRequest, res: TracedResponse, next: () => void) => void {
  return (req, res, next) => {
    if (!tracingEnabled()) return next();
    const parent = extractContext(req.headers);
    const path = pathOf(req);
    const span = trace.getTracer(tracer).startSpan(
      `${req.method} ${path}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': req.method, 'url.path': path },
      },
      parent,
    );
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    context.with(trace.setSpan(parent, span), next);
  };
}
