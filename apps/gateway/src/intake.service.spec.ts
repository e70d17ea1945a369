/**
 * The intake on the embedded default store (PGlite, in memory, the ledger's real migrations) with
 * the shipped rule sets, yearly figures and hospital registry: one message in, one outcome out,
 * and what that outcome left in the ledger (inbox, settlements, accumulators, rejects, outbox).
 *
 * No amount here is typed by hand: every expected figure is what `settle` of libs/engine computes
 * for the same bill on the position the gateway should have used.
 */
import { randomUUID } from 'node:crypto';
import {
  type Accumulators,
  type Bill,
  type SettlementResult,
  compiled,
  emptyAccumulators,
  settle,
} from '@onebill/engine';
import { type PgliteDb, readAccumulators } from '@onebill/ledger';
import { Topics } from '@onebill/messaging/kafka/topics';
import { decodeDischarge } from '@onebill/messaging/xml';
import { RuleBook } from '@onebill/rules';
import { IntakeService, type Outcome, type Source } from './intake.service';
import { Logger } from './log';
import { example, withTag, withoutTag } from './testing/intake-fixtures';
import { openTestPglite } from '@onebill/ledger/testing/pglite';

/** An inpatient bill of a dibao person (several funds, a deductible) at H51040000002, level 3. */
const INPATIENT = example('discharge-panzhihua-21-dibao.xml');
const REVERSAL = example('reversal-panzhihua.xml');
const ADMISSION = example('admission-panzhihua.xml');

let seq = 0;
/** A visit and a person of their own, so that the tests share one store without meeting. */
function freshBill(xml = INPATIENT): { xml: string; mdtrtId: string; psnNo: string } {
  seq += 1;
  const mdtrtId = `MDT-SPEC-${seq}-${randomUUID().slice(0, 8)}`;
  const psnNo = `PSN-SPEC-${seq}-${randomUUID().slice(0, 8)}`;
  return { xml: withTag(withTag(xml, 'mdtrt_id', mdtrtId), 'psn_no', psnNo), mdtrtId, psnNo };
}

function reversalOf(bill: { mdtrtId: string }, setlId?: string): string {
  const xml = withTag(REVERSAL, 'mdtrt_id', bill.mdtrtId);
  return setlId === undefined ? withoutTag(xml, 'setl_id') : withTag(xml, 'setl_id', setlId);
}

function decoded(xml: string): Bill {
  const d = decodeDischarge(xml);
  if (!d.ok) throw new Error(`example does not decode: ${JSON.stringify(d.errors)}`);
  return d.bill;
}

/** A money string is zero. */
const isZero = (v: string): boolean => /^-?0+\.00$/.test(v);

/** Every amount of a position is zero (a map entry at zero counts as absent). */
function allZero(a: Accumulators): boolean {
  return Object.entries(a).every(([k, v]) => {
    if (k === 'year') return true;
    if (typeof v === 'string') return isZero(v);
    return Object.values(v as Record<string, string>).every(isZero);
  });
}

function settled(o: Outcome): Extract<Outcome, { status: 'settled' | 'duplicate' | 'reversed' }> {
  if (o.status !== 'settled' && o.status !== 'duplicate' && o.status !== 'reversed') {
    throw new Error(`expected a settlement, got ${JSON.stringify(o)}`);
  }
  return o;
}

function rejected(o: Outcome): Extract<Outcome, { status: 'rejected' }> {
  if (o.status !== 'rejected') throw new Error(`expected a reject, got ${JSON.stringify(o)}`);
  return o;
}

const TABLES = ['inbox', 'settlements', 'accumulators', 'outbox', 'rejects', 'reversals'] as const;
type Table = (typeof TABLES)[number];

