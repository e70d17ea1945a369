import { readFileSync } from 'fs';
import { join } from 'path';
import { decodeAdmission, decodeDischarge, LIMITS } from './decode';
import { decodeXmlMessage } from '../canonical/inbound';

/** The institution the one decoder reads in a message, decoded or not (the reject's hospital). */
function namedInstitution(text: string): string | null {
  const d = decodeXmlMessage(text);
  return d.ok ? d.message.hospital : d.hospital;
}
import { isCalendarDate } from './dto';
import { messageText } from './text';

const BASE = readFileSync(
  join(__dirname, '../../../../contracts/discharge/examples/discharge-panzhihua-21-dibao.xml'),
  'utf8',
);
const setField = (xml: string, f: string, v: string): string =>
  xml.replace(new RegExp(`<${f}>[^<]*</${f}>`), `<${f}>${v}</${f}>`);
const errorsOf = (x: string | Buffer): Array<[string, string | null]> => {
  const r = decodeDischarge(x);
  return r.ok ? [] : r.errors.map((e) => [e.code, e.field]);
};

describe('calendar dates', () => {
  it.each([
    ['2024-02-29', true], // a leap year
    ['2024-02-30', false],
    ['2023-02-28', true],
    ['2023-02-29', false], // not a leap year
    ['2000-02-29', true], // divisible by 400
    ['1900-02-29', false], // divisible by 100, not by 400
    ['2024-04-30', true],
    ['2024-04-31', false],
    ['2024-12-31 23:59:59', true],
  ])('isCalendarDate(%p) = %p', (d, ok) => {
    expect(isCalendarDate(d)).toBe(ok);
  });

  it('settles a bill admitted on 29 February of a leap year', () => {
    expect(errorsOf(setField(BASE, 'begntime', '2024-02-29 09:00:00'))).toEqual([]);
  });

  it('refuses 30 February, naming the field', () => {
    expect(errorsOf(setField(BASE, 'begntime', '2024-02-30 09:00:00'))).toEqual([
      ['INVALID_DATE', 'begntime'],
    ]);
  });

  it('refuses 29 February of a common year in the discharge time', () => {
    const xml = setField(
      setField(BASE, 'begntime', '2023-02-20 09:00:00'),
      'endtime',
      '2023-02-29 10:00:00',
    );
    expect(errorsOf(xml)).toEqual([['INVALID_DATE', 'endtime']]);
    expect(errorsOf(setField(xml, 'endtime', '2023-02-28 10:00:00'))).toEqual([]);
  });

  it('refuses an impossible admission date in an admission message too', () => {
    const admission =
      '<admission version="1"><fixmedins_code>H1</fixmedins_code><mdtrt_id>M1</mdtrt_id>' +
      '<psn_no>P1</psn_no><insutype>390</insutype><med_type>21</med_type><hosp_lv>3</hosp_lv>' +
      '<begntime>2023-02-29 09:00:00</begntime><refl_flag>0</refl_flag>' +
      '<in_prov_flag>1</in_prov_flag></admission>';
    const r = decodeAdmission(admission);
    expect(r.ok ? [] : r.errors.map((e) => [e.code, e.field])).toEqual([
      ['INVALID_DATE', 'begntime'],
    ]);
  });
});

