/**
 * Hostile input end to end (issue 11, docs/adr/0012-hostile-input.md): a generated corpus of more
 * than 1,000 hostile messages of many kinds, mixed with good bills, over the real Kafka broker into
 * the compiled gateway, and a sample of them over HTTP. Every hostile message must end as a reject
 * with its specific reason code, its bytes kept as they came, and a reject event published; every
 * good bill settled exactly once; and the consumer group's lag drained (no partition stalled).
 * The corpus is drawn by fast-check from a fixed seed, so a failure reproduces.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { type Db, openDb } from '@onebill/ledger';
import { Topics } from '@onebill/messaging';
import { writeCredentials } from './support/credentials';
import { billXml as billOf, newRun } from './support/bills';
import { eventually } from './support/eventually';
import { GatewayHarness } from './support/harness';
import { KafkaTap } from './support/kafka-tap';

const SEED = Number(process.env.HOSTILE_SEED ?? 20261130);
const HOSTILE = 1100;
const GOOD = 200;
/** the gateway's default MAX_MESSAGE_BYTES */
const CAP = 65536;
const HOSPITAL = 'H51040000002'; // the first template's institution
const CREDENTIALS = writeCredentials([HOSPITAL]);
const AUTH = CREDENTIALS.header(CREDENTIALS.operator);
const RUN = newRun('H');
const GROUP = `gateway-hostile-${RUN}`;

const TEMPLATES = [
  'discharge-panzhihua-21-dibao.xml',
  'discharge-panzhihua-11-none.xml',
  'discharge-panzhihua-13-tekun.xml',
  'discharge-baoshan-21-dibao_edge.xml',
  'discharge-baoshan-11-none.xml',
];
const bill = (visit: string, template = TEMPLATES[0] ?? ''): string => billOf(RUN, template, visit);
const setField = (xml: string, f: string, v: string): string =>
  xml.replace(new RegExp(`<${f}>[^<]*</${f}>`), `<${f}>${v}</${f}>`);
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
const ZHANG_SAN_GBK = Buffer.from('d5c5c8fd', 'hex'); // 张三 in GBK

/** A bill whose name is given as bytes, under the given XML declaration. */
function withNameBytes(xml: string, declaration: string, name: Buffer): Buffer {
  const [head, tail] = setField(xml, 'psn_name', '\u0001')
    .replace('<?xml version="1.0" encoding="UTF-8"?>', declaration)
    .split('\u0001') as [string, string];
  return Buffer.concat([utf8(head), name, utf8(tail)]);
}

