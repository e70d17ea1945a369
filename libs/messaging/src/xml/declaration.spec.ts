/**
 * The reconciliation declaration (contracts/reconciliation): the example validates against the
 * XSD, decodes, and means the same as the CSV example; bad declarations name the field.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { validateXML } from 'xmllint-wasm';
import { decodeDeclaration } from './decode';

const DIR = join(__dirname, '../../../../contracts/reconciliation');
const xml = readFileSync(join(DIR, 'examples/reconciliation-510402-2024-05.xml'), 'utf8');

describe('reconciliation declaration', () => {
  it('the example validates against reconciliation.v1.xsd', async () => {
    const r = await validateXML({
      xml: [{ fileName: 'msg.xml', contents: xml }],
      schema: [
        {
          fileName: 'schema.xsd',
          contents: readFileSync(join(DIR, 'reconciliation.v1.xsd'), 'utf8'),
        },
      ],
    });
    expect(r.errors).toEqual([]);
  });

  it('decodes totals and detail, amounts normalised to two places', () => {
    const d = decodeDeclaration(xml);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.declaration).toEqual({
      fixmedinsCode: 'H51040000006',
      clrOptins: '510402',
      month: '2024-05',
      totals: {
        basic: '1290.00',
        critical: '0.00',
        commercial: '0.00',
        assistance: '306.00',
        tilted: '0.00',
      },
      bills: [
        {
          setlId: 'S1F0C2A9B7D4E5F60718293A4',
          mdtrtId: 'MDT20245104000001',
          funds: { basic: '90.00' },
        },
        {
          setlId: 'S2A0C2A9B7D4E5F60718293B5',
          mdtrtId: 'MDT20245104000007',
          funds: { basic: '1200.00', assistance: '306.00' },
        },
      ],
    });
  });

  it('names what is wrong: month, amount, a settlement declared twice, nothing declared', () => {
    const bad = xml
      .replace('<month>2024-05</month>', '<month>2024-5</month>')
      .replace('<basic>90.00</basic>', '<basic>90,00</basic>')
      .replace('S2A0C2A9B7D4E5F60718293B5', 'S1F0C2A9B7D4E5F60718293A4');
    const d = decodeDeclaration(bad);
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.errors.map((e) => e.field)).toEqual([
        'month',
        'bills.bill[0].basic',
        'bills.bill[1].setl_id',
      ]);
    }
    const empty = decodeDeclaration(
      '<reconciliation version="1"><fixmedins_code>H1</fixmedins_code><clr_optins>510402</clr_optins><month>2024-05</month></reconciliation>',
    );
    expect(empty.ok).toBe(false);
    if (!empty.ok)
      expect(empty.errors[0]).toMatchObject({ field: 'totals', rule: 'totalsOrBills' });
    const doctype = decodeDeclaration(
      '<!DOCTYPE x [<!ENTITY a "b">]><reconciliation version="1"/>',
    );
    expect(doctype.ok).toBe(false);
  });
});
