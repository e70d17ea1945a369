/**
 * Property (issue 15): any interleaving of bills, reversals, resubmissions and identity changes,
 * with redeliveries, for one person ends with the same accumulators and the same net county
 * payments (the sum of the person's settlement.events.v1 per fund) as settling the bills still in
 * force once, in settlement order, under the identities in force on their discharge dates.
 *
 * Against the real PostgreSQL of the integration run, through IntakeService and IdentityService.
 * The bills are Panzhihua ordinary outpatient visits small enough that no annual cap binds (the
 * basic cap 400.00 at 60 % is reached only above 666.66 of in-scope cost in a year): where a cap
 * binds, a reversal leaves later bills as they were paid (docs/adr/0009 decision 4a).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  type Accumulators,
  type FundKind,
  compiled,
  emptyAccumulators,
  settle,
} from '@onebill/engine';
import { type PgDb, categoriesInForce, migrate, type IdentityPeriod } from '@onebill/ledger';
import { createSchema, dropSchemaAndClose, openInSchema } from '@onebill/ledger/testing/postgres';
import { decodeDischarge } from '@onebill/messaging/xml';
import { RuleBook, projectRoot } from '@onebill/rules';
import { IdentityService } from './identity.service';
import { IntakeService, type Source } from './intake.service';
import { Logger } from './log';

const OUTPATIENT = readFileSync(
  join(projectRoot(), 'contracts/discharge/examples/discharge-panzhihua-11-none.xml'),
  'utf8',
);
const HOSPITAL = 'H51040000006';
const FUNDS: FundKind[] = ['basic', 'critical', 'commercial', 'assistance', 'tilted'];

function tag(xml: string, name: string, value: string): string {
  return xml.replace(new RegExp(`<${name}>[^<]*</${name}>`), `<${name}>${value}</${name}>`);
}
const yuan = (n: number): string => `${n}.00`;

function dischargeXml(psn: string, mdtrtId: string, day: string, inscp: number, own: number) {
  let x = OUTPATIENT;
  x = tag(x, 'fixmedins_code', HOSPITAL);
  x = tag(x, 'mdtrt_id', mdtrtId);
  x = tag(x, 'psn_no', psn);
  x = tag(x, 'cmi_flag', '0');
  x = tag(x, 'begntime', `${day} 08:30:00`);
  x = tag(x, 'endtime', `${day} 11:45:00`);
  x = tag(x, 'medfee_sumamt', yuan(inscp + own));
  x = tag(x, 'fulamt_ownpay_amt', yuan(own));
  x = tag(x, 'overlmt_selfpay', '0.00');
  x = tag(x, 'preselfpay_amt', '0.00');
  x = tag(x, 'inscp_scp_amt', yuan(inscp));
  return x;
}
const reversalXml = (mdtrtId: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?><reversal version="1"><fixmedins_code>${HOSPITAL}` +
  `</fixmedins_code><mdtrt_id>${mdtrtId}</mdtrt_id><reason>费用录入错误</reason></reversal>`;

type Op =
  | { kind: 'bill'; day: string; inscp: number; own: number }
  | { kind: 'reverse'; visit: number }
  | { kind: 'resubmit'; visit: number; inscp: number; own: number }
  | { kind: 'identity'; category: 'dibao' | 'tekun'; from: string }
  | { kind: 'redeliver'; message: number };

const day = fc
  .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }))
  .map(([m, d]) => `2024-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);
// multiples of 10.00 keep every ratio exact to the fen, so no rounding hides in a comparison
const inscp = fc.integer({ min: 1, max: 11 }).map((n) => n * 10);
const own = fc.integer({ min: 0, max: 5 }).map((n) => n * 10);
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('bill' as const), day, inscp, own }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('reverse' as const), visit: fc.nat(3) }), weight: 3 },
  {
    arbitrary: fc.record({ kind: fc.constant('resubmit' as const), visit: fc.nat(3), inscp, own }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('identity' as const),
      category: fc.constantFrom('dibao' as const, 'tekun' as const),
      // mostly early in the year, so that most bills are in the window
      from: fc.oneof(
        { arbitrary: fc.constant('2024-01-01'), weight: 2 },
        { arbitrary: day, weight: 1 },
      ),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('redeliver' as const), message: fc.nat(30) }),
    weight: 2,
  },
);

/** Accumulators compared by value: a zero entry of a map is the same as none. */
function normal(a: Accumulators): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) {
    if (v !== null && typeof v === 'object') {
      out[k] = Object.fromEntries(
        Object.entries(v as Record<string, string>).filter(([, x]) => x !== '0.00'),
      );
    } else out[k] = v;
  }
  return out;
}

const fen = (a: string): bigint => {
  const neg = a.startsWith('-');
  const [i, f = '00'] = (neg ? a.slice(1) : a).split('.');
  const v = BigInt(i!) * 100n + BigInt(f.padEnd(2, '0'));
  return neg ? -v : v;
};