function utf16le(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

interface Message {
  key: string;
  /** NUL in the Kafka key and the correlation-id header (stored with U+FFFD) */
  nulInTransport?: boolean;
  bytes: Buffer;
  /** the reject reason it must end with; null for a good bill */
  expect: string | null;
  kind: string;
  visit: string;
}

const CONTROL = [
  '\u0001',
  '\u0008',
  '\u000B',
  '\u000C',
  '\u001B',
  '\u001F',
  '\u007F',
  '\u0085',
  '\u009B',
];
const BIDI = [
  '\u202A',
  '\u202B',
  '\u202C',
  '\u202D',
  '\u202E',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
];
const BAD_DATES = [
  '2024-02-30',
  '2024-02-31',
  '2023-02-29',
  '2100-02-29',
  '2024-04-31',
  '2024-06-31',
  '2024-09-31',
  '2024-11-31',
];

/** A small deterministic generator (mulberry32), one per message, seeded from fast-check's draw. */
class Rng {
  constructor(private state: number) {}
  nextInt(min: number, max: number): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = Math.imul(this.state ^ (this.state >>> 15), 1 | this.state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return min + Math.floor(u * (max - min + 1));
  }
}

type Kind = (visit: string, r: Rng) => { bytes: Buffer; expect: string };
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[r.nextInt(0, xs.length - 1)] as T;

/** Each kind of hostile message and the reason it must be rejected with. */
const KINDS: Record<string, Kind> = {
  nulInName: (v, r) => ({
    bytes: utf8(setField(bill(v), 'psn_name', `张${'\u0000'.repeat(r.nextInt(1, 3))}三`)),
    expect: 'INVALID_CHARACTER',
  }),
  nulInKeyAndHeader: (v) => ({
    bytes: utf8(setField(bill(v), 'psn_name', '赵\u0000六')),
    expect: 'INVALID_CHARACTER',
  }),
  nulInCertno: (v) => ({
    bytes: utf8(setField(bill(v), 'certno', '51040219800101\u00000045')),
    expect: 'INVALID_CHARACTER',
  }),
  controlInName: (v, r) => ({
    bytes: utf8(setField(bill(v), 'psn_name', `李${pick(r, CONTROL)}四`)),
    expect: 'INVALID_CHARACTER',
  }),
  bidiInName: (v, r) => ({
    bytes: utf8(setField(bill(v), 'psn_name', `王${pick(r, BIDI)}五`)),
    expect: 'INVALID_CHARACTER',
  }),
  gbkBytesUndeclared: (v) => ({
    bytes: withNameBytes(bill(v), '<?xml version="1.0"?>', ZHANG_SAN_GBK),
    expect: 'INVALID_ENCODING',
  }),
  gbkDeclaredInvalidBytes: (v, r) => ({
    bytes: withNameBytes(
      bill(v),
      '<?xml version="1.0" encoding="GBK"?>',
      Buffer.from([0xd5, pick(r, [0x20, 0x3c, 0x7f]) ?? 0x20]),
    ),
    expect: 'INVALID_ENCODING',
  }),
  utf16DeclaredNoBom: (v) => ({
    bytes: utf8(bill(v).replace('encoding="UTF-8"', 'encoding="UTF-16"')),
    expect: 'ENCODING_MISMATCH',
  }),
  utf16BomGbkDeclared: (v) => ({
    bytes: utf16le(bill(v).replace('encoding="UTF-8"', 'encoding="GBK"')),
    expect: 'ENCODING_MISMATCH',
  }),
  unsupportedEncoding: (v, r) => ({
    bytes: utf8(
      bill(v).replace(
        'encoding="UTF-8"',
        `encoding="${pick(r, ['Shift_JIS', 'EBCDIC-US', 'KOI8-R'])}"`,
      ),
    ),
    expect: 'UNSUPPORTED_ENCODING',
  }),
  binaryJunk: (_v, r) => {
    const junk = Buffer.from(Array.from({ length: r.nextInt(1, 2000) }, () => r.nextInt(0, 255)));
    // 0x80 cannot start a UTF-8 character nor a byte-order mark: never text
    return { bytes: Buffer.concat([Buffer.from([0x80]), junk]), expect: 'INVALID_ENCODING' };
  },
  truncated: (v, r) => {
    const xml = bill(v);
    return {
      bytes: utf8(xml.slice(0, r.nextInt(40, xml.indexOf('</discharge>') + 5))),
      expect: 'MALFORMED_XML',
    };
  },
  deepNesting: (v, r) => {
    const depth = r.nextInt(32, 3000);
    return {
      bytes: utf8(
        bill(v).replace('<psn_no>', `${'<n>'.repeat(depth)}x${'</n>'.repeat(depth)}<psn_no>`),
      ),
      expect: 'DEPTH_EXCEEDED',
    };
  },
  entityDeclaration: (v, r) => {
    const doctype = pick(r, [
      '<!DOCTYPE discharge [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
      '<!DOCTYPE discharge [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
      '<!DOCTYPE discharge SYSTEM "http://127.0.0.1:1/x.dtd">',
      '<!doctype discharge [<!entity n "张三丰">]>',
    ]);
    return {
      bytes: utf8(bill(v).replace('<discharge version="1">', `${doctype}<discharge version="1">`)),
      expect: 'ENTITY_NOT_ALLOWED',
    };
  },
  impossibleDate: (v, r) => {
    const day = pick(r, BAD_DATES);
    const field = pick(r, ['begntime', 'endtime']);
    const xml =
      field === 'begntime'
        ? setField(bill(v), 'begntime', `${day} 08:00:00`)
        : setField(
            setField(bill(v), 'begntime', `${day.slice(0, 8)}01 08:00:00`),
            'endtime',
            `${day} 10:00:00`,
          );
    return { bytes: utf8(xml), expect: 'INVALID_DATE' };
  },
  oversize: (v, r) => {
    // some within twice the cap (kept whole), some beyond it (first CAP bytes kept)
    const size = pick(r, [CAP + 1, CAP + 5000, 2 * CAP + 1, 3 * CAP]);
    const xml = bill(v);
    const pad = `<!--${'x'.repeat(Math.max(0, size - Buffer.byteLength(xml) - 7))}-->`;
    return { bytes: utf8(xml.replace('<psn_no>', `${pad}<psn_no>`)), expect: 'TOO_LARGE' };
  },
  empty: () => ({ bytes: Buffer.alloc(0), expect: 'EMPTY_MESSAGE' }),
  whitespaceOnly: (_v, r) => ({
    bytes: utf8(' \n\t'.repeat(r.nextInt(1, 50))),
    expect: 'EMPTY_MESSAGE',
  }),
  wrongRoot: (v, r) => ({
    bytes: utf8(bill(v).replace(/discharge/g, pick(r, ['invoice', 'settlement', 'html']))),
    expect: 'WRONG_ROOT',
  }),
  manyAttributes: (v, r) => {
    const n = r.nextInt(33, 3000);
    const attrs = Array.from({ length: n }, (_, i) => `a${i}="${i}"`).join(' ');
    return {
      bytes: utf8(bill(v).replace('<psn_no>', `<psn_no ${attrs}>`)),
      expect: 'TOO_MANY_ATTRIBUTES',
    };
  },
  manyElements: (v, r) => ({
    bytes: utf8(bill(v).replace('<psn_no>', `${'<e/>'.repeat(r.nextInt(2001, 8000))}<psn_no>`)),
    expect: 'TOO_MANY_ELEMENTS',
  }),
  unclosedTag: (v, r) => ({
    bytes: utf8(bill(v).replace(`</${pick(r, ['psn_no', 'certno', 'insutype'])}>`, '')),
    expect: 'MALFORMED_XML',
  }),
};

/** Good bills: plain UTF-8, GBK with a GBK name, UTF-16 with a byte-order mark. */
function goodBytes(visit: string, i: number): Buffer {
  const xml = bill(visit, TEMPLATES[i % TEMPLATES.length]);
  if (i % 10 === 3)
    return withNameBytes(xml, '<?xml version="1.0" encoding="GBK"?>', ZHANG_SAN_GBK);
  if (i % 10 === 7) return utf16le(xml.replace('encoding="UTF-8"', 'encoding="UTF-16"'));
  return utf8(xml);
}

/** The corpus, drawn from SEED: hostile messages of every kind, good bills, shuffled together. */
function corpus(): Message[] {
  const names = Object.keys(KINDS);
  const [seeds] = fc.sample(
    fc.array(fc.integer(), { minLength: HOSTILE + 1, maxLength: HOSTILE + 1 }),
    { seed: SEED, numRuns: 1 },
  ) as [number[]];
  const out: Message[] = [];
  for (let i = 0; i < HOSTILE; i++) {
    const kind = names[i % names.length] ?? '';
    const visit = `X${i}`;
    const r = new Rng(seeds[i] ?? i);
    const m = (KINDS[kind] as Kind)(visit, r);
    out.push({
      key: `${RUN}-x${i}`,
      bytes: m.bytes,
      expect: m.expect,
      kind,
      visit,
      nulInTransport: kind === 'nulInKeyAndHeader',
    });
  }
  for (let i = 0; i < GOOD; i++) {
    const visit = `G${i}`;
    out.push({
      key: `${RUN}-g${i}`,
      bytes: goodBytes(visit, i),
      expect: null,
      kind: 'good',
      visit,
    });
  }
  const [order] = fc.sample(
    fc.shuffledSubarray(out, { minLength: out.length, maxLength: out.length }),
    {
      seed: seeds[HOSTILE] ?? SEED,
      numRuns: 1,
    },
  ) as [Message[]];
  return order;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface InboxRow {
  key: string;
  status: string;
  reason_code: string | null;
  reject_id: string | null;
  payload_sha256: string;
  payload_size: number;
  payload_bytes: Buffer;
}

describe('hostile input (real Kafka, real PostgreSQL, the compiled gateway)', () => {
  let harness: GatewayHarness;
  let tap: KafkaTap;
  let db: Db;
  let producer: Producer;
  let kafka: Kafka;
  const messages = corpus();

  beforeAll(async () => {
    tap = await KafkaTap.open([Topics.hisDischargeRejected]);
    db = await openDb({ databaseUrl: process.env.DATABASE_URL ?? '' });
    harness = await GatewayHarness.open(GROUP, CREDENTIALS.file);
    kafka = new Kafka({
      clientId: `${GROUP}-hostile`,
      brokers: (process.env.KAFKA_BROKERS ?? '').split(','),
      logLevel: logLevel.NOTHING,
    });
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
  }, 180_000);

  afterAll(async () => {
    await producer?.disconnect();
    await harness?.close();
    await tap?.close();
    await db?.close();
  });

  async function rowsOf(prefix: string): Promise<Map<string, InboxRow>> {
    const { rows } = await db.query<InboxRow>(
      `SELECT i.key, i.status, r.reason_code, r.id::text AS reject_id, i.payload_sha256,
              i.payload_size, i.payload_bytes
         FROM inbox i LEFT JOIN rejects r ON r.id = i.reject_id
        WHERE i.key LIKE $1`,
      [`${prefix}%`],
    );
    // a NUL in a key is stored as U+FFFD
    return new Map(rows.map((r) => [r.key.replace(/\uFFFD$/, ''), r]));
  }

  /** What is wrong with how a hostile message was kept, or null. */
  function wrongRecord(m: Message, row: InboxRow | undefined): string | null {
    if (row === undefined) return `${m.kind} ${m.key}: no inbox row`;
    if (row.status !== 'rejected' || row.reason_code !== m.expect)
      return `${m.kind} ${m.key}: ${row.status} ${row.reason_code ?? ''}, expected ${m.expect ?? ''}`;
    const kept = m.bytes.length > 2 * CAP ? m.bytes.subarray(0, CAP) : m.bytes;
    if (
      row.payload_sha256 !== sha256(m.bytes) ||
      row.payload_size !== m.bytes.length ||
      !Buffer.from(row.payload_bytes).equals(kept)
    )
      return `${m.kind} ${m.key}: bytes not kept as they came`;
    return null;
  }

  it('rejects every hostile message with its reason and its bytes, settles every good bill once, and drains every partition', async () => {
    const kinds = new Set(messages.filter((m) => m.expect !== null).map((m) => m.kind));
    expect(kinds.size).toBe(Object.keys(KINDS).length);
    expect(messages.filter((m) => m.expect !== null).length).toBeGreaterThanOrEqual(1000);

    // publish in batches well below the broker's 1 MB, the big ones alone
    const send = (batch: Message[]): Promise<unknown> =>
      producer.send({
        topic: Topics.hisDischarge,
        messages: batch.map((m) =>
          m.nulInTransport === true
            ? { key: `${m.key}\u0000`, value: m.bytes, headers: { 'correlation-id': 'c\u0000' } }
            : { key: m.key, value: m.bytes },
        ),
      });
    let batch: Message[] = [];
    let bytes = 0;
    for (const m of messages) {
      if (m.bytes.length > 100_000) {
        await send([m]);
        continue;
      }
      if (bytes + m.bytes.length > 500_000 || batch.length >= 200) {
        await send(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(m);
      bytes += m.bytes.length;
    }
    if (batch.length > 0) await send(batch);

    // every message has its outcome
    const rows = await eventually(
      async () => {
        const r = await rowsOf(`${RUN}-`);
        expect(r.size).toBe(messages.length);
        expect([...r.values()].filter((x) => x.status === 'received')).toEqual([]);
        return r;
      },
      { timeoutMs: 150_000, intervalMs: 1000 },
    );

    const wrong = messages
      .filter((m) => m.expect !== null)
      .map((m) => wrongRecord(m, rows.get(m.key)))
      .filter((x) => x !== null);
    expect(wrong).toEqual([]);

    // every good bill settled exactly once
    const good = messages.filter((m) => m.expect === null);
    expect(good.map((m) => `${m.key}:${rows.get(m.key)?.status ?? 'none'}`)).toEqual(
      good.map((m) => `${m.key}:settled`),
    );
    const { rows: settled } = await db.query<{ mdtrt_id: string; n: number }>(
      `SELECT mdtrt_id, count(*)::int AS n FROM settlements WHERE mdtrt_id LIKE $1 GROUP BY mdtrt_id`,
      [`${RUN}-%`],
    );
    expect(settled.filter((s) => s.n !== 1)).toEqual([]);
    expect(settled.map((s) => s.mdtrt_id).sort()).toEqual(
      good.map((m) => `${RUN}-${m.visit}`).sort(),
    );

    // the gateway's group committed past every message of ours on every partition: nothing
    // stalled (the shared broker's topic may carry other runs' traffic, so not its very end)
    const { rows: last } = await db.query<{ partition: number; offset: string }>(
      `SELECT partition, max("offset")::text AS offset FROM inbox
        WHERE key LIKE $1 AND source = 'kafka' GROUP BY partition ORDER BY partition`,
      [`${RUN}-%`],
    );
    expect(last.length).toBeGreaterThan(1);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await eventually(
        async () => {
          const committed = await admin.fetchOffsets({
            groupId: GROUP,
            topics: [Topics.hisDischarge],
          });
          const at = new Map(committed[0]?.partitions.map((p) => [p.partition, p.offset]) ?? []);
          expect(
            last
              .filter((l) => BigInt(at.get(l.partition) ?? '-1') <= BigInt(l.offset))
              .map(
                (l) =>
                  `partition ${l.partition}: committed ${at.get(l.partition)}, ours up to ${l.offset}`,
              ),
          ).toEqual([]);
        },
        // a batch is committed whole: one that holds our last message and other runs' traffic
        // behind it commits when that traffic is done too
        { timeoutMs: 120_000, intervalMs: 500 },
      );
    } finally {
      await admin.disconnect();
    }

    // and a reject event for every hostile message
    const rejectIds = messages
      .filter((m) => m.expect !== null)
      .map((m) => rows.get(m.key)?.reject_id ?? '');
    await eventually(
      () => {
        const published = new Set(
          tap
            .on(Topics.hisDischargeRejected)
            .map((e) => String((JSON.parse(e.value) as { reject_id?: unknown }).reject_id)),
        );
        expect(rejectIds.filter((id) => !published.has(id))).toEqual([]);
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
  }, 420_000);

  it('answers the same hostile bodies over HTTP with a 4xx and its reason, and records them', async () => {
    const sample = messages
      .filter((m) => m.expect !== null && m.bytes.length > 0)
      .filter((_m, i) => i % 25 === 0);
    expect(new Set(sample.map((m) => m.kind)).size).toBeGreaterThanOrEqual(10);
    const answers: string[] = [];
    const expected: string[] = [];
    const recorded: string[] = [];
    for (const m of sample) {
      const res = await fetch(`${harness.base}/api/v1/settlements`, {
        method: 'POST',
        headers: { 'content-type': 'application/xml', ...AUTH },
        body: m.bytes,
      });
      const body = (await res.json()) as { errors?: Array<{ code: string }>; reject_id?: string };
      answers.push(`${m.kind}:${res.status}:${body.errors?.[0]?.code ?? ''}`);
      expected.push(`${m.kind}:422:${m.expect ?? ''}`);
      if (body.reject_id !== undefined) recorded.push(body.reject_id);
    }
    expect(answers).toEqual(expected);
    const { rows } = await db.query<{ id: string; n: number }>(
      `SELECT r.id::text AS id, octet_length(r.payload_bytes) AS n FROM rejects r
        WHERE r.id = ANY($1::bigint[])`,
      [recorded],
    );
    expect(rows.map((r) => r.id).sort()).toEqual([...recorded].sort());
    expect(rows.every((r) => r.n > 0)).toBe(true);
    // beyond 16 × the cap the body is not read: 413, in the API's error shape
    const huge = await fetch(`${harness.base}/api/v1/settlements`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', ...AUTH },
      body: Buffer.alloc(16 * CAP + 1, 0x20),
    });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe(
      'TOO_LARGE',
    );
  }, 120_000);

  it('shows a reject to the auditor and the hospital with the person masked in the parsed message, or not at all', async () => {
    const NAME = '张三丰';
    const ID = '510402198001010045';
    const base = bill('M1').replace(/<psn_no>[^<]*<\/psn_no>/, ''); // rejected: psn_no missing
    const bodies = {
      cdataAndComment: utf8(
        setField(
          setField(base, 'psn_name', `<![CDATA[${NAME}]]>`),
          'certno',
          '510402<!-- -->198001010045',
        ),
      ),
      truncated: utf8(setField(base, 'psn_name', NAME).slice(0, base.indexOf('<certno>') + 20)),
      nulInName: utf8(setField(base, 'psn_name', `${NAME}\u0000`)),
    };
    const hospital = CREDENTIALS.hospital[HOSPITAL] ?? '';
    const get = async (id: string, token: string): Promise<Record<string, unknown>> => {
      const res = await fetch(`${harness.base}/api/v1/rejects/${id}`, {
        headers: CREDENTIALS.header(token),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    };
    for (const [kind, body] of Object.entries(bodies)) {
      const posted = await fetch(`${harness.base}/api/v1/settlements`, {
        method: 'POST',
        headers: { 'content-type': 'application/xml', ...CREDENTIALS.header(hospital) },
        body,
      });
      expect(`${kind}:${posted.status}`).toBe(`${kind}:422`);
      const id = String(((await posted.json()) as { reject_id: unknown }).reject_id);
      for (const token of [CREDENTIALS.auditor, hospital]) {
        const seen = JSON.stringify(await get(id, token));
        expect(seen).not.toContain(NAME);
        expect(seen).not.toContain('三丰');
        expect(seen).not.toContain('198001010045');
        if (kind === 'cdataAndComment') {
          expect(seen).toContain('<psn_name>张**</psn_name>');
          expect(seen).toContain(`<certno>${ID.slice(0, 6)}********${ID.slice(-4)}</certno>`);
        } else {
          expect(seen).toContain('cannot be masked safely');
          expect(seen).toContain(sha256(body));
        }
      }
      // the operator, who fixes and resubmits, reads what came
      const raw = await get(id, CREDENTIALS.operator);
      const came =
        typeof raw.original_payload === 'string'
          ? Buffer.from(raw.original_payload, 'utf8')
          : Buffer.from(String(raw.original_payload_base64), 'base64');
      expect(came.equals(body)).toBe(true);
    }
  }, 60_000);
});
