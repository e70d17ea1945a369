import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import fc from 'fast-check';
import { validateXML } from 'xmllint-wasm';
import type { Bill } from '@onebill/engine/types';
import { decodeAdmission, decodeDischarge, decodeReversal } from './decode';
import { encodeDischargeXml, encodeSettlementResultXml } from './encode';
import { SAMPLE_ENVELOPE, SAMPLE_RESULT } from './fixtures';

const CONTRACTS = join(__dirname, '../../../../contracts');
const read = (p: string): string => readFileSync(join(CONTRACTS, p), 'utf8');

async function xsdErrors(xml: string, xsdPath: string): Promise<string[]> {
  const r = await validateXML({
    xml: [{ fileName: 'msg.xml', contents: xml }],
    schema: [{ fileName: 'schema.xsd', contents: read(xsdPath) }],
  });
  return r.errors.map((e) => e.rawMessage);
}

const examples = readdirSync(join(CONTRACTS, 'discharge/examples')).filter((f) =>
  f.endsWith('.xml'),
);
const xsdFor = (f: string): string =>
  `discharge/${f.startsWith('reversal') ? 'reversal' : f.startsWith('admission') ? 'admission' : 'discharge'}.v1.xsd`;

const BASE = read('discharge/examples/discharge-panzhihua-21-dibao.xml');
const codes = (x: string, opts?: { maxBytes?: number }): Array<[string, string | null]> => {
  const r = decodeDischarge(x, opts);
  return r.ok ? [] : r.errors.map((e) => [e.code, e.field]);
};
const setField = (xml: string, f: string, v: string): string =>
  xml.replace(new RegExp(`<${f}>[^<]*</${f}>`), `<${f}>${v}</${f}>`);

describe('contract examples', () => {
  it('has examples for both regions and every visit type', () => {
    for (const r of ['panzhihua', 'baoshan'])
      for (const m of ['11', '13', '14', '21'])
        expect(examples.some((f) => f.startsWith(`discharge-${r}-${m}-`))).toBe(true);
  });
  it.each(examples)('%s validates against its XSD and decodes', async (f) => {
    const xml = read(`discharge/examples/${f}`);
    expect(await xsdErrors(xml, xsdFor(f))).toEqual([]);
    const r = f.startsWith('reversal')
      ? decodeReversal(xml)
      : f.startsWith('admission')
        ? decodeAdmission(xml)
        : decodeDischarge(xml);
    expect(r.ok ? [] : r.errors).toEqual([]);
  });
  it('settlement-result example validates and equals the encoder output', async () => {
    const xml = read('settlement-result/examples/settlement-result-panzhihua-21-dibao.xml');
    expect(await xsdErrors(xml, 'settlement-result/settlement-result.v1.xsd')).toEqual([]);
    expect(encodeSettlementResultXml(SAMPLE_RESULT, SAMPLE_ENVELOPE)).toBe(xml);
  });
  it('settlement-result with no details and no warnings validates', async () => {
    const xml = encodeSettlementResultXml(
      { ...SAMPLE_RESULT, setldetail: [], warnings: [], categoryUsed: null },
      SAMPLE_ENVELOPE,
    );
    expect(await xsdErrors(xml, 'settlement-result/settlement-result.v1.xsd')).toEqual([]);
  });
});

