/**
 * A gateway under test with the real broker and database: the topics exist, the gateway's own
 * consumer group starts where the input topics end now (earlier runs' messages are not this
 * spec's), a HIS producer publishes to his.discharge.v1, and the compiled gateway runs as a process
 * with the given credentials file.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { KafkaClient, TOPIC_SPECS, Topics } from '@onebill/messaging';
import { hospitalOf } from './bills';
import { GatewayProcess } from './gateway-process';
import { positionGroupAtEnd } from './kafka-tap';

export class GatewayHarness {
  gateway!: GatewayProcess;

  private constructor(
    readonly group: string,
    private readonly producer: Producer,
    private readonly env: Record<string, string>,
  ) {}

  /** A second gateway process sharing this one's group and settings (scale-out). */
  async another(): Promise<GatewayProcess> {
    return GatewayProcess.start(this.env);
  }

  static async open(group: string, credentialsFile: string): Promise<GatewayHarness> {
    const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
    const client = new KafkaClient({ brokers, clientId: `${group}-admin`, logLevel: 'nothing' });
    await client.admin().ensureTopics(TOPIC_SPECS);
    await client.close();
    await positionGroupAtEnd(group, [Topics.hisDischarge, Topics.hisAdmission]);
    // the identity feed has a group of its own (`<group>-identity`): earlier runs' changes are not
    // this spec's either
    await positionGroupAtEnd(`${group}-identity`, [Topics.identityChanges]);
    const producer = new Kafka({
      clientId: `${group}-his`,
      brokers,
      logLevel: logLevel.NOTHING,
    }).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const harness = new GatewayHarness(group, producer, {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '',
      DATABASE_URL: process.env.DATABASE_URL ?? '',
      KAFKA_GROUP_ID: group,
      OUTBOX_POLL_MS: '20',
      GATEWAY_CREDENTIALS_FILE: credentialsFile,
    });
    await harness.start();
    return harness;
  }

  /** Starts the gateway (again, after a stop or a kill) with the same settings. */
  async start(): Promise<void> {
    this.gateway = await GatewayProcess.start(this.env);
  }

  get base(): string {
    return this.gateway.base;
  }

  /** Calls the gateway's HTTP API with `auth` (a credential header) and reads the JSON answer. */
  async api<T>(
    auth: Record<string, string>,
    path: string,
    init: RequestInit = {},
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.base}${path}`, {
      ...init,
      headers: { ...auth, ...(init.headers as Record<string, string> | undefined) },
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  /** Publishes messages to his.discharge.v1 as a HIS does: keyed by hospital (or `keyOf`), XML. */
  async publish(
    xmls: string[],
    keyOf: (xml: string, i: number) => string = hospitalOf,
    topic: string = Topics.hisDischarge,
  ): Promise<void> {
    await this.producer.send({
      topic,
      messages: xmls.map((xml, i) => ({
        key: keyOf(xml, i),
        value: xml,
        headers: { 'content-type': 'application/xml' },
      })),
    });
  }

  async close(): Promise<void> {
    await this.gateway?.stop('SIGTERM');
    await this.producer.disconnect();
  }
}
