/**
 * The Kafka transport in process (docs/adr/0018): the real GatewayModule under Nest in jest, its
 * KafkaIngressTransport connected as a microservice (`app.connectMicroservice({ strategy })`), the
 * shared broker and the real PostgreSQL. A bill published to his.discharge.v1 is settled by the
 * intake's chunk handler (`@EventPattern(INTAKE_CHUNK)`, group commit), and the group's offset
 * moves past it only after the settlement is committed in the database; a message that always
 * fails (its chunk failing with it, then alone) becomes a reject and does not stop its partition; `app.close()` stops the consumers before the relay, the producer and the store.
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type Admin, Kafka, logLevel, type Producer } from 'kafkajs';
import { Client } from 'pg';
import { Topics } from '@onebill/messaging';
import { GatewayModule } from '../apps/gateway/src/app.module';
import { loadConfig } from '../apps/gateway/src/config';
import { IntakeService } from '../apps/gateway/src/intake.service';
import { KafkaConnection } from '../apps/gateway/src/kafka.connection';
import { INTAKE_CHUNK } from '../apps/gateway/src/kafka.ingress';
import { KafkaIngressTransport } from '../apps/gateway/src/kafka.transport';
import { OutboxRelay } from '../apps/gateway/src/outbox.relay';
import { GatewayStore } from '../apps/gateway/src/store';
import { billXml, hospitalOf, newRun } from './support/bills';
import { eventually } from './support/eventually';
import { positionGroupAtEnd } from './support/kafka-tap';

const RUN = newRun('T');
const GROUP = `transport-it-${RUN}`;
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');

let app: INestApplication;
let db: Client;
let admin: Admin;
let producer: Producer;
let transport: KafkaIngressTransport;
/** the order in which the parts stopped (app.close()) */
const stopped: string[] = [];
/** the held message has reached the intake, and its release */
let heldReached: () => void = () => undefined;
const reachedHeld = new Promise<void>((r) => (heldReached = r));
let release: () => void = () => undefined;
const released = new Promise<void>((r) => (release = r));
const POISON = `${RUN}-POISON`;
let closed = false;

/** The group's committed offset of a partition (-1: none). */
async function committed(partition: number): Promise<bigint> {
  const [t] = await admin.fetchOffsets({ groupId: GROUP, topics: [Topics.hisDischarge] });
  const p = t?.partitions.find((x) => x.partition === partition);
  return BigInt(p?.offset ?? '-1');
}

