/**
 * What /health/ready reports (docs/adr/0010), kept up to date by a background monitor so that a
 * probe answers at once from memory and never waits on a dead broker or database:
 * - database: the store's state (libs/ledger `StoreHealth`: failing queries set it down, its probe
 *   sets it up);
 * - broker: the monitor's last admin round trip (watermarks and committed offsets) answered in time;
 * - consumer: every partition of our groups with lag whose committed offset has not moved for
 *   CONSUMER_STALL_MS is stalled, named with its topic and partition;
 * - relay: the oldest unpublished outbox row is younger than RELAY_STALL_MS.
 *
 * `ProgressTracker` and `assess` are pure (the clock is a parameter); `HealthMonitor` does the I/O.
 */
import type { Db, StoreState } from '@onebill/ledger';
import type { PartitionOffset, PartitionWatermark } from '@onebill/messaging';
import type { Logger } from './log';

export type ComponentName = 'database' | 'broker' | 'consumer' | 'relay';
export const COMPONENTS: readonly ComponentName[] = ['database', 'broker', 'consumer', 'relay'];

export interface ComponentHealth {
  status: 'up' | 'down';
  /** what it is doing, or what is wrong */
  state: string;
  /** what an operator does about it (down only) */
  action?: string;
  /** ISO time the present state began, where known */
  since?: string;
  [detail: string]: unknown;
}

export type Readiness = Record<ComponentName, ComponentHealth>;

export interface PartitionSample {
  group: string;
  topic: string;
  partition: number;
  /** next offset the group reads; '-1' when it has committed nothing */
  committed: string;
  low: string;
  high: string;
}

export interface PartitionProgress {
  group: string;
  topic: string;
  partition: number;
  lag: number;
  committed: string;
  /** ms since the committed offset last moved (or the partition last had no lag) */
  stillForMs: number;
  stalled: boolean;
}

/** Lag per partition and whether its committed offset has stood still, with lag, for stallMs. */
export class ProgressTracker {
  private readonly moved = new Map<string, { committed: string; at: number }>();

  constructor(private readonly stallMs: number) {}

  observe(samples: readonly PartitionSample[], now: number): PartitionProgress[] {
    return samples.map((s) => {
      const key = `${s.group}\u0000${s.topic}\u0000${s.partition}`;
      const from = s.committed === '-1' ? BigInt(s.low) : BigInt(s.committed);
      const behind = BigInt(s.high) - from;
      const lag = Number(behind > 0n ? behind : 0n);
      const prev = this.moved.get(key);
      if (prev === undefined || prev.committed !== s.committed || lag === 0)
        this.moved.set(key, { committed: s.committed, at: now });
      const stillForMs = now - (this.moved.get(key)?.at ?? now);
      return {
        group: s.group,
        topic: s.topic,
        partition: s.partition,
        lag,
        committed: s.committed,
        stillForMs,
        stalled: lag > 0 && stillForMs >= this.stallMs,
      };
    });
  }
}