describe('decodeDischarge', () => {
  it('maps to a Bill', () => {
    const r = decodeDischarge(Buffer.from(BASE));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.bill).toMatchObject({
      fixmedinsCode: 'H51040000002',
      medType: '21',
      admissionDate: '2024-03-05',
      dischargeDate: '2024-03-15',
      referred: true,
      identities: ['dibao', 'monitored'],
      medfeeSumamt: '48620.35',
    });
    expect(r.person.name).toBe('患者4');
  });
  it('rejects oversized before parsing', () => {
    expect(codes(BASE, { maxBytes: 100 })).toEqual([['TOO_LARGE', null]]);
    expect(codes(BASE + ' '.repeat(70 * 1024))).toEqual([['TOO_LARGE', null]]);
  });
  it('rejects malformed XML', () => {
    expect(codes(BASE.replace('</discharge>', ''))).toEqual([['MALFORMED_XML', null]]);
  });
  it('rejects a billion-laughs DOCTYPE', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><discharge version="1"><psn_name>&lol2;</psn_name></discharge>`;
    expect(codes(bomb)).toEqual([['ENTITY_NOT_ALLOWED', null]]);
  });
  it('rejects the wrong root', () => {
    expect(codes(BASE.replace(/discharge/g, 'admission'))).toEqual([['WRONG_ROOT', null]]);
  });
  it('names a missing field', () => {
    expect(codes(BASE.replace(/<psn_no>[^<]*<\/psn_no>/, ''))).toEqual([
      ['MISSING_FIELD', 'psn_no'],
    ]);
  });
  it.each(['12.345', '-1.00', '1e3', '0x10', ' ', 'abc'])('rejects amount %p', (v) => {
    expect(codes(setField(BASE, 'overlmt_selfpay', v))).toContainEqual([
      v.trim() === '' ? 'MISSING_FIELD' : 'INVALID_FIELD',
      'overlmt_selfpay',
    ]);
  });
  it('rejects amounts that do not add up', () => {
    expect(codes(setField(BASE, 'medfee_sumamt', '48620.36'))).toEqual([
      ['AMOUNTS_DO_NOT_ADD_UP', 'medfee_sumamt'],
    ]);
  });
  it('rejects unknown med_type and insutype', () => {
    expect(codes(setField(setField(BASE, 'med_type', '99'), 'insutype', '320'))).toEqual([
      ['INVALID_FIELD', 'insutype'],
      ['INVALID_FIELD', 'med_type'],
    ]);
  });
  it('rejects discharge before admission', () => {
    expect(codes(setField(BASE, 'endtime', '2024-03-01 00:00:00'))).toEqual([
      ['DISCHARGE_BEFORE_ADMISSION', 'endtime'],
    ]);
  });
  it('rejects unknown identities and unknown elements', () => {
    expect(
      codes(BASE.replace('<identity>dibao</identity>', '<identity>vip</identity><x>1</x>')),
    ).toEqual(expect.arrayContaining([['INVALID_FIELD', 'identities']]));
    expect(codes(BASE.replace('</discharge>', '<extra>1</extra></discharge>'))).toEqual([
      ['UNKNOWN_FIELD', 'extra'],
    ]);
  });
  it('keeps leading-zero amounts exact and normalises to two places', () => {
    const x = setField(
      setField(setField(BASE, 'fulamt_ownpay_amt', '0012.5'), 'medfee_sumamt', '45432.85'),
      'inscp_scp_amt',
      '0042000',
    );
    const r = decodeDischarge(x);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.bill.fulamtOwnpayAmt).toBe('12.50');
    expect(r.bill.inscpScpAmt).toBe('42000.00');
  });
});

describe('round trip', () => {
  const cents = fc.bigInt({ min: 0n, max: 99_999_999n });
  const money = (c: bigint): string => `${c / 100n}.${(c % 100n).toString().padStart(2, '0')}`;
  const date = fc
    .date({
      min: new Date('2024-01-01T00:00:00Z'),
      max: new Date('2024-12-31T00:00:00Z'),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString().slice(0, 10));
  const bill: fc.Arbitrary<Bill> = fc
    .record({
      fixmedinsCode: fc.constantFrom('H51040000001', 'H53050000002'),
      mdtrtId: fc.stringMatching(/^[A-Z0-9]{1,30}$/),
      psnNo: fc.stringMatching(/^[0-9]{6,20}$/),
      insutype: fc.constantFrom('390' as const, '310' as const),
      medType: fc.constantFrom('11', '13', '14', '21'),
      hospitalLevel: fc.constantFrom('1' as const, '2' as const, '3' as const),
      d1: date,
      d2: date,
      referred: fc.boolean(),
      inProvince: fc.boolean(),
      followUp: fc.boolean(),
      commercialEnrolled: fc.boolean(),
      identities: fc.uniqueArray(
        fc.constantFrom('tekun', 'guer', 'dibao', 'dibao_edge', 'monitored', 'relapse_poor'),
        {
          maxLength: 3,
        },
      ),
      parts: fc.tuple(cents, cents, cents, cents),
    })
    .map(({ d1, d2, parts, ...b }) => ({
      ...b,
      admissionDate: d1 < d2 ? d1 : d2,
      dischargeDate: d1 < d2 ? d2 : d1,
      medfeeSumamt: money(parts.reduce((a, c) => a + c, 0n)),
      fulamtOwnpayAmt: money(parts[0]),
      overlmtSelfpay: money(parts[1]),
      preselfpayAmt: money(parts[2]),
      inscpScpAmt: money(parts[3]),
    }));
  it('decode(encode(bill)) = bill', () => {
    fc.assert(
      fc.property(
        bill,
        fc.option(fc.constantFrom('张三', 'A&B <C>'), { nil: undefined }),
        (b, name) => {
          const r = decodeDischarge(
            encodeDischargeXml(b, name === undefined ? undefined : { name }),
          );
          if (!r.ok) throw new Error(JSON.stringify(r.errors));
          expect(r.bill).toEqual(b);
          expect(r.person.name).toBe(name);
        },
      ),
      { numRuns: 200 },
    );
  });
  it('encoded discharges validate against the XSD', async () => {
    const samples = fc.sample(bill, 10);
    for (const b of samples)
      expect(await xsdErrors(encodeDischargeXml(b), 'discharge/discharge.v1.xsd')).toEqual([]);
  });
});