describe('IntakeService on PGlite with the shipped rules', () => {
  const rules = RuleBook.load();
  /** 2024-05-12 10:00:00 in Beijing */
  const clock = new Date('2024-05-12T02:00:00.000Z');
  const lines: string[] = [];
  let db: PgliteDb;
  let intake: IntakeService;

  /** What the engine makes of this bill on this position, with the rules in force for it. */
  function engine(bill: Bill, accumulators: Accumulators): SettlementResult {
    const hospital = rules.hospital(bill.fixmedinsCode);
    if (hospital === undefined) throw new Error(`${bill.fixmedinsCode} not in the registry`);
    const ruleSet = compiled(rules.resolve(hospital.region, bill.dischargeDate));
    return settle({ bill, accumulators, ruleSet });
  }

  async function count(sql: string, params: unknown[] = []): Promise<number> {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params);
    return rows[0]?.n ?? -1;
  }

  /** Rows of every table the intake writes: a message that changes nothing leaves these alone. */
  async function tableCounts(): Promise<Record<Table, number>> {
    const out = {} as Record<Table, number>;
    for (const t of TABLES) out[t] = await count(t);
    return out;
  }

  async function outboxOf(
    correlationId: string,
  ): Promise<{ topic: string; key: string | null; payload: string }[]> {
    const { rows } = await db.query<{ topic: string; key: string | null; payload: string }>(
      `SELECT topic, key, payload FROM outbox WHERE headers->>'correlation-id' = $1 ORDER BY id`,
      [correlationId],
    );
    return rows;
  }

  async function inboxOf(correlationId: string): Promise<{ status: string; setl_id: string }[]> {
    const { rows } = await db.query<{ status: string; setl_id: string }>(
      'SELECT status, setl_id FROM inbox WHERE correlation_id = $1 ORDER BY id',
      [correlationId],
    );
    return rows;
  }

  const http = (): Source => ({ kind: 'http', correlationId: randomUUID() });

  beforeAll(async () => {
    db = await openTestPglite({ migrate: true });
    intake = new IntakeService(db, rules, new Logger('debug', {}, (l) => lines.push(l)), {
      maxMessageBytes: 65536,
      now: () => clock,
    });
  });

  afterAll(async () => {
    await db.close();
  });

  describe('settlement', () => {
    it("settles a discharge with the engine's result on the person's empty position", async () => {
      const bill = freshBill();
      const source = http();
      const expected = engine(decoded(bill.xml), emptyAccumulators(2024));

      const s = settled(await intake.submit(bill.xml, source));

      expect(s.status).toBe('settled');
      expect(s.correlationId).toBe(source.correlationId);
      expect(s.settlement).toMatchObject({
        fixmedinsCode: 'H51040000002',
        mdtrtId: bill.mdtrtId,
        psnNo: bill.psnNo,
        year: 2024,
        status: 'settled',
        // the county agency comes from the registry (ADR 0005, 4)
        clrOptins: rules.hospital('H51040000002')?.admdvs,
        // the gateway's clock, in Beijing time
        setlTime: '2024-05-12 10:00:00',
        ruleSetVersion: expected.ruleSetVersion,
      });
      expect(s.settlement.setlId).toMatch(/^S[0-9A-F]{24}$/);
      expect(s.settlement.result.setlinfo).toEqual(expected.setlinfo);
      expect(s.settlement.result.setldetail).toEqual(expected.setldetail);
      // the bill is one with several funds: a settlement of the basic fund alone would pass less
      expect(expected.setldetail.length).toBeGreaterThan(1);
      expect(await readAccumulators(db, bill.psnNo, 2024)).toEqual(expected.accumulators);
      expect(await inboxOf(source.correlationId ?? '')).toEqual([
        { status: 'settled', setl_id: s.settlement.setlId },
      ]);
    });

    it('writes the county event and the hospital result in the outbox of the same transaction', async () => {
      const bill = freshBill();
      const source = http();
      const s = settled(await intake.submit(bill.xml, source));
      const info = s.settlement.result.setlinfo;

      const events = await outboxOf(source.correlationId ?? '');
      expect(events.map((e) => e.topic).sort()).toEqual(
        [Topics.settlementEvents, Topics.hisSettlementResult].sort(),
      );
      const county = events.find((e) => e.topic === Topics.settlementEvents);
      expect(county?.key).toBe(s.settlement.clrOptins);
      const payload = JSON.parse(county?.payload ?? '{}') as Record<string, unknown>;
      expect(payload).toMatchObject({
        event_id: s.settlement.eventId,
        event_type: 'settled',
        setl_id: s.settlement.setlId,
        month: '2024-05',
        medfee_sumamt: info.medfeeSumamt,
        fund_pay_sumamt: info.fundPaySumamt,
        psn_cash_pay: info.psnCashPay,
      });
      expect(payload.funds).toEqual(
        s.settlement.result.setldetail.map((d) => ({
          fund_pay_type: d.fundPayType,
          fund: d.fund,
          amount: d.fundPayamt,
        })),
      );
      const result = events.find((e) => e.topic === Topics.hisSettlementResult);
      expect(result?.key).toBe('H51040000002');
      expect(result?.payload).toContain(s.settlement.setlId);
    });

    it("settles a person's second bill on the position the first one left", async () => {
      const first = freshBill();
      const a = settled(await intake.submit(first.xml, http()));
      const second = withTag(
        withTag(
          withTag(first.xml, 'mdtrt_id', `${first.mdtrtId}-2`),
          'begntime',
          '2024-04-01 09:00:00',
        ),
        'endtime',
        '2024-04-10 10:00:00',
      );
      const bill = decoded(second);
      const onFirst = engine(bill, a.settlement.result.accumulators);
      const fromZero = engine(bill, emptyAccumulators(2024));
      // the position matters for this bill, else the test could not tell the two apart
      expect(onFirst.setlinfo).not.toEqual(fromZero.setlinfo);

      const b = settled(await intake.submit(second, http()));

      expect(b.status).toBe('settled');
      expect(b.settlement.result.setlinfo).toEqual(onFirst.setlinfo);
      expect(b.settlement.accumulatorsBefore).toEqual(a.settlement.result.accumulators);
      expect(await readAccumulators(db, first.psnNo, 2024)).toEqual(onFirst.accumulators);
    });

    it('logs one debug line per message with its correlation id, never the name or ID number', async () => {
      const bill = freshBill();
      const source = http();
      lines.length = 0;
      const s = settled(await intake.submit(bill.xml, source));

      expect(lines).toHaveLength(1);
      const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
      expect(entry).toMatchObject({
        level: 'debug',
        msg: 'message settled',
        correlationId: source.correlationId,
        source: 'http',
        setlId: s.settlement.setlId,
        psnCashPay: s.settlement.result.setlinfo.psnCashPay,
      });
      // the example's patient: 患者4, 510402198001010045
      expect(bill.xml).toContain('510402198001010045');
      expect(lines[0]).not.toContain('510402198001010045');
      expect(lines[0]).not.toContain('患者4');
    });
  });

  describe('the same visit again', () => {
    it('answers the same bytes with "duplicate" and the first setl_id, changing nothing', async () => {
      const bill = freshBill();
      const first = settled(await intake.submit(bill.xml, http()));
      const position = await readAccumulators(db, bill.psnNo, 2024);
      const before = await tableCounts();
      const again = http();

      const dup = settled(await intake.submit(bill.xml, again));

      expect(dup.status).toBe('duplicate');
      expect(dup.settlement.setlId).toBe(first.settlement.setlId);
      expect(dup.settlement.result).toEqual(first.settlement.result);
      expect(await readAccumulators(db, bill.psnNo, 2024)).toEqual(position);
      // only the inbox row of the second message is new: no settlement, no event
      expect(await tableCounts()).toEqual({ ...before, inbox: before.inbox + 1 });
      expect(await outboxOf(again.correlationId ?? '')).toEqual([]);
      expect(await inboxOf(again.correlationId ?? '')).toEqual([
        { status: 'duplicate', setl_id: first.settlement.setlId },
      ]);
    });

    it('judges the decoded bill, not the bytes: other whitespace is still a duplicate', async () => {
      const bill = freshBill();
      const first = settled(await intake.submit(bill.xml, http()));
      const reformatted = bill.xml
        .replace(/\n\s*/g, '')
        .replace('<medfee_sumamt>', '\n<medfee_sumamt>');
      expect(reformatted).not.toBe(bill.xml);

      const dup = settled(await intake.submit(reformatted, http()));

      expect(dup.status).toBe('duplicate');
      expect(dup.settlement.setlId).toBe(first.settlement.setlId);
    });

    it('answers a Kafka redelivery of a settled record with the first settlement and correlation id', async () => {
      const bill = freshBill();
      const position = { kind: 'kafka', topic: Topics.hisDischarge, partition: 2 } as const;
      const offset = String(1000 + seq);
      const first = settled(
        await intake.submit(bill.xml, { ...position, offset, correlationId: 'first-delivery' }),
      );
      const before = await tableCounts();

      const again = settled(
        await intake.submit(bill.xml, { ...position, offset, correlationId: 'redelivery' }),
      );

      expect(again.status).toBe('duplicate');
      expect(again.settlement.setlId).toBe(first.settlement.setlId);
      expect(again.correlationId).toBe('first-delivery');
      expect(await tableCounts()).toEqual(before);
    });

    it('refuses another bill for a settled visit as a conflict and keeps the first settlement', async () => {
      const bill = freshBill();
      const first = settled(await intake.submit(bill.xml, http()));
      const position = await readAccumulators(db, bill.psnNo, 2024);
      // 100.00 more paid by the patient in full: the parts still add up to the total
      const other = withTag(
        withTag(bill.xml, 'medfee_sumamt', '48720.35'),
        'fulamt_ownpay_amt',
        '3300.00',
      );
      const source = http();

      const o = await intake.submit(other, source);

      if (o.status !== 'conflict') throw new Error(`expected a conflict, got ${o.status}`);
      expect(o.existingSetlId).toBe(first.settlement.setlId);
      expect(o.fixmedinsCode).toBe('H51040000002');
      expect(o.problems).toEqual([
        expect.objectContaining({ code: 'CONFLICT', field: 'mdtrt_id' }),
      ]);
      expect(
        await count("settlements WHERE mdtrt_id = $1 AND status = 'settled'", [bill.mdtrtId]),
      ).toBe(1);
      expect(await count('settlements WHERE mdtrt_id = $1', [bill.mdtrtId])).toBe(1);
      expect(await readAccumulators(db, bill.psnNo, 2024)).toEqual(position);
      expect(await inboxOf(source.correlationId ?? '')).toEqual([
        { status: 'conflict', setl_id: null },
      ]);
      const { rows } = await db.query<{ reason_code: string; field: string }>(
        'SELECT reason_code, field FROM rejects WHERE id = $1',
        [o.rejectId],
      );
      expect(rows).toEqual([{ reason_code: 'CONFLICT', field: 'mdtrt_id' }]);
      const events = await outboxOf(source.correlationId ?? '');
      expect(events.map((e) => e.topic)).toEqual([Topics.hisDischargeRejected]);
      expect(JSON.parse(events[0]?.payload ?? '{}')).toMatchObject({
        reject_id: o.rejectId,
        status: 'conflict',
        reason_code: 'CONFLICT',
        field: 'mdtrt_id',
        original_payload: other,
      });
    });
  });

  describe('reversal', () => {
    it("reverses a settlement and gives the person's position back", async () => {
      const bill = freshBill();
      const first = settled(await intake.submit(bill.xml, http()));
      expect(allZero(first.settlement.result.accumulators)).toBe(false);
      const source = http();

      const r = settled(await intake.submit(reversalOf(bill, first.settlement.setlId), source));

      expect(r.status).toBe('reversed');
      expect(r.settlement.setlId).toBe(first.settlement.setlId);
      expect(r.settlement.status).toBe('reversed');
      // the bill was the person's first of the year: nothing of it is left
      const restored = await readAccumulators(db, bill.psnNo, 2024);
      expect(restored?.year).toBe(2024);
      expect(allZero(restored ?? first.settlement.result.accumulators)).toBe(true);
      expect(
        await count('settlements WHERE mdtrt_id = $1 AND status = $2', [bill.mdtrtId, 'settled']),
      ).toBe(0);
      expect(await count('reversals WHERE setl_id = $1', [first.settlement.setlId])).toBe(1);
      expect(await inboxOf(source.correlationId ?? '')).toEqual([
        { status: 'reversed', setl_id: first.settlement.setlId },
      ]);
    });

    it('sends the reversal to the county with the amounts negated and a link to the settled event', async () => {
      const bill = freshBill();
      const first = settled(await intake.submit(bill.xml, http()));
      const source = http();
      await intake.submit(reversalOf(bill), source);

      const events = await outboxOf(source.correlationId ?? '');
      const county = JSON.parse(
        events.find((e) => e.topic === Topics.settlementEvents)?.payload ?? '{}',
      ) as Record<string, unknown>;
      const info = first.settlement.result.setlinfo;
      const neg = (a: string): string => (isZero(a) ? a : `-${a}`);
      expect(county).toMatchObject({
        event_type: 'reversed',
        setl_id: first.settlement.setlId,
        reverses_event_id: first.settlement.eventId,
        medfee_sumamt: neg(info.medfeeSumamt),
        fund_pay_sumamt: neg(info.fundPaySumamt),
        psn_cash_pay: neg(info.psnCashPay),
      });
      expect(county.event_id).not.toBe(first.settlement.eventId);
      expect(events.map((e) => e.topic)).toContain(Topics.hisSettlementResult);
    });

    it('settles the visit afresh after a reversal: new setl_id, the amounts of a first bill', async () => {
      const bill = freshBill();
      const first = settled(await intake.submit(bill.xml, http()));
      settled(await intake.submit(reversalOf(bill, first.settlement.setlId), http()));

      const again = settled(await intake.submit(bill.xml, http()));

      expect(again.status).toBe('settled');
      expect(again.settlement.setlId).not.toBe(first.settlement.setlId);
      expect(again.settlement.eventId).not.toBe(first.settlement.eventId);
      // the position was given back, so the engine sees the first bill of the year again
      expect(again.settlement.result.setlinfo).toEqual(
        engine(decoded(bill.xml), emptyAccumulators(2024)).setlinfo,
      );
      expect(again.settlement.result.setlinfo).toEqual(first.settlement.result.setlinfo);
      expect(await count('settlements WHERE mdtrt_id = $1', [bill.mdtrtId])).toBe(2);
      expect(
        await count("settlements WHERE mdtrt_id = $1 AND status = 'settled'", [bill.mdtrtId]),
      ).toBe(1);
    });

    it('rejects the reversal of a visit that has no settlement in force (NOT_SETTLED)', async () => {
      const bill = freshBill();
      const o = rejected(await intake.submit(reversalOf(bill), http()));
      expect(o.problems).toEqual([
        expect.objectContaining({ code: 'NOT_SETTLED', field: 'mdtrt_id' }),
      ]);
      expect(o.rejectId).not.toBeNull();
    });

    it('answers a reversal sent again with the reversal it already is, and changes nothing', async () => {
      const bill = freshBill();
      const first = settled(await intake.submit(bill.xml, http()));
      const reversed = settled(
        await intake.submit(reversalOf(bill, first.settlement.setlId), http()),
      );
      expect(reversed.status).toBe('reversed');
      const position = await readAccumulators(db, bill.psnNo, 2024);
      const before = await tableCounts();
      // the cashier retries, with and without the setl_id: both are the reversal already applied
      for (const again of [reversalOf(bill, first.settlement.setlId), reversalOf(bill)]) {
        const source = http();
        const o = settled(await intake.submit(again, source));
        expect(o.status).toBe('duplicate');
        expect(o.settlement).toMatchObject({ setlId: first.settlement.setlId, status: 'reversed' });
        expect(await inboxOf(source.correlationId ?? '')).toEqual([
          { status: 'duplicate', setl_id: first.settlement.setlId },
        ]);
        expect(await outboxOf(source.correlationId ?? '')).toEqual([]);
      }
      expect(await readAccumulators(db, bill.psnNo, 2024)).toEqual(position);
      const after = await tableCounts();
      expect({ ...after, inbox: before.inbox }).toEqual(before);
      expect(after.inbox).toBe(before.inbox + 2);
    });

    it('rejects a reversal naming another setl_id and leaves the settlement in force', async () => {
      const bill = freshBill();
      const first = settled(await intake.submit(bill.xml, http()));
      const o = rejected(
        await intake.submit(reversalOf(bill, 'SOTHER0000000000000000000'), http()),
      );
      expect(o.problems).toEqual([
        expect.objectContaining({ code: 'SETL_ID_MISMATCH', field: 'setl_id' }),
      ]);
      expect(
        await count("settlements WHERE setl_id = $1 AND status = 'settled'", [
          first.settlement.setlId,
        ]),
      ).toBe(1);
    });
  });

  describe('rejects', () => {
    interface Case {
      what: string;
      make: () => string;
      code: string;
      field: string | null;
    }
    const cases: Case[] = [
      {
        what: 'truncated XML',
        make: () => freshBill().xml.slice(0, 300),
        code: 'MALFORMED_XML',
        field: null,
      },
      {
        what: 'a discharge without psn_no',
        make: () => withoutTag(freshBill().xml, 'psn_no'),
        code: 'MISSING_FIELD',
        field: 'psn_no',
      },
      {
        what: 'an entity declaration',
        make: () =>
          freshBill().xml.replace(
            '<discharge version="1">',
            '<!DOCTYPE discharge [<!ENTITY x "xxxxxxxx">]>\n<discharge version="1">',
          ),
        code: 'ENTITY_NOT_ALLOWED',
        field: null,
      },
      {
        what: 'a message over MAX_MESSAGE_BYTES',
        make: () =>
          freshBill().xml.replace('</discharge>', `<!-- ${'x'.repeat(65536)} --></discharge>`),
        code: 'TOO_LARGE',
        field: null,
      },
      {
        what: 'a hospital not in the registry',
        make: () => withTag(freshBill().xml, 'fixmedins_code', 'H99999999999'),
        code: 'UNKNOWN_HOSPITAL',
        field: 'fixmedins_code',
      },
      {
        what: "a level other than the registry's",
        make: () => withTag(freshBill().xml, 'hosp_lv', '2'),
        code: 'HOSPITAL_LEVEL_MISMATCH',
        field: 'hosp_lv',
      },
      {
        what: 'amounts that do not add up',
        make: () => withTag(freshBill().xml, 'medfee_sumamt', '48620.36'),
        code: 'AMOUNTS_DO_NOT_ADD_UP',
        field: 'medfee_sumamt',
      },
    ];

    it.each(cases)(
      'rejects $what as $code (field $field), settling nothing',
      async ({ make, code, field }) => {
        const xml = make();
        const source = http();
        const before = await tableCounts();

        const o = rejected(await intake.submit(xml, source));

        expect(o.problems[0]).toMatchObject({ code, field });
        expect(o.rejectId).not.toBeNull();
        // inbox row, reject row and one event to the hospital; nothing else
        expect(await tableCounts()).toEqual({
          ...before,
          inbox: before.inbox + 1,
          rejects: before.rejects + 1,
          outbox: before.outbox + 1,
        });
        expect(await inboxOf(source.correlationId ?? '')).toEqual([
          { status: 'rejected', setl_id: null },
        ]);
        const { rows } = await db.query<{
          reason_code: string;
          field: string | null;
          payload: string;
        }>('SELECT reason_code, field, payload FROM rejects WHERE id = $1', [o.rejectId]);
        expect(rows).toEqual([{ reason_code: code, field, payload: xml }]);
        const events = await outboxOf(source.correlationId ?? '');
        expect(events.map((e) => e.topic)).toEqual([Topics.hisDischargeRejected]);
        expect(JSON.parse(events[0]?.payload ?? '{}')).toMatchObject({
          reject_id: o.rejectId,
          status: 'rejected',
          reason_code: code,
          field,
        });
      },
    );

    it('names the unknown hospital in the outcome and keys its reject event by it', async () => {
      const source = http();
      const o = rejected(
        await intake.submit(withTag(freshBill().xml, 'fixmedins_code', 'H99999999999'), source),
      );
      expect(o.fixmedinsCode).toBe('H99999999999');
      expect(o.problems[0]?.message).toContain('H99999999999');
      expect((await outboxOf(source.correlationId ?? ''))[0]?.key).toBe('H99999999999');
    });

    it('rejects on size alone: the same bytes settle under a larger limit', async () => {
      const bill = freshBill();
      const big = bill.xml.replace('</discharge>', `<!-- ${'x'.repeat(65536)} --></discharge>`);
      expect(Buffer.byteLength(big)).toBeGreaterThan(65536);
      const o = rejected(await intake.submit(big, http()));
      expect(o.problems).toEqual([
        expect.objectContaining({ code: 'TOO_LARGE', rule: 'maxBytes:65536' }),
      ]);

      const roomy = new IntakeService(db, rules, new Logger('error', {}, () => undefined), {
        maxMessageBytes: 1024 * 1024,
        now: () => clock,
      });
      expect(settled(await roomy.submit(big, http())).status).toBe('settled');
    });

    it('answers a Kafka redelivery of a rejected record with the first reject', async () => {
      const xml = withoutTag(freshBill().xml, 'psn_no');
      const source = {
        kind: 'kafka',
        topic: Topics.hisDischarge,
        partition: 4,
        offset: String(5000 + seq),
      } as const;
      const first = rejected(await intake.submit(xml, source));
      const before = await tableCounts();

      const again = rejected(await intake.submit(xml, source));

      expect(again.rejectId).toBe(first.rejectId);
      expect(again.problems).toEqual([
        expect.objectContaining({ code: 'MISSING_FIELD', field: 'psn_no' }),
      ]);
      expect(await tableCounts()).toEqual(before);
    });
  });

  describe("a hospital credential's scope", () => {
    const own = (): string => decoded(INPATIENT).fixmedinsCode;
    const other = 'H00000000000';

    it('reads the institution as the decoder does, not from a comment that names another', () => {
      const bill = freshBill();
      const disguised = bill.xml.replace(
        '<fixmedins_code>',
        `<!-- <fixmedins_code>${other}</fixmedins_code> -->\n<fixmedins_code>`,
      );
      expect(intake.namedHospital(disguised)).toBe(own());
      expect(intake.namedHospital(withTag(REVERSAL, 'fixmedins_code', other))).toBe(other);
      expect(intake.namedHospital(withoutTag(bill.xml, 'psn_no'))).toBeNull();
    });

    it('refuses a bill of another institution with FORBIDDEN_HOSPITAL and settles nothing', async () => {
      const bill = freshBill();
      const before = await count('settlements');
      const o = await intake.submit(bill.xml, { ...http(), hospitalScope: other });
      expect(o.status).toBe('rejected');
      if (o.status !== 'rejected') return;
      expect(o.problems[0]).toMatchObject({ code: 'FORBIDDEN_HOSPITAL', field: 'fixmedins_code' });
      expect(o.fixmedinsCode).toBe(other);
      expect(await count('settlements')).toBe(before);
      // the same bill from its own institution settles
      const mine = await intake.submit(bill.xml, { ...http(), hospitalScope: own() });
      expect(mine.status).toBe('settled');
    });

    it('keeps a message that does not decode under the sender, not under what its text names', async () => {
      const source = { ...http(), hospitalScope: other };
      const o = await intake.submit(withoutTag(freshBill().xml, 'psn_no'), source);
      expect(o.status).toBe('rejected');
      if (o.status !== 'rejected') return;
      const { rows } = await db.query<{ fixmedins_code: string; key: string }>(
        `SELECT r.fixmedins_code, o.key FROM rejects r, outbox o
          WHERE r.id = $1 AND o.headers->>'correlation-id' = $2`,
        [o.rejectId, source.correlationId],
      );
      expect(rows).toEqual([{ fixmedins_code: other, key: other }]);
    });
  });

  describe('admission', () => {
    it('records an admission of a registered hospital', async () => {
      const mdtrtId = `MDT-ADM-${randomUUID().slice(0, 8)}`;
      const o = await intake.submit(withTag(ADMISSION, 'mdtrt_id', mdtrtId), http());
      expect(o).toMatchObject({ status: 'admitted', fixmedinsCode: 'H51040000002', mdtrtId });
      expect(await count('admissions WHERE mdtrt_id = $1', [mdtrtId])).toBe(1);
    });

    it('answers a redelivered Kafka admission with its first answer, the deposit waiver', async () => {
      const mdtrtId = `MDT-ADM-${randomUUID().slice(0, 8)}`;
      const xml = withTag(ADMISSION, 'mdtrt_id', mdtrtId);
      const position: Source = {
        kind: 'kafka',
        topic: Topics.hisAdmission,
        partition: 1,
        offset: String(Date.now()),
        correlationId: randomUUID(),
      };
      const first = await intake.submit(xml, position);
      expect(first.status).toBe('admitted');
      const again = await intake.submit(xml, { ...position, correlationId: randomUUID() });
      expect(again).toEqual({ ...first });
      expect(await count('admissions WHERE mdtrt_id = $1', [mdtrtId])).toBe(1);
    });

    it('rejects an admission at a hospital not in the registry', async () => {
      const xml = withTag(
        withTag(ADMISSION, 'mdtrt_id', `MDT-ADM-${randomUUID().slice(0, 8)}`),
        'fixmedins_code',
        'H99999999999',
      );
      const o = rejected(await intake.submit(xml, http()));
      expect(o.problems[0]).toMatchObject({ code: 'UNKNOWN_HOSPITAL', field: 'fixmedins_code' });
    });
  });

  describe('preview', () => {
    it('computes what a settlement would be and stores nothing', async () => {
      const bill = freshBill();
      const before = await tableCounts();

      const p = await intake.preview(bill.xml);

      expect(p.ok).toBe(true);
      expect(p.problems).toEqual([]);
      expect(p.hospital?.fixmedins_code).toBe('H51040000002');
      expect(p.result?.setlinfo).toEqual(
        engine(decoded(bill.xml), emptyAccumulators(2024)).setlinfo,
      );
      expect(await tableCounts()).toEqual(before);
      expect(await readAccumulators(db, bill.psnNo, 2024)).toBeNull();
      // and the settlement that follows is what the preview said
      const s = settled(await intake.submit(bill.xml, http()));
      expect(s.settlement.result.setlinfo).toEqual(p.result?.setlinfo);
    });

    it("previews on the person's current position", async () => {
      const first = freshBill();
      const a = settled(await intake.submit(first.xml, http()));
      const second = withTag(first.xml, 'mdtrt_id', `${first.mdtrtId}-p`);
      const before = await tableCounts();

      const onFirst = engine(decoded(second), a.settlement.result.accumulators);
      expect(onFirst.setlinfo).not.toEqual(
        engine(decoded(second), emptyAccumulators(2024)).setlinfo,
      );

      const p = await intake.preview(second);

      expect(p.result?.setlinfo).toEqual(onFirst.setlinfo);
      expect(await tableCounts()).toEqual(before);
    });

    it('reports the problems of a bad message and stores nothing either', async () => {
      const before = await tableCounts();
      const missing = await intake.preview(withoutTag(freshBill().xml, 'psn_no'));
      const unknown = await intake.preview(
        withTag(freshBill().xml, 'fixmedins_code', 'H99999999999'),
      );
      expect(missing.ok).toBe(false);
      expect(missing.problems).toEqual([
        expect.objectContaining({ code: 'MISSING_FIELD', field: 'psn_no' }),
      ]);
      expect(unknown.ok).toBe(false);
      expect(unknown.problems).toEqual([
        expect.objectContaining({ code: 'UNKNOWN_HOSPITAL', field: 'fixmedins_code' }),
      ]);
      expect(await tableCounts()).toEqual(before);
    });
  });
});
