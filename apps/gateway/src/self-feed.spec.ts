import { RuleBook } from '@onebill/rules';
import { loadConfig } from './config';
import { Logger } from './log';
import { backoffMs, SelfFeed } from './self-feed';

const rules = RuleBook.load();
const config = loadConfig({ SIMULATOR_RATE: '5', PORT: '3999' });
const quiet = new Logger('error', {}, () => undefined);
const message = { kind: 'bill' as const, key: 'H1', xml: '<discharge/>' };

function answers(...statuses: Array<number | Error>): (url: string) => Promise<Response> {
  let i = 0;
  return () => {
    const next = statuses[Math.min(i++, statuses.length - 1)];
    if (next instanceof Error) return Promise.reject(next);
    return Promise.resolve(new Response('{}', { status: next }));
  };
}

describe('the embedded feed', () => {
  it('backs off exponentially up to ten seconds', () => {
    expect([1, 2, 3, 7, 20].map(backoffMs)).toEqual([200, 400, 800, 10_000, 10_000]);
  });

  it('retries a refused connection and a 503 until the gateway answers, and says so', async () => {
    const refused = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
    const feed = new SelfFeed(config, rules, 'ob_x', quiet, answers(refused, 503, 200));
    const status = await feed.send(
      'http://127.0.0.1:3999/x',
      message,
      new AbortController().signal,
    );
    expect(status).toBe(200);
    expect(feed.status.retries).toBe(2);
    expect(feed.status.lastError).toBe('HTTP 503');
    expect(feed.status.phase).toBe('running');
    expect(feed.status.answered).toEqual({ '2xx': 1 });
  });

  it('counts a 4xx as an answer: a malformed message is the gateway working, not failing', async () => {
    const feed = new SelfFeed(config, rules, 'ob_x', quiet, answers(422));
    await feed.send('http://127.0.0.1:3999/x', message, new AbortController().signal);
    expect(feed.status).toMatchObject({ retries: 0, answered: { '4xx': 1 } });
  });

  it('stays in "retrying" with the reason while the gateway does not answer, and stops on abort', async () => {
    const abort = new AbortController();
    const feed = new SelfFeed(
      config,
      rules,
      'ob_x',
      quiet,
      answers(new TypeError('fetch failed', { cause: new Error('socket hang up') })),
    );
    const sending = feed.send('http://127.0.0.1:3999/x', message, abort.signal);
    await new Promise((r) => setTimeout(r, 700));
    expect(feed.status.phase).toBe('retrying');
    expect(feed.status.lastError).toBe('fetch failed: socket hang up');
    expect(feed.status.retries).toBeGreaterThanOrEqual(2);
    abort.abort();
    await expect(sending).resolves.toBeNull();
  });
});
