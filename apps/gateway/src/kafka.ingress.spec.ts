/**
 * The intake's chunk rule (kafka.ingress.ts `processChunk`, docs/adr/0020 "As wired"): a chunk
 * settled together; a store outage waits for the store and runs the same chunk again; any other
 * failure of the whole chunk runs its messages one by one, in order.
 */
import { StoreUnavailableError } from '@onebill/ledger';
import type { InboundMessage } from '@onebill/messaging';
import { processChunk } from './kafka.ingress';
import { Logger } from './log';

const message = (offset: string): InboundMessage =>
  ({
    topic: 'his.discharge.v1',
    partition: 0,
    offset,
    key: null,
    value: null,
    headers: {},
  }) as unknown as InboundMessage;

describe('processChunk', () => {
  const lines: string[] = [];
  const log = new Logger('warn', {}, (l) => lines.push(l));
  const chunk = ['1', '2', '3'].map(message);

  beforeEach(() => (lines.length = 0));

  it('gives the batch’s outcomes when the chunk settles together', async () => {
    const one = jest.fn();
    const r = await processChunk(
      log,
      chunk,
      () => Promise.resolve(['a', 'b', 'c']),
      one,
      async () => {},
    );
    expect(r).toEqual({ outcomes: ['a', 'b', 'c'], batched: true });
    expect(one).not.toHaveBeenCalled();
  });

  it('waits for the store and runs the same chunk again after an outage, spending nothing', async () => {
    let runs = 0;
    const whenReady = jest.fn(async () => {});
    const r = await processChunk(
      log,
      chunk,
      () => {
        runs += 1;
        return runs < 3
          ? Promise.reject(new StoreUnavailableError('connection refused', new Date()))
          : Promise.resolve(['a', 'b', 'c']);
      },
      jest.fn(),
      whenReady,
    );
    expect(r.batched).toBe(true);
    expect(runs).toBe(3);
    expect(whenReady).toHaveBeenCalledTimes(2);
    expect(lines).toEqual([]);
  });

  it('runs the messages one by one, in order, when the chunk fails for another reason', async () => {
    const seen: string[] = [];
    const r = await processChunk(
      log,
      chunk,
      () => Promise.reject(new Error('a bug outside any message')),
      (m) => {
        seen.push(m.offset);
        return Promise.resolve(`alone ${m.offset}`);
      },
      async () => {},
    );
    expect(r).toEqual({ outcomes: ['alone 1', 'alone 2', 'alone 3'], batched: false });
    expect(seen).toEqual(['1', '2', '3']);
    expect(lines.join('\n')).toContain('a bug outside any message');
  });

  it('gives up the chunk when the batch is abandoned while it waits for the store', async () => {
    await expect(
      processChunk(
        log,
        chunk,
        () => Promise.reject(new StoreUnavailableError('connection refused', new Date())),
        jest.fn(),
        () => Promise.reject(new Error('batch abandoned')),
      ),
    ).rejects.toThrow('batch abandoned');
  });
});
