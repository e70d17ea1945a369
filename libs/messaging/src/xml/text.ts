/**
 * Inbound bytes to text: the one place where a message's bytes become a string, for Kafka and
 * HTTP alike (docs/adr/0012-hostile-input.md). The encoding is the message's own, as XML 1.0
 * (§4.3.3 and Appendix F) reads it: a byte-order mark, else the `encoding` of the XML declaration,
 * else UTF-8. A transport's charset (an HTTP Content-Type parameter) is not consulted, so the same
 * bytes decode the same way whichever way they came. Decoding is strict (`fatal`): a byte sequence
 * that is not valid in the encoding is a reject naming the encoding, never a U+FFFD in a name.
 */
import type { DecodeError } from './errors';

/** Declared encodings the gateway accepts, by WHATWG label, to the decoder's canonical name. */
const SUPPORTED: Record<string, string> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  gbk: 'gbk',
  gb2312: 'gbk',
  gb18030: 'gb18030',
  'utf-16': 'utf-16',
  'utf-16le': 'utf-16le',
  'utf-16be': 'utf-16be',
};

export type MessageText =
  { ok: true; text: string; encoding: string } | { ok: false; error: DecodeError };

function fail(
  code: DecodeError['code'],
  rule: string,
  message: string,
): { ok: false; error: DecodeError } {
  return { ok: false, error: { code, field: null, rule, message } };
}

const DECLARATION =
  /^<\?xml[ \t\r\n][^>]*?encoding[ \t\r\n]*=[ \t\r\n]*["']([A-Za-z][A-Za-z0-9._-]{0,39})["']/;

/** The encoding an XML declaration at the start of `head` names, lower-cased, or null. */
function declared(head: string): string | null {
  return DECLARATION.exec(head)?.[1]?.toLowerCase() ?? null;
}

function strict(encoding: string, bytes: Uint8Array): string | null {
  try {
    return new TextDecoder(encoding, { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
}

/**
 * The message's text, or the reason it has none: EMPTY_MESSAGE (no bytes), UNSUPPORTED_ENCODING
 * (a declared encoding the gateway does not take), ENCODING_MISMATCH (the declaration and the
 * bytes disagree: UTF-16 declared on single-byte text, or a UTF-16 byte-order mark under another
 * declaration), INVALID_ENCODING (bytes not valid in the encoding). NUL and other control
 * characters are decoded here and refused by the XML decoder, which names the field.
 */
export function messageText(bytes: Uint8Array): MessageText {
  if (bytes.length === 0) return fail('EMPTY_MESSAGE', 'nonEmpty', 'the message has no bytes');
  const b0 = bytes[0];
  const b1 = bytes[1];
  // a UTF-16 byte-order mark, or "<?" in UTF-16 without one (XML 1.0 Appendix F)
  let utf16: 'utf-16le' | 'utf-16be' | null = null;
  if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0x3c && b1 === 0x00 && bytes[2] === 0x3f)) {
    utf16 = 'utf-16le';
  } else if ((b0 === 0xfe && b1 === 0xff) || (b0 === 0x00 && b1 === 0x3c && bytes[3] === 0x3f)) {
    utf16 = 'utf-16be';
  }
  if (utf16 !== null) {
    if (bytes.length % 2 !== 0)
      return fail(
        'INVALID_ENCODING',
        `encoding:${utf16}`,
        `an odd number of bytes is not ${utf16}`,
      );
    const text = strict(utf16, bytes);
    if (text === null)
      return fail('INVALID_ENCODING', `encoding:${utf16}`, `the bytes are not valid ${utf16}`);
    const label = declared(text);
    if (label !== null && !label.startsWith('utf-16'))
      return fail(
        'ENCODING_MISMATCH',
        'declaration=bytes',
        `the bytes are UTF-16 but the XML declaration says ${label}`,
      );
    return { ok: true, text, encoding: utf16 };
  }
  // ASCII-compatible: the declaration, if any, is readable byte for byte
  const bom = b0 === 0xef && b1 === 0xbb && bytes[2] === 0xbf;
  const head = Buffer.from(bytes.subarray(bom ? 3 : 0, 256)).toString('latin1');
  const label = declared(head);
  const encoding = label === null ? 'utf-8' : SUPPORTED[label];
  if (encoding === undefined)
    return fail(
      'UNSUPPORTED_ENCODING',
      `encoding:${Object.keys(SUPPORTED).join('|')}`,
      `encoding "${label ?? ''}" is not accepted: send UTF-8, GBK, GB18030 or UTF-16 with a byte-order mark`,
    );
  if (encoding.startsWith('utf-16'))
    return fail(
      'ENCODING_MISMATCH',
      'declaration=bytes',
      'the XML declaration says UTF-16 but the bytes are not UTF-16 (no byte-order mark)',
    );
  if (bom && encoding !== 'utf-8')
    return fail(
      'ENCODING_MISMATCH',
      'declaration=bytes',
      `the bytes start with a UTF-8 byte-order mark but the XML declaration says ${label ?? ''}`,
    );
  const text = strict(encoding, bytes);
  if (text === null)
    return fail(
      'INVALID_ENCODING',
      `encoding:${encoding}`,
      `the bytes are not valid ${encoding}${label === null ? ' (no encoding declared: UTF-8)' : ''}`,
    );
  return { ok: true, text, encoding };
}