export interface HealthInputs {
  now: number;
  store: StoreState;
  driver: string;
  /** false in embedded mode (no KAFKA_BROKERS): no broker, consumer or relay to watch */
  kafka: boolean;
  /** the last broker round trip: ok, or the reason it failed; null before the first one */
  broker: { ok: true; at: number } | { ok: false; at: number; reason: string } | null;
  /** when the broker was last seen answering (for `since` of an outage) */
  brokerDownSince: number | null;
  partitions: readonly PartitionProgress[];
  outbox: { backlog: number; oldestMs: number; at: number } | null;
  consumerStallMs: number;
  relayStallMs: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const seconds = (ms: number): number => Math.round(ms / 100) / 10;

/** Each component's state from what the monitor last saw. */
export function assess(i: HealthInputs): Readiness {
  const database: ComponentHealth =
    i.store.status === 'up'
      ? { status: 'up', state: `answers (${i.driver})`, since: i.store.since.toISOString() }
      : {
          status: 'down',
          state: `unavailable: ${i.store.reason}`,
          action:
            'check that PostgreSQL is running and reachable at DATABASE_URL; the gateway retries by itself and resumes when it answers',
          since: i.store.since.toISOString(),
        };
  if (!i.kafka) {
    const off: ComponentHealth = { status: 'up', state: 'off (embedded mode: no KAFKA_BROKERS)' };
    return { database, broker: off, consumer: off, relay: off };
  }

  let broker: ComponentHealth;
  if (i.broker === null) broker = { status: 'down', state: 'not checked yet', action: 'wait' };
  else if (i.broker.ok) broker = { status: 'up', state: 'answers', checked_at: iso(i.broker.at) };
  else
    broker = {
      status: 'down',
      state: `unreachable: ${i.broker.reason}`,
      action:
        'check the Kafka brokers in KAFKA_BROKERS; HTTP intake goes on (events wait in the outbox) and Kafka intake resumes by itself',
      ...(i.brokerDownSince === null ? {} : { since: iso(i.brokerDownSince) }),
    };

  const lagTotal = i.partitions.reduce((sum, p) => sum + p.lag, 0);
  const stalled = i.partitions.filter((p) => p.stalled);
  let consumer: ComponentHealth;
  if (i.store.status === 'down')
    consumer = {
      status: 'down',
      state: 'paused: waiting for the database',
      action: 'see database; batches resume by themselves, nothing is rejected meanwhile',
      lag: lagTotal,
    };
  else if (broker.status === 'down')
    consumer = {
      status: 'down',
      state: 'unknown: the broker does not answer',
      action: 'see broker',
      lag: lagTotal,
    };
  else if (stalled.length > 0)
    consumer = {
      status: 'down',
      state: `stalled: ${stalled.map((p) => `${p.topic}[${p.partition}]`).join(', ')} (lag and no commit for ≥ ${seconds(i.consumerStallMs)} s)`,
      action:
        "look at the named partitions' latest messages and the gateway's log (message failed, kafka consumer crashed); a restart does not skip them",
      lag: lagTotal,
      stalled: stalled.map((p) => ({
        group: p.group,
        topic: p.topic,
        partition: p.partition,
        lag: p.lag,
        committed: p.committed,
        still_for_s: seconds(p.stillForMs),
      })),
    };
  else consumer = { status: 'up', state: 'making progress', lag: lagTotal };

  let relay: ComponentHealth;
  if (i.store.status === 'down')
    relay = { status: 'down', state: 'paused: waiting for the database', action: 'see database' };
  else if (i.outbox === null) relay = { status: 'down', state: 'not checked yet', action: 'wait' };
  else if (i.outbox.backlog > 0 && i.outbox.oldestMs >= i.relayStallMs)
    relay = {
      status: 'down',
      state: `stalled: the oldest unpublished event is ${seconds(i.outbox.oldestMs)} s old (limit ${seconds(i.relayStallMs)} s)`,
      action:
        broker.status === 'down'
          ? 'see broker; events are kept and published when it answers'
          : "look at the gateway's log (outbox relay failed) for the error the broker returns",
      backlog: i.outbox.backlog,
      oldest_unpublished_s: seconds(i.outbox.oldestMs),
    };
  else
    relay = {
      status: 'up',
      state: 'publishing',
      backlog: i.outbox.backlog,
      oldest_unpublished_s: seconds(i.outbox.oldestMs),
    };
  return { database, broker, consumer, relay };
}

/**
 * The outbox's pending rows: how many, and the age of the oldest (ms). Parked rows (the broker
 * refuses them; docs/adr/0011) wait for an operator, not for the relay: they are left out, so one
 * refused event never makes the relay look stalled (they have an alert and a gauge of their own).
 */
export const OUTBOX_PROGRESS_SQL = `
  SELECT count(*)::int AS backlog,
         COALESCE((extract(epoch FROM now() - min(created_at)) * 1000)::bigint, 0)::text AS oldest_ms
    FROM outbox
   WHERE published_at IS NULL AND parked_at IS NULL`;

/** The least time a broker round trip may take before the broker is called unreachable. */
export const BROKER_DEADLINE_MS = 5_000;

export interface KafkaProbe {
  watermarks(topic: string): Promise<PartitionWatermark[]>;
  committedOffsets(groupId: string, topic: string): Promise<PartitionOffset[]>;
}

export interface MonitorOptions {
  intervalMs: number;
  consumerStallMs: number;
  relayStallMs: number;
  /** (group, topics) whose progress counts */
  groups: ReadonlyArray<{ group: string; topics: readonly string[] }>;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Runs the checks in the background; `readiness()` answers from the last results at once. */
export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private readonly tracker: ProgressTracker;
  private broker: HealthInputs['broker'] = null;
  private brokerDownSince: number | null = null;
  private brokerPending: { since: number } | null = null;
  private partitions: PartitionProgress[] = [];
  private outbox: HealthInputs['outbox'] = null;
  private outboxPending = false;
  private last: Readiness | undefined;

