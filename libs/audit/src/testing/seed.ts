/**
 * Writes settled bills straight into a ledger the way the gateway settles them (decode, rules in
 * force, the person's accumulators, the engine), many rows per statement: the fixture of the
 * audit specs and the archive of the replay benchmark. Not a production path: the gateway's
 * intake (with its locks, dedupe and outbox) is. Triggers archive every row as in production.
 */
import { randomUUID } from 'node:crypto';
import { type Accumulators, compiled, type CompiledRuleSet, settle } from '@onebill/engine';
import {
  billBodyHash,
  type Db,
  insertSettlementsMany,
  sha256,
  zeroAccumulators,
} from '@onebill/ledger';
import { decodeAcceptedDischarge, decodeDischarge } from '@onebill/messaging';
import type { RuleBook } from '@onebill/rules';

export interface SeedOptions {
  /** rows per transaction */
  pageSize?: number;
  /**
   * the messages come from our own encoder: read them with the accepted-message decoder (as
   * replay does) instead of the full validation — for seeding a million bills
   */
  trusted?: boolean;
  /** settlement time written on every bill ('YYYY-MM-DD HH:mm:ss'); default: the discharge day */
  setlTime?: (dischargeDate: string) => string;
}

export interface Seeded {
  setlId: string;
  mdtrtId: string;
  fixmedinsCode: string;
}

/** Settles `messages` in order. Every message must decode and settle (it is a fixture). */
export async function seedLedger(
  db: Db,
  rules: RuleBook,
  messages: Iterable<string>,
  opts: SeedOptions = {},
): Promise<Seeded[]> {
  const pageSize = opts.pageSize ?? 500;
  const accumulators = new Map<string, Accumulators>();
  const ruleSets = new Map<string, CompiledRuleSet>();
  const out: Seeded[] = [];
  let page: string[] = [];
  const flush = async (): Promise<void> => {
    if (page.length === 0) return;
    const rows = page.map((xml) => {
      const d = opts.trusted === true ? decodeAcceptedDischarge(xml) : decodeDischarge(xml);
      if (!d.ok) throw new Error(`seed message does not decode: ${JSON.stringify(d.errors)}`);
      const bill = d.bill;
      const hospital = rules.hospital(bill.fixmedinsCode);
      if (hospital === undefined) throw new Error(`unknown hospital ${bill.fixmedinsCode}`);
      const rk = `${hospital.region}|${bill.dischargeDate}`;
      let ruleSet = ruleSets.get(rk);
      if (ruleSet === undefined) {
        ruleSet = compiled(rules.resolve(hospital.region, bill.dischargeDate));
        ruleSets.set(rk, ruleSet);
      }
      const year = Number.parseInt(bill.dischargeDate.slice(0, 4), 10);
      const key = `${bill.psnNo}|${year}`;
      const before = accumulators.get(key) ?? zeroAccumulators(year);
      const result = settle({ bill, accumulators: before, ruleSet });
      accumulators.set(key, result.accumulators);
      return { xml, bill, before, result, admdvs: hospital.admdvs };
    });
    await db.transaction(async (tx) => {
      const inboxParams: unknown[] = [];
      const inboxValues = rows.map((r) => {
        inboxParams.push(r.xml, sha256(r.xml), r.bill.fixmedinsCode);
        const n = inboxParams.length;
        return `('http', $${n - 2}, $${n - 1}, 'settled', $${n})`;
      });
      const { rows: ids } = await tx.query<{ id: string }>(
        `INSERT INTO inbox (source, payload, payload_sha256, status, fixmedins_code)
         VALUES ${inboxValues.join(', ')} RETURNING id::text AS id`,
        inboxParams,
      );
      await insertSettlementsMany(
        tx,
        rows.map((r, i) => {
          const setlId = `S${randomUUID().replace(/-/g, '').slice(0, 24).toUpperCase()}`;
          out.push({ setlId, mdtrtId: r.bill.mdtrtId, fixmedinsCode: r.bill.fixmedinsCode });
          return {
            setlId,
            bill: r.bill,
            bodyHash: billBodyHash(r.bill),
            clrOptins: r.admdvs,
            inboxId: ids[i]!.id,
            setlTime: opts.setlTime?.(r.bill.dischargeDate) ?? `${r.bill.dischargeDate} 12:00:00`,
            eventId: randomUUID(),
            accumulatorsBefore: r.before,
            result: r.result,
          };
        }),
      );
    });
    page = [];
  };
  for (const m of messages) {
    page.push(m);
    if (page.length >= pageSize) await flush();
  }
  await flush();
  // the people's positions, as the gateway leaves them
  const entries = [...accumulators.entries()];
  for (let i = 0; i < entries.length; i += 1000) {
    const chunk = entries.slice(i, i + 1000);
    const params: unknown[] = [];
    const values = chunk.map(([key, data]) => {
      const [psn, year] = key.split('|');
      params.push(psn, Number.parseInt(year ?? '', 10), JSON.stringify(data));
      const n = params.length;
      return `($${n - 2}, $${n - 1}, $${n}::jsonb)`;
    });
    await db.query(
      `INSERT INTO accumulators (psn_no, year, data) VALUES ${values.join(', ')}
       ON CONFLICT (psn_no, year) DO UPDATE SET data = EXCLUDED.data`,
      params,
    );
  }
  return out;
}
