/**
 * decodeAcceptedDischarge (audit replay's decoder) reads an accepted message to the very bill
 * decodeDischarge reads, whether its fast path or the parser does the reading.
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import fc from 'fast-check';
import { decodeAcceptedDischarge, decodeDischarge } from './decode';
import { encodeDischargeXml } from './encode';

const DIR = join(__dirname, '../../../../contracts/discharge/examples');
const examples = readdirSync(DIR)
  .filter((f) => f.startsWith('discharge-'))
  .map((f) => readFileSync(join(DIR, f), 'utf8'));

function billOf(xml: string): unknown {
  const d = decodeDischarge(xml);
  if (!d.ok) throw new Error(JSON.stringify(d.errors));
  return d.bill;
}

function acceptedBillOf(xml: string): unknown {
  const d = decodeAcceptedDischarge(xml);
  if (!d.ok) throw new Error(JSON.stringify(d.errors));
  return d.bill;
}

describe('decodeAcceptedDischarge', () => {
  it.each(examples.map((x, i) => [i, x]))('example %i reads to the same bill', (_i, xml) => {
    expect(acceptedBillOf(xml)).toEqual(billOf(xml));
  });

  it('reads what the parser reads where the text is not flat', () => {
    const base = examples.find((x) => x.includes('<identity>'))!;
    const odd = [
      base.replace('<med_type>', '<!-- a comment --><med_type>'),
      base.replace(/<psn_no>([^<]*)</, '<psn_no><![CDATA[$1]]><'),
      base.replace(/<med_type>(\d+)</, '<med_type>\n   $1  \n<'),
      base.replace('<identities>', '<identities>\n  '),
      base.replace(/<fixmedins_code>/, '<fixmedins_code >'),
      base.replace(/<\?xml[^>]*>\s*/, ''),
    ];
    for (const xml of odd) expect(acceptedBillOf(xml)).toEqual(billOf(xml));
  });

  it('reads every bill the encoder writes to the decoded bill', () => {
    const base = billOf(examples[0]!) as Parameters<typeof encodeDischargeXml>[0];
    fc.assert(
      fc.property(
        fc.record({
          mdtrtId: fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/),
          identities: fc.array(fc.constantFrom('tekun', 'dibao', 'monitored'), { maxLength: 3 }),
          referred: fc.boolean(),
          name: fc.option(fc.stringMatching(/^[a-z张王&<]{1,8}$/), { nil: undefined }),
        }),
        ({ mdtrtId, identities, referred, name }) => {
          const xml = encodeDischargeXml(
            { ...base, mdtrtId, identities, referred },
            name === undefined ? undefined : { name },
          );
          expect(acceptedBillOf(xml)).toEqual(billOf(xml));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a text that is no discharge', () => {
    expect(decodeAcceptedDischarge('<admission version="1"/>').ok).toBe(false);
    expect(decodeAcceptedDischarge('not xml at all').ok).toBe(false);
  });
});