  constructor(
    private readonly db: Db,
    /** null in embedded mode; else the admin (may be set after the broker connects) */
    private kafka: KafkaProbe | null,
    private readonly options: MonitorOptions,
    private readonly log: Logger,
  ) {
    this.tracker = new ProgressTracker(options.consumerStallMs);
  }

  attachKafka(kafka: KafkaProbe): void {
    this.kafka = kafka;
  }

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Nest (a provider, docs/adr/0018): checks start once every module is initialised. */
  onApplicationBootstrap(): void {
    this.start();
  }

  /** Nest: no check runs against a store or broker that is being closed. */
  beforeApplicationShutdown(): void {
    this.stop();
  }

  /** Per partition lag of the watched groups, as last seen. */
  lag(): Array<{ topic: string; partition: number; lag: number }> {
    return this.partitions.map((p) => ({ topic: p.topic, partition: p.partition, lag: p.lag }));
  }

  backlog(): number {
    return this.outbox?.backlog ?? 0;
  }

  /** A broker round trip still pending after this long is an answer too: the broker is down. */
  private get brokerDeadlineMs(): number {
    return Math.max(BROKER_DEADLINE_MS, this.options.intervalMs * 2);
  }

  readiness(now = Date.now()): Readiness {
    let broker = this.broker;
    if (this.brokerPending !== null && now - this.brokerPending.since > this.brokerDeadlineMs)
      broker = {
        ok: false,
        at: now,
        reason: `no answer for ${Math.round((now - this.brokerPending.since) / 1000)} s`,
      };
    const r = assess({
      now,
      store: this.db.health.state,
      driver: this.db.driver,
      kafka: this.kafka !== null,
      broker,
      brokerDownSince:
        broker !== null && !broker.ok
          ? (this.brokerDownSince ?? this.brokerPending?.since ?? now)
          : null,
      partitions: this.partitions,
      outbox: this.outbox,
      consumerStallMs: this.options.consumerStallMs,
      relayStallMs: this.options.relayStallMs,
    });
    this.logTransitions(r);
    return r;
  }

  private logTransitions(r: Readiness): void {
    const prev = this.last;
    this.last = r;
    if (prev === undefined) return;
    for (const name of COMPONENTS) {
      if (prev[name].status === r[name].status) continue;
      if (r[name].status === 'down') this.log.warn(`${name} not ready`, { state: r[name].state });
      else this.log.info(`${name} ready again`, { state: r[name].state });
    }
  }

  private tick(): void {
    void this.checkOutbox();
    void this.checkKafka();
    this.readiness();
  }

  private async checkOutbox(): Promise<void> {
    if (this.outboxPending || !this.db.health.up) return;
    this.outboxPending = true;
    try {
      const { rows } = await this.db.query<{ backlog: number; oldest_ms: string }>(
        OUTBOX_PROGRESS_SQL,
      );
      const row = rows[0];
      this.outbox = {
        backlog: row?.backlog ?? 0,
        oldestMs: Number(row?.oldest_ms ?? '0'),
        at: Date.now(),
      };
    } catch {
      // the store's own state says why; the last figures stay until the next answer
    } finally {
      this.outboxPending = false;
    }
  }

  private async checkKafka(): Promise<void> {
    const kafka = this.kafka;
    if (kafka === null || this.brokerPending !== null) return;
    const since = Date.now();
    this.brokerPending = { since };
    try {
      const pairs = this.options.groups.flatMap(({ group, topics }) =>
        topics.map((topic) => ({ group, topic })),
      );
      const answers = await Promise.all(
        pairs.map(async ({ group, topic }) => {
          const [marks, committed] = await Promise.all([
            kafka.watermarks(topic),
            kafka.committedOffsets(group, topic),
          ]);
          return marks.map((m): PartitionSample => ({
            group,
            topic,
            partition: m.partition,
            committed: committed.find((x) => x.partition === m.partition)?.offset ?? '-1',
            low: m.low,
            high: m.high,
          }));
        }),
      );
      const samples = answers.flat();
      const now = Date.now();
      this.partitions = this.tracker.observe(samples, now);
      this.broker = { ok: true, at: now };
      this.brokerDownSince = null;
    } catch (e) {
      this.brokerDownSince ??= since;
      this.broker = { ok: false, at: Date.now(), reason: message(e) };
    } finally {
      this.brokerPending = null;
    }
  }
}
