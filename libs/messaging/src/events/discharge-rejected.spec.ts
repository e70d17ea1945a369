import { createHash } from 'node:crypto';
import { REJECT_EXCERPT_BYTES, originalExcerpt, rejectEventPayload } from './discharge-rejected';

const sha = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

describe('the excerpt of a rejected original', () => {
  it('carries a message of exactly the bound whole, and one byte more as a flagged excerpt', () => {
    const atBound = 'a'.repeat(REJECT_EXCERPT_BYTES);
    expect(originalExcerpt(atBound)).toEqual({
      excerpt: atBound,
      truncated: false,
      bytes: REJECT_EXCERPT_BYTES,
      sha256: sha(atBound),
    });
    const over = `${atBound}b`;
    expect(originalExcerpt(over)).toEqual({
      excerpt: atBound,
      truncated: true,
      bytes: REJECT_EXCERPT_BYTES + 1,
      sha256: sha(over),
    });
  });

  it('never cuts a character in two: it backs off to the last whole one', () => {
    // '患' is 3 bytes in UTF-8, '😀' 4: a bound of 10 falls inside the fourth character
    expect(originalExcerpt('患患患患', 10)).toMatchObject({ excerpt: '患患患', truncated: true });
    expect(originalExcerpt('患患患患', 9)).toMatchObject({ excerpt: '患患患', truncated: true });
    expect(originalExcerpt('患患患患', 8)).toMatchObject({ excerpt: '患患', truncated: true });
    expect(originalExcerpt('x😀😀', 4)).toMatchObject({ excerpt: 'x', truncated: true });
    expect(originalExcerpt('x😀😀', 5)).toMatchObject({ excerpt: 'x😀', truncated: true });
    expect(originalExcerpt('x😀😀', 9)).toMatchObject({ excerpt: 'x😀😀', truncated: false });
  });

  it('measures and hashes raw bytes as they are, even when they are not UTF-8', () => {
    const raw = Buffer.concat([
      Buffer.from('<a>'),
      Buffer.from([0xff, 0xfe, 0x00]),
      Buffer.from('</a>'),
    ]);
    const e = originalExcerpt(raw, 5);
    expect(e).toMatchObject({ truncated: true, bytes: raw.length, sha256: sha(raw) });
    expect(e.excerpt.startsWith('<a>')).toBe(true);
    expect(Buffer.byteLength(e.excerpt)).toBeLessThanOrEqual(3 + 2 * 3); // two U+FFFD at most
  });
});

describe('the reject event value', () => {
  const problems = [
    { code: 'MALFORMED_XML', field: null, rule: 'wellFormed', message: 'not well-formed' },
    { code: 'MISSING_FIELD', field: 'psn_no', rule: 'isDefined', message: '<psn_no> is required' },
  ];

  it('stays small however large and however escaped the original is', () => {
    // quotes and control characters take 2 and 6 bytes once JSON-escaped
    const hostile = '"\u0001'.repeat(500_000);
    const value = rejectEventPayload({
      rejectId: '42',
      status: 'rejected',
      problems,
      source: { kind: 'kafka', topic: 'his.discharge.v1', partition: 1, offset: '7' },
      original: hostile,
    });
    expect(value).toMatchObject({
      reject_id: '42',
      reason_code: 'MALFORMED_XML',
      field: null,
      rule: 'wellFormed',
      errors: problems,
      source: { kind: 'kafka', topic: 'his.discharge.v1', partition: 1, offset: '7' },
      original_truncated: true,
      original_bytes: 1_000_000,
      original_sha256: sha(hostile),
      original_ref: '/api/v1/rejects/42',
    });
    // 4096 bytes escaped at most 6×, plus the reasons
    expect(Buffer.byteLength(JSON.stringify(value))).toBeLessThan(6 * REJECT_EXCERPT_BYTES + 1024);
  });

  it('fills an HTTP source with nulls and refuses a reject without a reason', () => {
    const value = rejectEventPayload({
      rejectId: '1',
      status: 'conflict',
      problems: [{ code: 'CONFLICT', field: null, rule: 'sameBody', message: 'differs' }],
      source: { kind: 'http' },
      original: '<discharge/>',
    });
    expect(value.source).toEqual({ kind: 'http', topic: null, partition: null, offset: null });
    expect(value.original_payload).toBe('<discharge/>');
    expect(() =>
      rejectEventPayload({
        rejectId: '1',
        status: 'rejected',
        problems: [],
        source: { kind: 'http' },
        original: '',
      }),
    ).toThrow('at least one problem');
  });
});
