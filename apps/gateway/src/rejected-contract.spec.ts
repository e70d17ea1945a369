/**
 * The rejected-message contract says what the code does.
 *
 * - his.discharge.rejected.v1: the value the gateway really writes to its outbox (IntakeService on
 *   the embedded PGlite, the same code path as in production) is what
 *   contracts/events/discharge-rejected.v1.schema.json describes, with the key and headers that
 *   contracts/asyncapi/gateway.v1.yaml documents; the schema refuses a value with a field missing.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { PgliteDb } from '@onebill/ledger';
import { RuleBook } from '@onebill/rules';
import { Topics } from '@onebill/messaging';
import { IntakeService, type Source } from './intake.service';
import { Logger } from './log';
import { openTestPglite } from '@onebill/ledger/testing/pglite';

const ROOT = join(__dirname, '..', '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

const rejectedSchema = JSON.parse(
  read('contracts/events/discharge-rejected.v1.schema.json'),
) as object;
const rejectedAccepts = new Ajv2020({ strict: false, allErrors: true }).compile(rejectedSchema);

function schemaErrors(value: unknown): unknown[] {
  return rejectedAccepts(value) ? [] : (rejectedAccepts.errors ?? ['invalid']);
}

interface OutboxRecord {
  eventId: string;
  key: string | null;
  headers: Record<string, string>;
  value: Record<string, unknown>;
}

describe('his.discharge.rejected.v1 as the gateway writes it', () => {
  const discharge = read('contracts/discharge/examples/discharge-panzhihua-21-dibao.xml');
  const withoutPsnNo = discharge.replace(/\s*<psn_no>[^<]*<\/psn_no>/, '');
  let db: PgliteDb;
  let intake: IntakeService;

  beforeAll(async () => {
    db = await openTestPglite({ migrate: true });
    intake = new IntakeService(db, RuleBook.load(), new Logger('error', {}, () => undefined), {
      maxMessageBytes: 64 * 1024,
    });
  });

  afterAll(async () => {
    await db.close();
  });

  /** Submits one message and returns the reject event it wrote to the outbox. */
  async function rejectEventOf(raw: string, source: Source): Promise<OutboxRecord> {
    const outcome = await intake.submit(raw, source);
    expect(['rejected', 'conflict']).toContain(outcome.status);
    const rejectId =
      outcome.status === 'rejected' || outcome.status === 'conflict' ? outcome.rejectId : null;
    const { rows } = await db.query<{
      event_id: string;
      key: string | null;
      headers: Record<string, string> | string;
      payload: string;
    }>(
      `SELECT event_id::text AS event_id, key, headers, payload FROM outbox
       WHERE topic = $1 AND payload::jsonb ->> 'reject_id' = $2`,
      [Topics.hisDischargeRejected, rejectId],
    );
    expect(rows).toHaveLength(1);
    const row = rows[0];
    if (row === undefined) throw new Error('no reject event');
    return {
      eventId: row.event_id,
      key: row.key,
      headers:
        typeof row.headers === 'string'
          ? (JSON.parse(row.headers) as Record<string, string>)
          : row.headers,
      value: JSON.parse(row.payload) as Record<string, unknown>,
    };
  }

  it('a Kafka message with a missing field: schema-valid value, hospital key and headers', async () => {
    const source: Source = {
      kind: 'kafka',
      topic: Topics.hisDischarge,
      partition: 2,
      offset: '4711',
      key: 'H51040000002',
      correlationId: 'corr-kafka-1',
    };
    const event = await rejectEventOf(withoutPsnNo, source);

    expect(schemaErrors(event.value)).toEqual([]);
    expect(event.key).toBe('H51040000002');
    expect(event.headers).toEqual({
      'content-type': 'application/json',
      'correlation-id': 'corr-kafka-1',
      'event-id': event.eventId,
      'fixmedins-code': 'H51040000002',
    });
    expect(event.value).toMatchObject({
      status: 'rejected',
      reason_code: 'MISSING_FIELD',
      field: 'psn_no',
      source: { kind: 'kafka', topic: Topics.hisDischarge, partition: 2, offset: '4711' },
      original_payload: withoutPsnNo,
    });

    // a small message is carried whole, with its size, hash and the reject it is kept with
    expect(event.value).toMatchObject({
      original_truncated: false,
      original_bytes: Buffer.byteLength(withoutPsnNo),
      original_sha256: createHash('sha256').update(withoutPsnNo).digest('hex'),
      original_ref: `/api/v1/rejects/${String(event.value.reject_id)}`,
    });

    // the contract's example is this very message (only the reject id differs)
    const example = JSON.parse(read('contracts/events/examples/discharge-rejected.v1.json')) as {
      reject_id: string;
      original_ref: string;
    };
    expect(schemaErrors(example)).toEqual([]);
    expect({
      ...event.value,
      reject_id: example.reject_id,
      original_ref: example.original_ref,
    }).toEqual(example);
  });

  it('a hostile message near the size cap: a bounded, flagged excerpt and a reference, never all of it', async () => {
    // ~60 000 bytes of quotes and control characters: JSON-escaped whole they would take ~4×
    // as much; a few such messages made the outbox stop (issue 11)
    const huge = `<discharge version="1"><fixmedins_code>H51040000002</fixmedins_code>${'"\u0001'.repeat(29_900)}€</discharge>`;
    const event = await rejectEventOf(huge, { kind: 'http', correlationId: 'c-huge' });

    expect(schemaErrors(event.value)).toEqual([]);
    const excerpt = event.value.original_payload as string;
    expect(event.value).toMatchObject({
      original_truncated: true,
      original_bytes: Buffer.byteLength(huge),
      original_sha256: createHash('sha256').update(huge).digest('hex'),
      original_ref: `/api/v1/rejects/${String(event.value.reject_id)}`,
    });
    expect(Buffer.byteLength(excerpt)).toBeLessThanOrEqual(4096);
    expect(huge.startsWith(excerpt)).toBe(true);
    // the whole event stays small, whatever the escaping
    const { rows } = await db.query<{ n: number }>(
      'SELECT octet_length(payload)::int AS n FROM outbox WHERE event_id = $1',
      [event.eventId],
    );
    expect(rows[0]?.n).toBeLessThan(32 * 1024);
  });

  it('an HTTP message that names no hospital: key "unknown", no fixmedins-code header', async () => {
    const event = await rejectEventOf('not xml at all', { kind: 'http', correlationId: 'c-2' });

    expect(schemaErrors(event.value)).toEqual([]);
    expect(event.key).toBe('unknown');
    expect(event.headers).toEqual({
      'content-type': 'application/json',
      'correlation-id': 'c-2',
      'event-id': event.eventId,
    });
    expect(event.value).toMatchObject({
      status: 'rejected',
      reason_code: 'MALFORMED_XML',
      field: null,
      source: { kind: 'http', topic: null, partition: null, offset: null },
    });
  });

  it('a different bill for a settled visit: status conflict, also schema-valid', async () => {
    const first = await intake.submit(discharge, { kind: 'http' });
    expect(first.status).toBe('settled');
    const changed = discharge
      .replace('<medfee_sumamt>48620.35<', '<medfee_sumamt>48621.35<')
      .replace('<fulamt_ownpay_amt>3200.00<', '<fulamt_ownpay_amt>3201.00<');
    const event = await rejectEventOf(changed, { kind: 'http' });

    expect(schemaErrors(event.value)).toEqual([]);
    expect(event.value).toMatchObject({ status: 'conflict', reason_code: 'CONFLICT' });
  });

  it('an admission for a hospital not in the registry is rejected on the same topic', async () => {
    const admission = read('contracts/discharge/examples/admission-panzhihua.xml').replace(
      'H51040000002',
      'H99999999999',
    );
    const event = await rejectEventOf(admission, {
      kind: 'kafka',
      topic: Topics.hisAdmission,
      partition: 0,
      offset: '0',
    });

    expect(schemaErrors(event.value)).toEqual([]);
    expect(event.key).toBe('H99999999999');
    expect(event.value).toMatchObject({ reason_code: 'UNKNOWN_HOSPITAL' });
  });

  it('the schema refuses a value with any required field missing', async () => {
    const event = await rejectEventOf(withoutPsnNo, {
      kind: 'kafka',
      topic: Topics.hisDischarge,
      partition: 0,
      offset: '99',
    });
    expect(schemaErrors(event.value)).toEqual([]);
    const required = (rejectedSchema as { required: string[] }).required;
    expect(required).toEqual(Object.keys(event.value));
    for (const name of required) {
      const { [name]: _dropped, ...missing } = event.value;
      expect(rejectedAccepts(missing)).toBe(false);
    }
    const problem = (event.value.errors as Record<string, unknown>[])[0] ?? {};
    const { rule: _rule, ...problemWithoutRule } = problem;
    expect(rejectedAccepts({ ...event.value, errors: [problemWithoutRule] })).toBe(false);
    const { offset: _offset, ...sourceWithoutOffset } = event.value.source as object as Record<
      string,
      unknown
    >;
    expect(rejectedAccepts({ ...event.value, source: sourceWithoutOffset })).toBe(false);
  });
});
