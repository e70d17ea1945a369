/**
 * The relay's batching and parking on the embedded PGlite, with a stand-in for the broker that
 * refuses what a real one refuses (a request's batch over its limit: MESSAGE_TOO_LARGE). The same
 * behaviours against a real broker: test/outbox-faults.int.spec.ts.
 */
import { randomUUID } from 'node:crypto';
import {
  claimOutboxBatch,
  insertOutboxMany,
  listParkedOutbox,
  outboxBacklog,
  type OutboxEvent,
  outboxRecordBytes,
  outboxStatus,
  type PgliteDb,
  republishParkedOutbox,
} from '@onebill/ledger';
import { openTestPglite } from '@onebill/ledger/testing/pglite';
import { KafkaSendError, type TopicBatch } from '@onebill/messaging';
import { eventually } from '../../../test/support/eventually';
import { Logger } from './log';
import { OutboxRelay, type OutboxSender } from './outbox.relay';

const TOPIC = 'his.settlement-result.v1';

function event(payloadBytes: number, key = 'H51040000002'): OutboxEvent {
  const eventId = randomUUID();
  return {
    eventId,
    topic: TOPIC,
    key,
    payload: `<r>${'x'.repeat(Math.max(0, payloadBytes - 7))}</r>`,
    headers: { 'content-type': 'application/xml', 'event-id': eventId },
  };
}

/** Accepts requests up to `limit` bytes of values, refuses larger ones as a broker does. */
class FakeBroker implements OutboxSender {
  requests: Array<{ events: string[]; bytes: number }> = [];
  delivered = new Set<string>();
  failNext = 0;

  constructor(public limit: number) {}

  sendBatch(batches: readonly TopicBatch[]): Promise<[]> {
    const messages = batches.flatMap((b) => b.messages);
    const bytes = messages.reduce((n, m) => n + Buffer.byteLength(m.value), 0);
    const events = messages.map((m) => String(m.headers?.['event-id']));
    this.requests.push({ events, bytes });
    if (this.failNext > 0) {
      this.failNext -= 1;
      return Promise.reject(
        new KafkaSendError('Connection error: ECONNREFUSED', 'transient', null),
      );
    }
    if (bytes > this.limit) {
      return Promise.reject(
        new KafkaSendError(
          'The request included a message larger than the max message size',
          'record',
          'MESSAGE_TOO_LARGE',
        ),
      );
    }
    for (const e of events) this.delivered.add(e);
    return Promise.resolve([]);
  }
}

