/**
 * The simulator's message stream: discharge XML from the bill generator, with duplicates and
 * malformed messages mixed in at given ratios. Deterministic for a seed. No I/O here: main.ts
 * publishes the stream to Kafka or posts it over HTTP.
 */
import type { Bill } from '@onebill/engine';
import { encodeDischargeXml } from '@onebill/messaging/xml';
import { BillGenerator, type HospitalRef, rng } from './generate';

export type FeedKind = 'bill' | 'duplicate' | 'malformed';

export interface FeedMessage {
  kind: FeedKind;
  /** what is wrong, for malformed messages */
  defect?: string;
  /** Kafka key: the hospital */
  key: string;
  xml: string;
  bill?: Bill;
}

export interface FeedOptions {
  seed: number;
  year: number;
  hospitals: HospitalRef[];
  persons: number;
  /** share of messages that repeat an earlier message byte for byte (0..1) */
  duplicates: number;
  /** share of messages that are malformed (0..1) */
  malformed: number;
}

const SURNAMES = ['张', '王', '李', '赵', '刘', '陈', '杨', '黄', '周', '吴'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '艳', '勇'];

export class Feed {
  private readonly gen: BillGenerator;
  private readonly next: () => number;
  private readonly sent: FeedMessage[] = [];

  constructor(private readonly opts: FeedOptions) {
    this.gen = new BillGenerator({
      seed: opts.seed,
      year: opts.year,
      hospitals: opts.hospitals,
      persons: opts.persons,
    });
    this.next = rng(opts.seed ^ 0x5eed);
  }

  private person(bill: Bill): { name: string; certno: string } {
    // derived from psn_no so a person keeps one name and ID number across bills
    let h = 0;
    for (const ch of bill.psnNo) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
    const name = `${SURNAMES[h % SURNAMES.length] ?? '张'}${GIVEN[(h >>> 4) % GIVEN.length] ?? '伟'}`;
    const region = bill.fixmedinsCode.slice(1, 7);
    const birth = `19${String(40 + (h % 60)).padStart(2, '0')}0${1 + (h % 9)}1${h % 10}`;
    const certno = `${region}${birth}${String(h % 1000).padStart(3, '0')}${h % 10}`;
    return { name, certno };
  }

  message(): FeedMessage {
    const roll = this.next();
    if (roll < this.opts.duplicates && this.sent.length > 0) {
      const earlier = this.sent[Math.floor(this.next() * this.sent.length)] as FeedMessage;
      return { ...earlier, kind: 'duplicate' };
    }
    const bill = this.gen.bill();
    const xml = encodeDischargeXml(bill, this.person(bill));
    if (roll < this.opts.duplicates + this.opts.malformed) {
      return { kind: 'malformed', ...this.corrupt(bill, xml), key: bill.fixmedinsCode };
    }
    const m: FeedMessage = { kind: 'bill', key: bill.fixmedinsCode, xml, bill };
    if (this.sent.length < 10_000) this.sent.push(m);
    return m;
  }

  private corrupt(bill: Bill, xml: string): { defect: string; xml: string } {
    const defects: Array<() => { defect: string; xml: string }> = [
      () => ({ defect: 'truncated XML', xml: xml.slice(0, Math.floor(xml.length / 2)) }),
      () => ({
        defect: 'amounts do not add up',
        xml: xml.replace(
          `<medfee_sumamt>${bill.medfeeSumamt}</medfee_sumamt>`,
          `<medfee_sumamt>${bill.medfeeSumamt.replace(/\d(?=\.)/, (d) => String((Number.parseInt(d, 10) + 1) % 10))}</medfee_sumamt>`,
        ),
      }),
      () => ({
        defect: 'entity expansion (billion laughs)',
        xml: `<?xml version="1.0"?><!DOCTYPE discharge [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><discharge version="1"><psn_no>&c;</psn_no></discharge>`,
      }),
      () => ({ defect: 'missing psn_no', xml: xml.replace(/<psn_no>[^<]*<\/psn_no>/, '') }),
      () => ({
        defect: 'three-decimal amount',
        xml: xml.replace(
          /<inscp_scp_amt>([^<]*)<\/inscp_scp_amt>/,
          (_m, amount: string) => `<inscp_scp_amt>${amount}1</inscp_scp_amt>`,
        ),
      }),
      () => ({
        defect: 'oversized',
        xml: xml.replace('</discharge>', `<!--${'x'.repeat(70_000)}--></discharge>`),
      }),
    ];
    const pick = defects[Math.floor(this.next() * defects.length)] as () => {
      defect: string;
      xml: string;
    };
    return pick();
  }
}