describe('control characters and bidirectional overrides', () => {
  it.each([
    ['NUL', '\u0000'],
    ['SOH', '\u0001'],
    ['VT', '\u000B'],
    ['US', '\u001F'],
    ['DEL', '\u007F'],
    ['NEL (C1)', '\u0085'],
    ['APC (C1)', '\u009F'],
    ['LRE', '\u202A'],
    ['RLO', '\u202E'],
    ['LRI', '\u2066'],
    ['PDI', '\u2069'],
  ])('refuses %s in the name, naming the field', (_n, c) => {
    expect(errorsOf(setField(BASE, 'psn_name', `张${c}三`))).toEqual([
      ['INVALID_CHARACTER', 'psn_name'],
    ]);
  });

  it.each([
    ['tab', '\t'],
    ['line feed', '\n'],
    ['carriage return', '\r'],
    ['U+2029 next to the overrides', '\u2029'],
    ['U+2065 between the two ranges', '\u2065'],
    ['U+00A0 just after the C1 range', '\u00A0'],
  ])('accepts %s', (_n, c) => {
    expect(errorsOf(setField(BASE, 'psn_name', `张${c}三`))).toEqual([]);
  });

  it('names the identity and the attribute that hold one', () => {
    expect(
      errorsOf(BASE.replace('<identity>dibao</identity>', '<identity>di\u202Ebao</identity>')),
    ).toEqual([['INVALID_CHARACTER', 'identities.identity[0]']]);
    expect(errorsOf(BASE.replace('version="1"', 'version="1\u0001"'))).toEqual([
      ['INVALID_CHARACTER', 'version'],
    ]);
  });

  it('refuses one outside any field (a comment) without naming a field', () => {
    expect(errorsOf(BASE.replace('<psn_no>', '<!-- \u202E --><psn_no>'))).toEqual([
      ['INVALID_CHARACTER', null],
    ]);
  });
});

describe('structural limits', () => {
  /** a discharge whose first unknown element opens `depth` elements in all, the root included */
  const nested = (depth: number): string =>
    BASE.replace('<psn_no>', `${'<x>'.repeat(depth - 1)}y${'</x>'.repeat(depth - 1)}<psn_no>`);

  it(`reads ${LIMITS.maxDepth} levels and refuses ${LIMITS.maxDepth + 1} as DEPTH_EXCEEDED`, () => {
    expect(errorsOf(nested(LIMITS.maxDepth))).toEqual([['UNKNOWN_FIELD', 'x']]);
    expect(errorsOf(nested(LIMITS.maxDepth + 1))).toEqual([['DEPTH_EXCEEDED', null]]);
  });

  it('refuses 100,000 levels cleanly, without a stack overflow', () => {
    const deep = `<discharge version="1">${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}</discharge>`;
    const r = decodeDischarge(deep, { maxBytes: 2_000_000 });
    expect(r.ok ? [] : r.errors.map((e) => e.code)).toEqual(['DEPTH_EXCEEDED']);
  });

  it(`reads ${LIMITS.maxElements} elements and refuses one more as TOO_MANY_ELEMENTS`, () => {
    // the example has 23 elements; pad with unknown ones up to the limit and one over
    const base = (BASE.match(/<[a-z_]+[ >]/g) ?? []).length;
    const padded = (n: number): string =>
      BASE.replace('<psn_no>', `${'<z/>'.repeat(n - base)}<psn_no>`);
    expect(errorsOf(padded(LIMITS.maxElements))).toEqual([['UNKNOWN_FIELD', 'z']]);
    expect(errorsOf(padded(LIMITS.maxElements + 1))).toEqual([['TOO_MANY_ELEMENTS', null]]);
  });

  it(`reads ${LIMITS.maxAttributes} attributes on an element and refuses one more`, () => {
    const attrs = (n: number): string =>
      BASE.replace(
        '<psn_no>',
        `<psn_no ${Array.from({ length: n }, (_, i) => `a${i}="1"`).join(' ')}>`,
      );
    expect(errorsOf(attrs(LIMITS.maxAttributes)).map(([c]) => c)).not.toContain(
      'TOO_MANY_ATTRIBUTES',
    );
    expect(errorsOf(attrs(LIMITS.maxAttributes + 1))).toEqual([['TOO_MANY_ATTRIBUTES', 'psn_no']]);
  });
});