describe('outbox relay', () => {
  let db: PgliteDb;
  let relay: OutboxRelay | undefined;
  const logged: string[] = [];
  const log = new Logger('warn', {}, (line) => logged.push(line));

  beforeAll(async () => {
    db = await openTestPglite({ migrate: true });
  });

  afterAll(async () => {
    await db.close();
  });

  beforeEach(async () => {
    await db.exec('TRUNCATE outbox RESTART IDENTITY');
    logged.length = 0;
  });

  afterEach(async () => {
    await relay?.stop();
    relay = undefined;
  });

  function startRelay(broker: FakeBroker, maxBatchBytes: number, parked: string[] = []): void {
    relay = new OutboxRelay(db, broker, log, {
      batchSize: 500,
      maxBatchBytes,
      idleMs: 5,
      onParked: (e) => parked.push(e.eventId),
    });
    relay.start();
  }

  it('claims by bytes as well as rows, and a row over the bound alone', async () => {
    const rows = [event(5400), event(5400), event(5400), event(20_000), event(10)];
    await insertOutboxMany(db, rows);
    const sizes = rows.map(outboxRecordBytes);
    // room for two rows and a half: two
    const two = await db.transaction((tx) => claimOutboxBatch(tx, 500, sizes[0]! * 2.5));
    expect(two.map((r) => r.eventId)).toEqual(rows.slice(0, 2).map((r) => r.eventId));
    // the database counts what outboxRecordBytes counts, within the headers' JSON spacing
    for (const r of two) expect(Math.abs(r.bytes - sizes[0]!)).toBeLessThan(16);
    // exactly three rows' worth: three; the row limit still applies
    const three = await db.transaction((tx) => claimOutboxBatch(tx, 500, two[0]!.bytes * 3));
    expect(three).toHaveLength(3);
    expect(await db.transaction((tx) => claimOutboxBatch(tx, 2, 10_000_000))).toHaveLength(2);
    // a first row larger than the bound comes alone
    await db.query('UPDATE outbox SET published_at = now() WHERE id IN (1, 2, 3)');
    const alone = await db.transaction((tx) => claimOutboxBatch(tx, 500, 1024));
    expect(alone.map((r) => r.eventId)).toEqual([rows[3]!.eventId]);
  });

  it('delivers 200 results of 5.4 KB for one hospital in requests under the byte bound', async () => {
    // issue 11: ~190 such results after an outage made one 1 MB request, refused for ever
    const rows = Array.from({ length: 200 }, () => event(5400));
    await insertOutboxMany(db, rows);
    const broker = new FakeBroker(1024 * 1024);
    startRelay(broker, 256 * 1024);

    await eventually(() => expect(broker.delivered.size).toBe(200), { timeoutMs: 20_000 });
    expect(broker.requests.length).toBeGreaterThanOrEqual(5);
    for (const r of broker.requests) expect(r.bytes).toBeLessThanOrEqual(256 * 1024);
    expect(await outboxBacklog(db)).toBe(0);
    // in outbox order
    expect(broker.requests.flatMap((r) => r.events)).toEqual(rows.map((r) => r.eventId));
  });

  it('parks the one event the broker refuses, publishes the rest, and republishes it after a fix', async () => {
    const rows = Array.from({ length: 21 }, (_, i) => event(i === 13 ? 300_000 : 2000));
    await insertOutboxMany(db, rows);
    const big = rows[13]!.eventId;
    const broker = new FakeBroker(100_000);
    const parked: string[] = [];
    startRelay(broker, 512 * 1024, parked);

    await eventually(() => expect(broker.delivered.size).toBe(20), { timeoutMs: 20_000 });
    expect(broker.delivered.has(big)).toBe(false);
    await eventually(async () => expect((await outboxStatus(db)).parked).toBe(1));
    expect(parked).toEqual([big]);
    expect(relay?.status()).toMatchObject({ parked: 1, published: 20, consecutiveFailures: 0 });
    const list = await listParkedOutbox(db);
    expect(list).toEqual([
      expect.objectContaining({
        eventId: big,
        topic: TOPIC,
        parkReason: expect.stringMatching(/^MESSAGE_TOO_LARGE: /) as string,
      }),
    ]);
    expect(list[0]!.bytes).toBeGreaterThan(300_000);
    // parked is neither pending nor published
    expect(await outboxBacklog(db)).toBe(0);
    expect(await outboxStatus(db)).toMatchObject({
      pending: 0,
      parked: 1,
      oldestPendingSeconds: 0,
    });
    const error = logged
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.level === 'error');
    expect(error).toMatchObject({ eventId: big, topic: TOPIC });

    // the operator raises the topic's limit, then republishes
    broker.limit = 1024 * 1024;
    expect(await republishParkedOutbox(db, [big])).toBe(1);
    await eventually(() => expect(broker.delivered.has(big)).toBe(true));
    await eventually(async () =>
      expect(await outboxStatus(db)).toMatchObject({ pending: 0, parked: 0 }),
    );
    expect(await republishParkedOutbox(db)).toBe(0);
  });

  it('retries a batch through an outage without parking anything', async () => {
    const rows = Array.from({ length: 30 }, () => event(1000));
    await insertOutboxMany(db, rows);
    const broker = new FakeBroker(1024 * 1024);
    broker.failNext = 3;
    startRelay(broker, 512 * 1024);

    await eventually(() => expect(broker.delivered.size).toBe(30), { timeoutMs: 20_000 });
    expect(broker.requests.length).toBe(4);
    expect(relay?.status()).toMatchObject({ parked: 0, consecutiveFailures: 0, lastError: null });
    expect((await outboxStatus(db)).parked).toBe(0);
  });
});