async function settledCount(visit: string): Promise<number> {
  const r = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM settlements WHERE mdtrt_id = $1`,
    [visit],
  );
  return r.rows[0]?.n ?? 0;
}

async function publish(xml: string): Promise<{ partition: number; offset: bigint }> {
  const [meta] = await producer.send({
    topic: Topics.hisDischarge,
    messages: [{ key: hospitalOf(xml), value: xml }],
  });
  if (meta === undefined) throw new Error('no record metadata');
  return { partition: meta.partition, offset: BigInt(meta.baseOffset ?? '0') };
}

beforeAll(async () => {
  await positionGroupAtEnd(GROUP, [Topics.hisDischarge, Topics.hisAdmission]);
  await positionGroupAtEnd(`${GROUP}-identity`, [Topics.identityChanges]);
  const kafka = new Kafka({ clientId: `${GROUP}-his`, brokers, logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  db = new Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();

  const config = loadConfig({
    DATABASE_URL: process.env.DATABASE_URL,
    KAFKA_BROKERS: process.env.KAFKA_BROKERS,
    KAFKA_GROUP_ID: GROUP,
    GATEWAY_DEV_CREDENTIAL: 'off',
    SIMULATOR_RATE: '0',
    STATS_INTERVAL_MS: '0',
    ARCHIVE_SEAL_MS: '0',
    LOG_LEVEL: 'error',
    OUTBOX_POLL_MS: '20',
  });
  app = await NestFactory.create(GatewayModule.forRoot(config), {
    logger: false,
    abortOnError: false,
  });
  await app.init();

  // the intake as Nest built it, held for one bill and failing for another: a chunk (group
  // commit) with the poison fails as a whole and its messages go one by one, where it fails again
  const intake = app.get(IntakeService);
  const submitBatch = intake.submitBatch.bind(intake);
  const submitDecoded = intake.submitDecoded.bind(intake);
  jest.spyOn(intake, 'submitBatch').mockImplementation(async (items) => {
    const texts = items.map((i) => i.arrival.received.raw);
    if (texts.some((t) => t.includes(POISON))) throw new Error('this chunk fails every time');
    if (texts.some((t) => t.includes(`${RUN}-HELD`))) {
      heldReached();
      await released;
    }
    return submitBatch(items);
  });
  jest.spyOn(intake, 'submitDecoded').mockImplementation(async (arrival, source) => {
    if (arrival.received.raw.includes(POISON)) throw new Error('this message fails every time');
    return submitDecoded(arrival, source);
  });
  // the stop order, as the parts are asked to stop
  transport = app.get(KafkaIngressTransport);
  const relay = app.get(OutboxRelay);
  const kafkaConnection = app.get(KafkaConnection);
  const store = app.get(GatewayStore);
  const spyOn = <T extends object>(name: string, target: T, method: keyof T & string): void => {
    const original = (target[method] as (...a: unknown[]) => unknown).bind(target);
    jest.spyOn(target, method as never).mockImplementation(((...a: unknown[]) => {
      stopped.push(name);
      return original(...a);
    }) as never);
  };
  spyOn('transport', transport, 'close');
  spyOn('relay', relay, 'stop');
  if (kafkaConnection.producer !== null) spyOn('producer', kafkaConnection.producer, 'disconnect');
  spyOn('store', store.db, 'close');

  app.connectMicroservice({ strategy: transport });
  await app.startAllMicroservices();
}, 120_000);

afterAll(async () => {
  release();
  if (!closed) await app?.close();
  await producer?.disconnect();
  await admin?.disconnect();
  await db?.end();
});

describe('the Kafka transport (CustomTransportStrategy) with @EventPattern handlers', () => {
  it('registers the controller handlers of its three topics and of the intake’s chunks', () => {
    expect([...transport.getHandlers().keys()].sort()).toEqual(
      [Topics.hisAdmission, Topics.hisDischarge, Topics.identityChanges, INTAKE_CHUNK].sort(),
    );
  });

  it('settles a bill from Kafka and commits its offset only after the database commit', async () => {
    const xml = billXml(RUN, 'discharge-panzhihua-11-none.xml', 'HELD');
    const visit = `${RUN}-HELD`;
    const { partition, offset } = await publish(xml);
    await reachedHeld;
    // the handler runs and has not committed: neither has the consumer
    await new Promise((r) => setTimeout(r, 1500));
    expect(await committed(partition)).toBeLessThanOrEqual(offset);
    expect(await settledCount(visit)).toBe(0);
    release();
    await eventually(
      async () => {
        const c = await committed(partition);
        // whenever the group has moved past the message, the settlement is already there
        if (c > offset) expect(await settledCount(visit)).toBe(1);
        expect(c).toBe(offset + 1n);
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    expect(await settledCount(visit)).toBe(1);
  }, 120_000);

  it('turns a message that always fails into a reject and goes on with its partition', async () => {
    const poison = billXml(RUN, 'discharge-panzhihua-11-none.xml', 'POISON');
    const next = billXml(RUN, 'discharge-panzhihua-11-none.xml', 'AFTER');
    const first = await publish(poison);
    const second = await publish(next);
    expect(second.partition).toBe(first.partition);
    await eventually(
      async () => {
        expect(await settledCount(`${RUN}-AFTER`)).toBe(1);
        expect(await committed(second.partition)).toBe(second.offset + 1n);
      },
      { timeoutMs: 60_000 },
    );
    const rejects = await db.query<{ reason_code: string }>(
      `SELECT reason_code FROM rejects WHERE payload LIKE $1`,
      [`%${POISON}%`],
    );
    expect(rejects.rows.map((r) => r.reason_code)).toEqual(['INTERNAL_ERROR']);
    expect(await settledCount(POISON)).toBe(0);
  }, 120_000);

  it('stops consuming first, then the relay, the producer, and the store last', async () => {
    closed = true;
    await app.close();
    expect(stopped).toEqual(['transport', 'relay', 'producer', 'store']);
  }, 120_000);
});
