import { type HealthInputs, OUTBOX_PROGRESS_SQL, ProgressTracker, assess } from './health.monitor';

const T0 = Date.UTC(2026, 0, 1);
const sample = (committed: string, high: string, partition = 3) => ({
  group: 'gw',
  topic: 'his.discharge.v1',
  partition,
  committed,
  low: '0',
  high,
});

describe('consumer progress', () => {
  it('calls a partition stalled when it has lag and its committed offset stood still for the limit', () => {
    const t = new ProgressTracker(10_000);
    expect(t.observe([sample('5', '9')], T0)[0]).toMatchObject({ lag: 4, stalled: false });
    expect(t.observe([sample('5', '9')], T0 + 9_999)[0]?.stalled).toBe(false);
    expect(t.observe([sample('5', '12')], T0 + 10_000)[0]).toMatchObject({
      lag: 7,
      stillForMs: 10_000,
      stalled: true,
    });
    // the offset moves: not stalled, and the clock starts again
    expect(t.observe([sample('6', '12')], T0 + 15_000)[0]).toMatchObject({
      stalled: false,
      stillForMs: 0,
    });
  });

  it('never calls an idle partition (no lag) stalled, however long its offset stands', () => {
    const t = new ProgressTracker(1_000);
    t.observe([sample('9', '9')], T0);
    expect(t.observe([sample('9', '9')], T0 + 60_000)[0]?.stalled).toBe(false);
    // lag appears: the clock runs from the last time it had none, not from the last commit
    expect(t.observe([sample('9', '10')], T0 + 60_500)[0]?.stalled).toBe(false);
    expect(t.observe([sample('9', '10')], T0 + 61_000)[0]?.stalled).toBe(true);
  });

  it('counts lag from the low watermark when the group has committed nothing', () => {
    const t = new ProgressTracker(1_000);
    expect(t.observe([{ ...sample('-1', '50'), low: '20' }], T0)[0]?.lag).toBe(30);
  });
});

function inputs(over: Partial<HealthInputs> = {}): HealthInputs {
  return {
    now: T0,
    store: { status: 'up', since: new Date(T0 - 60_000) },
    driver: 'pg',
    kafka: true,
    broker: { ok: true, at: T0 },
    brokerDownSince: null,
    partitions: [],
    outbox: { backlog: 0, oldestMs: 0, at: T0 },
    consumerStallMs: 60_000,
    relayStallMs: 60_000,
    ...over,
  };
}

describe('readiness', () => {
  it('is up everywhere when the store answers, the broker answers and both make progress', () => {
    const r = assess(inputs());
    expect(Object.values(r).map((c) => c.status)).toEqual(['up', 'up', 'up', 'up']);
  });

  it('names the database down with its reason and since when; consumer and relay wait for it', () => {
    const since = new Date(T0 - 5_000);
    const r = assess(
      inputs({ store: { status: 'down', reason: 'connect ECONNREFUSED 127.0.0.1:55433', since } }),
    );
    expect(r.database).toMatchObject({
      status: 'down',
      state: 'unavailable: connect ECONNREFUSED 127.0.0.1:55433',
      since: since.toISOString(),
    });
    expect(r.database.action).toContain('DATABASE_URL');
    expect(r.consumer).toMatchObject({ status: 'down', state: 'paused: waiting for the database' });
    expect(r.relay).toMatchObject({ status: 'down', state: 'paused: waiting for the database' });
    expect(r.broker.status).toBe('up');
  });

  it('names each stalled partition with its topic and number', () => {
    const r = assess(
      inputs({
        partitions: [
          {
            group: 'gw',
            topic: 'his.discharge.v1',
            partition: 2,
            lag: 0,
            committed: '7',
            stillForMs: 0,
            stalled: false,
          },
          {
            group: 'gw',
            topic: 'his.discharge.v1',
            partition: 4,
            lag: 3,
            committed: '10',
            stillForMs: 61_000,
            stalled: true,
          },
        ],
      }),
    );
    expect(r.consumer.status).toBe('down');
    expect(r.consumer.state).toContain('his.discharge.v1[4]');
    expect(r.consumer.state).not.toContain('[2]');
    expect(r.consumer.stalled).toEqual([
      {
        group: 'gw',
        topic: 'his.discharge.v1',
        partition: 4,
        lag: 3,
        committed: '10',
        still_for_s: 61,
      },
    ]);
  });

  it('calls the relay stalled when the oldest unpublished event is older than the limit', () => {
    expect(assess(inputs({ outbox: { backlog: 4, oldestMs: 59_999, at: T0 } })).relay.status).toBe(
      'up',
    );
    const r = assess(inputs({ outbox: { backlog: 4, oldestMs: 60_000, at: T0 } }));
    expect(r.relay).toMatchObject({ status: 'down', backlog: 4, oldest_unpublished_s: 60 });
  });

  it('says the broker is unreachable, points the relay at it, and keeps the database up', () => {
    const r = assess(
      inputs({
        broker: {
          ok: false,
          at: T0,
          reason: 'Connection error: connect ECONNREFUSED 127.0.0.1:29092',
        },
        brokerDownSince: T0 - 30_000,
        outbox: { backlog: 12, oldestMs: 90_000, at: T0 },
      }),
    );
    expect(r.database.status).toBe('up');
    expect(r.broker).toMatchObject({ status: 'down', since: new Date(T0 - 30_000).toISOString() });
    expect(r.broker.state).toContain('ECONNREFUSED');
    expect(r.consumer.state).toBe('unknown: the broker does not answer');
    expect(r.relay.action).toContain('see broker');
  });

  it('is up without Kafka (embedded mode): no broker, consumer or relay to wait for', () => {
    const r = assess(inputs({ kafka: false, broker: null, outbox: null }));
    expect(r.broker).toEqual({ status: 'up', state: 'off (embedded mode: no KAFKA_BROKERS)' });
    expect(r.relay.status).toBe('up');
  });

  it('measures the relay on pending rows only: a parked row waits for an operator, not the relay', () => {
    expect(OUTBOX_PROGRESS_SQL).toMatch(/WHERE published_at IS NULL AND parked_at IS NULL\s*$/);
  });
});