describe('bytes to text (messageText), the same for Kafka and HTTP', () => {
  const ZHANG_SAN_GBK = Buffer.from('d5c5c8fd', 'hex'); // 张三 in GBK
  const withName = (declaration: string, name: Buffer): Buffer => {
    const xml = setField(BASE, 'psn_name', '\u0001').replace(
      '<?xml version="1.0" encoding="UTF-8"?>',
      declaration,
    );
    const [head, tail] = xml.split('\u0001') as [string, string];
    return Buffer.concat([Buffer.from(head, 'utf8'), name, Buffer.from(tail, 'utf8')]);
  };

  it('decodes a GBK-declared message as GBK', () => {
    const r = decodeDischarge(withName('<?xml version="1.0" encoding="GBK"?>', ZHANG_SAN_GBK));
    expect(r.ok && r.person.name).toBe('张三');
    const t = messageText(withName("<?xml version='1.0' encoding='gb18030'?>", ZHANG_SAN_GBK));
    expect(t.ok && t.encoding).toBe('gb18030');
  });

  it('refuses GBK bytes in a message that declares nothing (UTF-8)', () => {
    const t = messageText(withName('<?xml version="1.0"?>', ZHANG_SAN_GBK));
    expect(t.ok ? null : t.error.code).toBe('INVALID_ENCODING');
  });

  it('refuses bytes that are not GBK in a GBK-declared message', () => {
    const t = messageText(
      withName('<?xml version="1.0" encoding="GBK"?>', Buffer.from([0x81, 0x20])),
    );
    expect(t.ok ? null : t.error.code).toBe('INVALID_ENCODING');
  });

  it('decodes UTF-16 with a byte-order mark, little and big endian', () => {
    const text = BASE.replace('encoding="UTF-8"', 'encoding="UTF-16"');
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.from(le);
    be.swap16();
    for (const bytes of [le, be]) {
      const r = decodeDischarge(bytes, { maxBytes: 1 << 20 });
      expect(r.ok && r.person.name).toBe('患者4');
    }
  });

  it('refuses a UTF-16 declaration on single-byte text, and a UTF-16 mark under GBK', () => {
    const declaredOnly = Buffer.from(BASE.replace('encoding="UTF-8"', 'encoding="UTF-16"'));
    const t1 = messageText(declaredOnly);
    expect(t1.ok ? null : t1.error.code).toBe('ENCODING_MISMATCH');
    const gbk = BASE.replace('encoding="UTF-8"', 'encoding="GBK"');
    const t2 = messageText(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(gbk, 'utf16le')]));
    expect(t2.ok ? null : t2.error.code).toBe('ENCODING_MISMATCH');
  });

  it('refuses an encoding it does not take, empty bytes and binary junk', () => {
    const ebcdic = messageText(Buffer.from(BASE.replace('UTF-8', 'EBCDIC-US')));
    expect(ebcdic.ok ? null : ebcdic.error.code).toBe('UNSUPPORTED_ENCODING');
    const empty = messageText(Buffer.alloc(0));
    expect(empty.ok ? null : empty.error.code).toBe('EMPTY_MESSAGE');
    const junk = messageText(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff]));
    expect(junk.ok ? null : junk.error.code).toBe('INVALID_ENCODING');
  });

  it('decodes a NUL byte and leaves it to the decoder, which names the field', () => {
    const bytes = withName('<?xml version="1.0"?>', Buffer.from([0xe5, 0xbc, 0xa0, 0x00]));
    expect(messageText(bytes).ok).toBe(true);
    expect(errorsOf(bytes)).toEqual([['INVALID_CHARACTER', 'psn_name']]);
  });
});

describe('the hospital the one decoder reads (a reject is recorded under it)', () => {
  it('reads the institution as the parser does, not as a pattern would', () => {
    expect(namedInstitution(BASE)).toBe('H51040000002');
    expect(
      namedInstitution(
        BASE.replace(
          '<fixmedins_code>',
          '<!-- <fixmedins_code>H9</fixmedins_code> --><fixmedins_code>',
        ),
      ),
    ).toBe('H51040000002');
    expect(namedInstitution(BASE.replace('H51040000002', '<![CDATA[H51040000003]]>'))).toBe(
      'H51040000003',
    );
  });

  it('names none in what does not parse', () => {
    expect(namedInstitution('<discharge><fixmedins_code>H1</fixmedins_code>')).toBeNull();
    expect(
      namedInstitution(
        '<!DOCTYPE d [<!ENTITY e "x">]><discharge><fixmedins_code>H1</fixmedins_code></discharge>',
      ),
    ).toBeNull();
  });
});
