/**
 * The cashier's desk (issue 17 item 3): `POST /api/v1/settlements` at a fixed rate with autocannon,
 * each request a distinct valid bill, with a credential the gateway accepts. Latency as autocannon
 * measures it — with a fixed rate it corrects for coordinated omission (a request that could not
 * be sent because the connections were all waiting counts from when it was due).
 */
import autocannon from 'autocannon';

export interface HttpPhaseOptions {
  /** the gateway's base URL */
  base: string;
  /** `authorization` header value */
  authorization: string;
  rate: number;
  seconds: number;
  /** distinct bills; when they run out the next ones are resent copies (answered 200) */
  bills: readonly string[];
  signal: AbortSignal;
}

export interface HttpPhaseResult {
  offeredPerSecond: number;
  seconds: number;
  connections: number;
  requests: number;
  /** answered requests per second */
  answeredPerSecond: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  statusCodes: Record<string, number>;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** distinct bills sent (each at most once unless they ran out) */
  distinctBills: number;
}

export async function runHttpPhase(o: HttpPhaseOptions): Promise<HttpPhaseResult> {
  let next = 0;
  // enough connections that a slow answer does not hold back the rate: ~10 requests each a second
  const connections = Math.max(4, Math.ceil(o.rate / 10));
  const instance = autocannon({
    url: `${o.base}/api/v1/settlements`,
    connections,
    duration: o.seconds,
    overallRate: o.rate,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        headers: { authorization: o.authorization, 'content-type': 'application/xml' },
        setupRequest: (req) => {
          const body = o.bills[next % o.bills.length] ?? '';
          next += 1;
          return { ...req, body };
        },
      },
    ],
  });
  const abort = (): void => instance.stop();
  o.signal.addEventListener('abort', abort, { once: true });
  try {
    const r = await instance;
    const round1 = (x: number): number => Math.round(x * 10) / 10;
    return {
      offeredPerSecond: o.rate,
      seconds: o.seconds,
      connections,
      requests: r.requests.total,
      answeredPerSecond: Math.round(r.requests.total / Math.max(1, r.duration)),
      latencyMs: {
        mean: round1(r.latency.average),
        p50: round1(r.latency.p50),
        p90: round1(r.latency.p90),
        p99: round1(r.latency.p99),
        max: round1(r.latency.max),
      },
      statusCodes: Object.fromEntries(
        Object.entries(r.statusCodeStats).map(([k, v]) => [k, Number(v.count)]),
      ),
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: r.timeouts,
      distinctBills: Math.min(next, o.bills.length),
    };
  } finally {
    o.signal.removeEventListener('abort', abort);
  }
}
