/**
 * Sends a feed at a steady rate: every tick (100 ms) the messages due by then, as one batch to the
 * sink. Stops after `count` messages (0 = until stopped) or when `signal` aborts.
 */
import type { Feed, FeedMessage } from './feed';

export interface PaceOptions {
  /** messages per second */
  rate: number;
  /** stop after this many (0 = no limit) */
  count: number;
  signal?: AbortSignal;
  /** called with the totals after every batch */
  onProgress?: (sent: number, elapsedMs: number) => void;
}

export async function pace(
  feed: Feed,
  sink: (batch: FeedMessage[]) => Promise<void>,
  opts: PaceOptions,
): Promise<number> {
  const start = Date.now();
  let sent = 0;
  const tickMs = 100;
  while (!(opts.signal?.aborted ?? false) && (opts.count === 0 || sent < opts.count)) {
    const due = Math.floor(((Date.now() - start) / 1000) * opts.rate) + 1;
    const limit = opts.count === 0 ? due : Math.min(due, opts.count);
    const batch: FeedMessage[] = [];
    while (sent + batch.length < limit) batch.push(feed.message());
    if (batch.length > 0) {
      await sink(batch);
      sent += batch.length;
      opts.onProgress?.(sent, Date.now() - start);
    }
    await new Promise((r) => setTimeout(r, tickMs));
  }
  return sent;
}
