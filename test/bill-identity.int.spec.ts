/**
 * A bill's identity survives a contract change (issue 12 item 2, docs/adr/0017), on the real
 * broker and the real PostgreSQL: a bill goes through Kafka into the intake the way the ingress
 * takes it (decoded once at the edge) and is settled. Then a newer contract version adds an
 * optional field — its decoder builds the bill object with the new key (absent: undefined), its
 * keys in another order, a new contract and decoder version — and the hospital resends the OLD
 * message: it is a duplicate with the same answer. The archive replays with zero differences. A
 * genuinely different body of the same visit is a conflict.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { auditReplay } from '@onebill/audit';
import type { Bill } from '@onebill/engine';
import { type Db, bodyHashOf, findSettlementByBill, migrate, openDb } from '@onebill/ledger';
import {
  type InboundMessage,
  KafkaClient,
  type KafkaBatchConsumer,
  type KafkaProducer,
  kafkaSettingsFromEnv,
} from '@onebill/messaging';
import { RuleBook } from '@onebill/rules';
import { type Arrival, IntakeService, type Outcome } from '../apps/gateway/src/intake.service';
import { kafkaSource } from '../apps/gateway/src/kafka.ingress';
import { Logger } from '../apps/gateway/src/log';
import { billXml, newRun } from './support/bills';
import { eventually } from './support/eventually';

jest.setTimeout(120_000);

const rules = RuleBook.load();
const quiet = new Logger('error', {}, () => undefined);
const client = new KafkaClient(
  kafkaSettingsFromEnv(process.env, { clientId: 'bill-identity-int', logLevel: 'error' }),
);
const RUN = newRun('I');
const TOPIC = `test.bill-identity.${RUN}`;
let db: Db;
let dbName: string;
let intake: IntakeService;
let producer: KafkaProducer;
let consumer: KafkaBatchConsumer;
const received: InboundMessage[] = [];

/**
 * The bill as a decoder of a newer contract version would build it from the same old message:
 * a new optional field it knows (absent here, so undefined) and its keys in another order.
 */
function newerDecoderBill(bill: Bill): Bill {
  const withField = { ...bill, dischargeNote: undefined } as Bill & { dischargeNote?: string };
  const reordered = Object.fromEntries(Object.entries(withField).reverse()) as unknown as Bill;
  return reordered;
}

function asNewerContract(a: Arrival): Arrival {
  if (!a.decoded.ok || a.decoded.message.kind !== 'discharge') throw new Error('not a discharge');
  const m = a.decoded.message;
  return {
    received: a.received,
    decoded: {
      ok: true,
      message: {
        ...m,
        contractVersion: '1.1',
        decoderVersion: 'onebill-decoder/next',
        bill: newerDecoderBill(m.bill),
      },
    },
  };
}

/** Publishes a message and takes it back from the broker, as the ingress would. */
async function viaKafka(xml: string): Promise<InboundMessage> {
  const before = received.length;
  await producer.send(TOPIC, [{ key: 'H', value: xml, headers: {} }]);
  await eventually(() => expect(received.length).toBeGreaterThan(before));
  return received[received.length - 1]!;
}

async function settleVia(m: InboundMessage, newer = false): Promise<Outcome> {
  // decoded once, at the edge, as KafkaIngress does; the intake does not decode again
  const arrival = intake.decode(m.value ?? Buffer.alloc(0));
  return intake.submitDecoded(newer ? asNewerContract(arrival) : arrival, kafkaSource(m));
}

beforeAll(async () => {
  const base = process.env.DATABASE_URL;
  if (base === undefined) throw new Error('DATABASE_URL is set by the integration setup');
  dbName = `onebill_identity_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${dbName}`;
  db = await openDb({ databaseUrl: u.toString(), poolSize: 4 });
  await migrate(db);
  intake = new IntakeService(db, rules, quiet, { maxMessageBytes: 65536 });
  await client.admin().ensureTopics([{ topic: TOPIC, numPartitions: 1 }]);
  producer = client.producer();
  await producer.connect();
  consumer = client.batchConsumer({
    groupId: `bill-identity-${RUN}`,
    topics: [TOPIC],
    handler: (batch) => {
      received.push(...batch.messages);
      return Promise.resolve();
    },
    maxWaitTimeMs: 100,
  });
  await consumer.start();
  await consumer.waitForJoin(60_000);
});

afterAll(async () => {
  await consumer?.stop();
  await producer?.disconnect();
  await client
    .admin()
    .deleteTopics([TOPIC])
    .catch(() => undefined);
  await client.close();
  await db?.close();
  const base = process.env.DATABASE_URL;
  if (base !== undefined) {
    const admin = new Client({ connectionString: base });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
});

describe('a bill identity that survives a contract change (real Kafka, real PostgreSQL)', () => {
  const xml = billXml(RUN, 'discharge-panzhihua-21-dibao.xml', 'V1');
  let first: Outcome;

  it('settles the bill from its Kafka record, keyed by canonical form c1', async () => {
    first = await settleVia(await viaKafka(xml));
    expect(first.status).toBe('settled');
    if (first.status !== 'settled') return;
    expect(first.settlement.bodyHashForm).toBe('c1');
  });

  it('the old message resent, decoded under a newer contract: a duplicate with the same answer', async () => {
    if (first.status !== 'settled') throw new Error('not settled');
    const again = await settleVia(await viaKafka(xml), true);
    expect(again.status).toBe('duplicate');
    if (again.status !== 'duplicate') return;
    expect(again.settlement.setlId).toBe(first.settlement.setlId);
    expect(again.settlement.result).toEqual(first.settlement.result);
    // the hash of before this ADR (JSON.stringify of the decoder's object) would have called
    // this a different bill: the test can fail
    const arrival = intake.decode(xml);
    if (!arrival.decoded.ok || arrival.decoded.message.kind !== 'discharge') throw new Error('x');
    const bill = arrival.decoded.message.bill;
    expect(bodyHashOf(newerDecoderBill(bill), 'c0')).not.toBe(bodyHashOf(bill, 'c0'));
  });

  it('replays the archive with zero differences', async () => {
    const report = await auditReplay(db, rules, {});
    expect(report).toMatchObject({ total: 1, matched: 1, differing: 0, failed: 0 });
  });

  it('a genuinely different body of the same visit is a conflict', async () => {
    if (first.status !== 'settled') throw new Error('not settled');
    const other = billXml(RUN, 'discharge-panzhihua-21-dibao.xml', 'V1', {
      extra: { tag: 'fulamt_ownpay_amt', yuan: 10 },
    });
    const o = await settleVia(await viaKafka(other), true);
    expect(o.status).toBe('conflict');
    if (o.status !== 'conflict') return;
    expect(o.existingSetlId).toBe(first.settlement.setlId);
    const still = await findSettlementByBill(
      db,
      first.settlement.fixmedinsCode,
      first.settlement.mdtrtId,
    );
    expect(still?.setlId).toBe(first.settlement.setlId);
  });
});
