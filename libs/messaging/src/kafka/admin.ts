/**
 * Topic administration and offset inspection: creating the topics we need, and reading committed
 * offsets and high watermarks (for lag on the operator console and for tests).
 */
import type { Admin, Kafka } from 'kafkajs';
import type { KafkaLogSink } from './config';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  /** Default: the broker's `default.replication.factor`. */
  replicationFactor?: number;
  /** Topic-level configs, e.g. `{ 'retention.ms': '604800000' }`. */
  configs?: Record<string, string>;
}

export interface EnsureTopicsResult {
  created: string[];
  existing: string[];
  /** Topics that exist with fewer partitions than asked; never grown silently (keys would move). */
  fewerPartitions: Array<{ topic: string; expected: number; actual: number }>;
}

export interface PartitionOffset {
  partition: number;
  /** Next offset to read; `-1` when the group has committed nothing on this partition. */
  offset: string;
}

export interface PartitionWatermark {
  partition: number;
  low: string;
  high: string;
}

export class TopicAdmin {
  private admin: Admin | undefined;
  private connecting: Promise<Admin> | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly sink: KafkaLogSink,
  ) {}

  private connected(): Promise<Admin> {
    if (this.admin) return Promise.resolve(this.admin);
    this.connecting ??= (async () => {
      const admin = this.kafka.admin();
      try {
        await admin.connect();
      } catch (error) {
        this.connecting = undefined;
        throw error;
      }
      this.admin = admin;
      return admin;
    })();
    return this.connecting;
  }

  /** Creates the topics that do not exist yet and waits for their leaders. Idempotent. */
  async ensureTopics(specs: readonly TopicSpec[]): Promise<EnsureTopicsResult> {
    const admin = await this.connected();
    const existingNames = new Set(await admin.listTopics());
    const missing = specs.filter((spec) => !existingNames.has(spec.topic));
    const present = specs.filter((spec) => existingNames.has(spec.topic));
    const created: string[] = [];
    if (missing.length > 0) {
      // createTopics answers false (not an error) for topics a concurrent caller just created.
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: spec.topic,
          numPartitions: spec.numPartitions,
          ...(spec.replicationFactor === undefined
            ? {}
            : { replicationFactor: spec.replicationFactor }),
          configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({
            name,
            value,
          })),
        })),
      });
      created.push(...missing.map((spec) => spec.topic));
      // waitForLeaders asks the controller; a KRaft broker can still answer NOT_LEADER to a
      // ListOffsets for a moment after that. Wait until every new partition answers.
      await this.untilServing(missing.map((spec) => spec.topic));
    }
    const fewerPartitions: EnsureTopicsResult['fewerPartitions'] = [];
    if (present.length > 0) {
      const metadata = await admin.fetchTopicMetadata({
        topics: present.map((spec) => spec.topic),
      });
      for (const spec of present) {
        const actual = metadata.topics.find((t) => t.name === spec.topic)?.partitions.length ?? 0;
        if (actual < spec.numPartitions) {
          fewerPartitions.push({ topic: spec.topic, expected: spec.numPartitions, actual });
          this.sink.warn(
            `[kafka] topic ${spec.topic} has ${actual} partitions, fewer than the ${spec.numPartitions} expected; left as is`,
          );
        }
      }
    }
    return { created, existing: present.map((spec) => spec.topic), fewerPartitions };
  }

  /** Waits until a ListOffsets on every partition of the topics succeeds (at most `timeoutMs`). */
  async untilServing(topics: readonly string[], timeoutMs = 30_000): Promise<void> {
    const admin = await this.connected();
    const deadline = Date.now() + timeoutMs;
    for (const topic of topics) {
      for (;;) {
        try {
          await admin.fetchTopicOffsets(topic);
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    }
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return;
    const admin = await this.connected();
    await admin.deleteTopics({ topics: [...topics] });
  }

  /** The cluster's id (KRaft `cluster.id`): what the positions of its records belong to. */
  async clusterId(): Promise<string> {
    const admin = await this.connected();
    return (await admin.describeCluster()).clusterId;
  }

  /** What a consumer group has committed on a topic, per partition (`-1` = nothing yet). */
  async committedOffsets(groupId: string, topic: string): Promise<PartitionOffset[]> {
    const admin = await this.connected();
    const [answer] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (answer?.partitions ?? [])
      .map(({ partition, offset }) => ({ partition, offset }))
      .sort((a, b) => a.partition - b.partition);
  }

  /** Low and high watermarks of each partition of a topic. */
  async watermarks(topic: string): Promise<PartitionWatermark[]> {
    const admin = await this.connected();
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets
      .map(({ partition, low, high }) => ({ partition, low, high }))
      .sort((a, b) => a.partition - b.partition);
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    this.connecting = undefined;
    if (admin) await admin.disconnect();
  }
}
