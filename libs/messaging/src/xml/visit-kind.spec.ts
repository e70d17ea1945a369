import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeDischarge } from './decode';

const EXAMPLES = join(__dirname, '../../../../contracts/discharge/examples');
const read = (f: string): string => readFileSync(join(EXAMPLES, f), 'utf8');

describe('discharge visit_kind (optional, issue 14)', () => {
  it('an old message without it decodes as before, with no visit kind', () => {
    const d = decodeDischarge(read('discharge-panzhihua-21-dibao.xml'));
    expect(d.ok).toBe(true);
    expect(d.ok && 'visitKind' in d.bill).toBe(false);
  });

  it('a message with it carries the kind onto the bill', () => {
    const d = decodeDischarge(read('discharge-baoshan-13-rescue-dibao.xml'));
    expect(d.ok && d.bill.visitKind).toBe('rescue');
  });

  it('refuses a kind the contract does not name, naming the field', () => {
    const xml = read('discharge-baoshan-13-rescue-dibao.xml').replace(
      '<visit_kind>rescue</visit_kind>',
      '<visit_kind>surgery</visit_kind>',
    );
    const d = decodeDischarge(xml);
    expect(d.ok).toBe(false);
    expect(!d.ok && d.errors.map((e) => [e.code, e.field])).toEqual([
      ['INVALID_FIELD', 'visit_kind'],
    ]);
  });
});

describe('discharge upstream-settled tiers (optional, issue 14)', () => {
  it('carries hifp_pay, hifmi_pay, hifob_pay and act_pay_dedc onto the bill', () => {
    const d = decodeDischarge(read('discharge-panzhihua-21-upstream-dibao.xml'));
    expect(d.ok && d.bill.upstream).toEqual({
      hifpPay: '24720.00',
      hifmiPay: '3000.00',
      hifobPay: '0.00',
      actPayDedc: '800.00',
    });
  });

  it('an old message settles every tier itself (no upstream)', () => {
    const d = decodeDischarge(read('discharge-panzhihua-21-dibao.xml'));
    expect(d.ok && d.bill.upstream).toBeUndefined();
  });

  it('a tier without the others means the others are 0.00', () => {
    const xml = read('discharge-panzhihua-21-dibao.xml').replace(
      '<inscp_scp_amt>42000.00</inscp_scp_amt>',
      '<inscp_scp_amt>42000.00</inscp_scp_amt><hifp_pay>100.5</hifp_pay>',
    );
    const d = decodeDischarge(xml);
    expect(d.ok && d.bill.upstream).toEqual({
      hifpPay: '100.50',
      hifmiPay: '0.00',
      hifobPay: '0.00',
      actPayDedc: '0.00',
    });
  });
});