describe('top-ups, reversals and identity changes in any order (PostgreSQL, property)', () => {
  const schema = `topups_it_${randomBytes(5).toString('hex')}`;
  const rules = RuleBook.load();
  const log = new Logger('error', {}, () => undefined);
  let db: PgDb;
  let intake: IntakeService;
  let identities: IdentityService;
  let offset = 0;

  beforeAll(async () => {
    await createSchema(schema);
    db = openInSchema(schema, 3);
    await migrate(db);
    intake = new IntakeService(db, rules, log, { maxMessageBytes: 65536 });
    identities = new IdentityService(db, rules, log);
  });

  afterAll(() => dropSchemaAndClose(db, schema));

  it('ends where settling the surviving bills once, in order, under the identities in force ends', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        const psn = `P-PROP-${randomUUID().slice(0, 12)}`;
        /** per visit: the body in force, or null once reversed */
        const visits: { mdtrtId: string; current: string | null }[] = [];
        const sent: { raw: string; source: Source; identity: boolean }[] = [];
        const periods: IdentityPeriod[] = [];
        /** the bills in force in settlement order (a resubmission goes to the end) */
        let order: string[] = [];
        let settlements = 0;
        const kafka = (topic: string): Source => ({
          kind: 'kafka',
          topic,
          partition: 0,
          offset: String(++offset),
        });
        const discharge = async (v: number, xml: string): Promise<void> => {
          const source = kafka('his.discharge.v1');
          sent.push({ raw: xml, source, identity: false });
          const o = await intake.submit(xml, source);
          expect(o.status).toBe('settled');
          visits[v]!.current = xml;
          order.push(visits[v]!.mdtrtId);
          settlements += 1;
        };
        for (const o of ops) {
          switch (o.kind) {
            case 'bill': {
              // no cap may bind: at most six settlements of at most 110.00 in scope each
              if (settlements >= 6) break;
              const mdtrtId = `MDT-P-${randomUUID().slice(0, 12)}`;
              visits.push({ mdtrtId, current: null });
              await discharge(visits.length - 1, dischargeXml(psn, mdtrtId, o.day, o.inscp, o.own));
              break;
            }
            case 'reverse': {
              const v = visits[o.visit];
              if (v === undefined) break;
              const raw = reversalXml(v.mdtrtId);
              const source = kafka('his.discharge.v1');
              sent.push({ raw, source, identity: false });
              const out = await intake.submit(raw, source);
              expect(out.status).toBe(v.current === null ? 'duplicate' : 'reversed');
              if (v.current !== null) order = order.filter((m) => m !== v.mdtrtId);
              v.current = null;
              break;
            }
            case 'resubmit': {
              const v = visits[o.visit];
              if (v === undefined || v.current !== null || settlements >= 6) break;
              const d = /<endtime>(\d{4}-\d{2}-\d{2})/.exec(
                sent.find((s) => s.raw.includes(v.mdtrtId))!.raw,
              )![1]!;
              await discharge(o.visit, dischargeXml(psn, v.mdtrtId, d, o.inscp, o.own));
              break;
            }
            case 'identity': {
              const raw = JSON.stringify({
                issuer: 'civil-affairs',
                reference: randomUUID(),
                psn_no: psn,
                admdvs: '510402',
                category: o.category,
                valid_from: o.from,
                valid_to: null,
              });
              const source = kafka('identity.changes.v1');
              sent.push({ raw, source, identity: true });
              const out = await identities.process(raw, source);
              expect(out.status).toBe('recorded');
              periods.push({
                category: o.category,
                validFrom: o.from,
                validTo: null,
                admdvs: '510402',
              });
              break;
            }
            case 'redeliver': {
              const m = sent[o.message % Math.max(sent.length, 1)];
              if (m === undefined) break;
              // the same Kafka record again (a rebalance): it was processed, nothing changes
              const out = m.identity
                ? await identities.process(m.raw, m.source)
                : await intake.submit(m.raw, m.source);
              expect(['duplicate', 'rejected']).toContain(out.status);
              break;
            }
          }
        }

        // the model: the surviving bills once, in order, under the identities in force
        let acc = emptyAccumulators(2024);
        const paid: Record<FundKind, bigint> = {
          basic: 0n,
          critical: 0n,
          commercial: 0n,
          assistance: 0n,
          tilted: 0n,
        };
        for (const mdtrtId of order) {
          const xml = visits.find((v) => v.mdtrtId === mdtrtId)!.current!;
          const decoded = decodeDischarge(xml, { maxBytes: 65536 });
          if (!decoded.ok) throw new Error('test bill does not decode');
          const bill = decoded.bill;
          const r = settle({
            bill: { ...bill, identities: categoriesInForce(periods, bill.dischargeDate) },
            accumulators: acc,
            ruleSet: compiled(rules.resolve('panzhihua', bill.dischargeDate)),
          });
          for (const d of r.setldetail) paid[d.fund] += fen(d.fundPayamt);
          acc = r.accumulators;
        }

        const { rows } = await db.query<{ data: Accumulators }>(
          `SELECT data FROM accumulators WHERE psn_no = $1 AND year = 2024`,
          [psn],
        );
        if (settlements === 0) return;
        expect(normal(rows[0]!.data)).toEqual(normal(acc));

        const events = await db.query<{ payload: string }>(
          `SELECT payload FROM outbox WHERE topic = 'settlement.events.v1' AND payload LIKE $1`,
          [`%"psn_no":"${psn}"%`],
        );
        const net: Record<FundKind, bigint> = {
          basic: 0n,
          critical: 0n,
          commercial: 0n,
          assistance: 0n,
          tilted: 0n,
        };
        for (const e of events.rows) {
          const ev = JSON.parse(e.payload) as { funds: { fund: FundKind; amount: string }[] };
          for (const f of ev.funds) net[f.fund] += fen(f.amount);
        }
        for (const f of FUNDS) expect(`${f} ${net[f]}`).toBe(`${f} ${paid[f]}`);
      }),
      { numRuns: 25 },
    );
  });
});
