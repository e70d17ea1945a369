/**
 * The embedded demo's built-in feed: the HIS simulator posts bills to our own HTTP API, as a
 * cashier's desk would. It must never die quietly (issue 13): a request that fails (a refused or
 * reset connection, a timeout, a 5xx) is retried with exponential back-off, and the feed's state
 * (running, retrying with the last error, stopped) is what the `flow` line and the console show.
 */
import { type RuleBook } from '@onebill/rules';
import { Feed, type FeedMessage } from '../../his-simulator/src/feed';
import { hospitalRefs } from '../../his-simulator/src/generate';
import { pace } from '../../his-simulator/src/pace';
import type { GatewayConfig } from './config';
import type { Logger } from './log';

export type FeedPhase = 'off' | 'running' | 'retrying' | 'done' | 'stopped';

export interface FeedStatus {
  phase: FeedPhase;
  /** messages the gateway answered, by HTTP status class (2xx, 4xx, 5xx) */
  answered: Record<string, number>;
  /** requests that failed before an answer (network) or with 5xx, then retried */
  retries: number;
  lastError: string | null;
  /** when the feed last got an answer (ISO time) */
  lastAnswerAt: string | null;
}

/** Back-off between attempts of one message: 200 ms, 400 ms … capped at 10 s. */
export function backoffMs(attempt: number): number {
  return Math.min(10_000, 200 * 2 ** Math.max(0, attempt - 1));
}

const REQUEST_TIMEOUT_MS = 10_000;

export class SelfFeed {
  readonly status: FeedStatus = {
    phase: 'off',
    answered: {},
    retries: 0,
    lastError: null,
    lastAnswerAt: null,
  };

  constructor(
    private readonly config: GatewayConfig,
    private readonly rules: RuleBook,
    private readonly token: string,
    private readonly log: Logger,
    /** the HTTP call; a parameter so the retry rule is tested without a server */
    private readonly post: (url: string, init: RequestInit) => Promise<Response> = fetch,
  ) {}

  /** Posts one message until the gateway answers with something other than a 5xx. */
  async send(url: string, m: FeedMessage, signal: AbortSignal): Promise<number | null> {
    for (let attempt = 1; !signal.aborted; attempt++) {
      let failure: string;
      try {
        // a fresh timeout signal per request: listeners never pile up on one long-lived signal
        const r = await this.post(url, {
          method: 'POST',
          headers: { 'content-type': 'application/xml', authorization: `Bearer ${this.token}` },
          body: m.xml,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        await r.arrayBuffer();
        if (r.status < 500) {
          const cls = `${Math.floor(r.status / 100)}xx`;
          this.status.answered[cls] = (this.status.answered[cls] ?? 0) + 1;
          this.status.lastAnswerAt = new Date().toISOString();
          if (this.status.phase === 'retrying') {
            this.status.phase = 'running';
            this.log.info('simulator resumed', { after: this.status.lastError });
          }
          return r.status;
        }
        failure = `HTTP ${r.status}`;
      } catch (e) {
        const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
        failure = `${e instanceof Error ? e.message : String(e)}${cause}`;
      }
      this.status.retries += 1;
      this.status.lastError = failure;
      if (this.status.phase !== 'retrying') {
        this.status.phase = 'retrying';
        this.log.warn('simulator request failed; retrying with back-off', { error: failure });
      }
      await sleep(backoffMs(attempt), signal);
    }
    return null;
  }

  async run(signal: AbortSignal): Promise<void> {
    const url = `http://127.0.0.1:${this.config.port}/api/v1/settlements`;
    const feed = new Feed({
      seed: this.config.simulatorSeed,
      year: this.config.simulatorYear,
      hospitals: hospitalRefs(this.rules),
      persons: 2000,
      duplicates: 0.05,
      malformed: 0.02,
    });
    this.status.phase = 'running';
    this.log.info('simulator feeding the HTTP API', {
      rate: this.config.simulatorRate,
      count: this.config.simulatorCount,
      seed: this.config.simulatorSeed,
    });
    const sent = await pace(
      feed,
      async (batch) => {
        await Promise.all(batch.map((m) => this.send(url, m, signal)));
      },
      { rate: this.config.simulatorRate, count: this.config.simulatorCount, signal },
    );
    this.status.phase = signal.aborted ? 'stopped' : 'done';
    this.log.info('simulator done', { sent, answered: this.status.answered });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
