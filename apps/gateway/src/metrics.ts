/**
 * Prometheus metrics (prom-client), served at /metrics. Labels stay bounded: `hospital` and
 * `county` take only the registry's codes (anything else is "other"), `reason` only the reject
 * codes the gateway defines, `topic` only our topics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Outcome } from './intake.service';

export interface LagSource {
  /** per topic and partition: high watermark − committed offset of the gateway's group */
  lag(): Promise<Array<{ topic: string; partition: number; lag: number }>>;
  backlog(): Promise<number>;
  /** outbox events parked (the broker refuses them), waiting for an operator */
  parked?(): Promise<number>;
  /** when each registered hospital last sent a message (null: never) */
  lastSeen?(): Promise<Array<{ fixmedinsCode: string; at: Date | null }>>;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly consumed: Counter<'source' | 'topic'>;
  readonly settled: Counter<'hospital' | 'county'>;
  readonly duplicates: Counter<'hospital'>;
  readonly reversals: Counter<'hospital' | 'county'>;
  readonly conflicts: Counter<'hospital'>;
  readonly rejected: Counter<'reason' | 'hospital'>;
  readonly admissions: Counter<'hospital'>;
  readonly published: Counter<'topic'>;
  readonly outboxParked: Counter<'topic'>;
  readonly archiveSealed: Counter;
  readonly identityChanges: Counter<'outcome'>;
  readonly latency: Histogram<'source' | 'outcome'>;

  constructor(
    private readonly hospitals: ReadonlyMap<string, string>,
    source: LagSource,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'onebill_' });
    this.consumed = new Counter({
      name: 'onebill_messages_consumed_total',
      help: 'Messages taken in, by source (kafka, http) and topic (http: the route kind)',
      labelNames: ['source', 'topic'],
      registers,
    });
    this.settled = new Counter({
      name: 'onebill_settlements_total',
      help: 'Bills settled, by hospital and county agency',
      labelNames: ['hospital', 'county'],
      registers,
    });
    this.duplicates = new Counter({
      name: 'onebill_duplicates_total',
      help: 'Messages answered with an earlier settlement (redelivery, resend)',
      labelNames: ['hospital'],
      registers,
    });
    this.reversals = new Counter({
      name: 'onebill_reversals_total',
      help: 'Settlements reversed (2305), by hospital and county agency',
      labelNames: ['hospital', 'county'],
      registers,
    });
    this.conflicts = new Counter({
      name: 'onebill_conflicts_total',
      help: 'Different bills for a visit already settled',
      labelNames: ['hospital'],
      registers,
    });
    this.rejected = new Counter({
      name: 'onebill_rejects_total',
      help: 'Messages rejected, by reason code and hospital',
      labelNames: ['reason', 'hospital'],
      registers,
    });
    this.admissions = new Counter({
      name: 'onebill_admissions_total',
      help: 'Admissions (2401) recorded',
      labelNames: ['hospital'],
      registers,
    });
    this.published = new Counter({
      name: 'onebill_events_published_total',
      help: 'Outbox events published to Kafka, by topic',
      labelNames: ['topic'],
      registers,
    });
    this.outboxParked = new Counter({
      name: 'onebill_outbox_parked_total',
      help: 'Outbox events parked because the broker refuses them (too large, invalid), by topic',
      labelNames: ['topic'],
      registers,
    });
    this.archiveSealed = new Counter({
      name: 'onebill_archive_sealed_total',
      help: 'Archive entries linked into the hash chain by the sealer',
      registers,
    });
    this.identityChanges = new Counter({
      name: 'onebill_identity_changes_total',
      help: 'Identity changes taken in (identity.changes.v1), by outcome: recorded, duplicate, rejected',
      labelNames: ['outcome'],
      registers,
    });
    this.latency = new Histogram({
      name: 'onebill_settle_duration_seconds',
      help: 'From a message taken in to its outcome committed, by source and outcome',
      labelNames: ['source', 'outcome'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    new Gauge({
      name: 'onebill_outbox_backlog',
      help: 'Outbox events not yet published',
      registers,
      async collect() {
        this.set(await source.backlog());
      },
    });
    new Gauge({
      name: 'onebill_outbox_parked',
      help: 'Outbox events parked now, waiting for an operator (GET /api/v1/outbox/parked)',
      registers,
      async collect() {
        this.set((await source.parked?.()) ?? 0);
      },
    });
    new Gauge({
      name: 'onebill_hospital_silence_seconds',
      help: 'Seconds since each registered hospital last sent a message (absent: it never did)',
      labelNames: ['hospital'],
      registers,
      async collect() {
        this.reset();
        const now = Date.now();
        for (const h of (await source.lastSeen?.()) ?? []) {
          if (h.at !== null)
            this.set({ hospital: h.fixmedinsCode }, Math.max(0, (now - h.at.getTime()) / 1000));
        }
      },
    });
    new Gauge({
      name: 'onebill_consumer_lag',
      help: "Messages not yet consumed by the gateway's group, per topic and partition",
      labelNames: ['topic', 'partition'],
      registers,
      async collect() {
        this.reset();
        for (const l of await source.lag())
          this.set({ topic: l.topic, partition: String(l.partition) }, l.lag);
      },
    });
  }

  /** Counts the Kafka producer instances retired after a failed send (docs/adr/0011). */
  watchProducer(resets: () => number): void {
    this.registry.removeSingleMetric('onebill_kafka_producer_resets');
    new Gauge({
      name: 'onebill_kafka_producer_resets',
      help: 'Kafka producer instances replaced after a failed send since start (fatal states, outages)',
      registers: [this.registry],
      collect() {
        this.set(resets());
      },
    });
  }

  private hospital(code: string | null | undefined): string {
    return code !== null && code !== undefined && this.hospitals.has(code) ? code : 'other';
  }

  private county(code: string | null | undefined): string {
    return code !== null && code !== undefined && [...this.hospitals.values()].includes(code)
      ? code
      : 'other';
  }

  /** Counts one outcome; `seconds` is the time from intake to commit. */
  record(o: Outcome, source: string, topic: string, seconds: number): void {
    this.consumed.inc({ source, topic });
    this.latency.observe({ source, outcome: o.status }, seconds);
    switch (o.status) {
      case 'settled':
        this.settled.inc({
          hospital: this.hospital(o.settlement.fixmedinsCode),
          county: this.county(o.settlement.clrOptins),
        });
        return;
      case 'duplicate':
        this.duplicates.inc({ hospital: this.hospital(o.settlement.fixmedinsCode) });
        return;
      case 'reversed':
        this.reversals.inc({
          hospital: this.hospital(o.settlement.fixmedinsCode),
          county: this.county(o.settlement.clrOptins),
        });
        return;
      case 'admitted':
        this.admissions.inc({ hospital: this.hospital(o.fixmedinsCode) });
        return;
      case 'conflict':
        this.conflicts.inc({ hospital: this.hospital(o.fixmedinsCode) });
        return;
      case 'rejected':
        this.rejected.inc({
          reason: o.problems[0]?.code ?? 'UNKNOWN',
          hospital: this.hospital(o.fixmedinsCode),
        });
        return;
    }
  }
}
