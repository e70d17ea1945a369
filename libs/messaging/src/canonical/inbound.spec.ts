/**
 * The one decoder (issue 12 item 1): XML and the JSON tree of the same message give the same
 * canonical message; a message that breaks a rule still names the hospital and person the parser
 * read in it (for the reject and the lane), never by a pattern over the text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DECODER_VERSION,
  decodeAcceptedBill,
  decodeJsonMessage,
  decodeStoredMessage,
  decodeXmlMessage,
} from './inbound';

const EXAMPLES = join(__dirname, '../../../../contracts/discharge/examples');
const XML = readFileSync(join(EXAMPLES, 'discharge-panzhihua-21-dibao.xml'), 'utf8');
const REVERSAL = readFileSync(join(EXAMPLES, 'reversal-panzhihua.xml'), 'utf8');

/** The discharge's elements as the JSON body a client sends (the XML tree's names). */
function jsonOf(xml: string): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const m of xml.matchAll(/<([a-z_]+)>([^<]*)<\/\1>/g)) {
    if (m[1] === 'identity') continue;
    body[m[1]!] = m[2];
  }
  const ids = [...xml.matchAll(/<identity>([^<]*)<\/identity>/g)].map((m) => m[1]);
  if (ids.length > 0) body['identities'] = { identity: ids };
  return { discharge: body };
}

describe('the canonical inbound message', () => {
  it('decodes a discharge once, with kind, hospital, person, visit and versions', () => {
    const d = decodeXmlMessage(XML);
    expect(d.ok).toBe(true);
    if (!d.ok || d.message.kind !== 'discharge') return;
    expect(d.message).toMatchObject({
      kind: 'discharge',
      hospital: d.message.bill.fixmedinsCode,
      person: d.message.bill.psnNo,
      visit: d.message.bill.mdtrtId,
      contractVersion: '1',
      decoderVersion: DECODER_VERSION,
      format: 'xml',
    });
  });

  it('gives the same bill from the JSON tree, without XML in between', () => {
    const x = decodeXmlMessage(XML);
    const j = decodeJsonMessage(jsonOf(XML));
    expect(j.ok).toBe(true);
    if (!x.ok || !j.ok || x.message.kind !== 'discharge' || j.message.kind !== 'discharge') return;
    expect(j.message.bill).toEqual(x.message.bill);
    expect(j.message.format).toBe('json');
    // the stored JSON text reads back the same (console resubmission, replay)
    const stored = decodeStoredMessage(JSON.stringify(jsonOf(XML)));
    expect(stored.ok && stored.message.kind === 'discharge' && stored.message.bill).toEqual(
      x.message.bill,
    );
    const accepted = decodeAcceptedBill(JSON.stringify(jsonOf(XML)));
    expect(accepted.ok && accepted.bill).toEqual(x.message.bill);
  });

  it('routes by the root: a reversal names the visit and no person', () => {
    const d = decodeXmlMessage(REVERSAL);
    expect(d.ok && d.message.kind).toBe('reversal');
    if (!d.ok) return;
    expect(d.message.person).toBeNull();
  });

  it('a message that breaks a rule still names what the parser read in it', () => {
    const broken = XML.replace(
      /<medfee_sumamt>[^<]*<\/medfee_sumamt>/,
      '<medfee_sumamt>1.00</medfee_sumamt>',
    );
    const d = decodeXmlMessage(broken);
    expect(d.ok).toBe(false);
    if (d.ok) return;
    expect(d.errors[0]?.code).toBe('AMOUNTS_DO_NOT_ADD_UP');
    expect(d.kind).toBe('discharge');
    expect(d.hospital).toMatch(/^H/);
    expect(d.person).not.toBeNull();
    // a comment that looks like an element is not the element
    const commented = XML.replace('<psn_no>', '<!-- <psn_no>P-FAKE</psn_no> --><psn_no>').replace(
      'version="1"',
      'version="9"',
    );
    const c = decodeXmlMessage(commented);
    expect(c.ok).toBe(false);
    if (c.ok) return;
    expect(c.errors[0]?.code).toBe('UNSUPPORTED_VERSION');
    expect(c.person).not.toBe('P-FAKE');
  });

  it('refuses control characters in JSON as in XML, and a JSON body of no known root', () => {
    const body = jsonOf(XML);
    (body['discharge'] as Record<string, unknown>)['psn_name'] = '张\u202E三';
    const d = decodeJsonMessage(body);
    expect(!d.ok && d.errors[0]?.code).toBe('INVALID_CHARACTER');
    const none = decodeJsonMessage({ bill: {} });
    expect(!none.ok && none.errors[0]?.code).toBe('WRONG_ROOT');
  });
});
