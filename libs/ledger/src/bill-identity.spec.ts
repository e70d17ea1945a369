/**
 * A bill's identity in canonical form c1 (docs/adr/0017): what it ignores (decoder key order, an
 * optional field a newer contract adds and the bill does not use, how an amount is written, the
 * order of the identities) and what it never ignores (any contract field's value, a new field
 * the bill uses). Rows stored before migration 0012 are compared under their own form, c0.
 */
import type { Bill } from '@onebill/engine';
import {
  C1_FIELDS,
  OutsideForm,
  billBodyHash,
  bodyHashOf,
  billOfCanonical,
  canonicalBill,
  sameBill,
} from './bill-identity';
import { sampleBill } from './testing/fixtures';

function reordered<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).reverse()) as T;
}

describe('bill identity, canonical form c1', () => {
  const bill = sampleBill({ identities: ['dibao', 'tekun'] });

  it('is versioned, with sorted keys and two-decimal amounts', () => {
    const text = canonicalBill(bill);
    expect(text.startsWith('c1:{"admissionDate":')).toBe(true);
    expect(text).toContain('"medfeeSumamt":"10000.00"');
    expect(C1_FIELDS).toEqual([...C1_FIELDS].sort());
  });

  it('does not depend on the decoder: key order, undefined optional fields, amount spelling', () => {
    const h = billBodyHash(bill);
    expect(billBodyHash(reordered(bill))).toBe(h);
    expect(billBodyHash({ ...bill, visitKind: undefined })).toBe(h);
    expect(billBodyHash({ ...bill, medfeeSumamt: '10000', preselfpayAmt: '300.0' })).toBe(h);
    expect(billBodyHash({ ...bill, identities: ['dibao', 'tekun', 'dibao'] })).toBe(h);
    // a newer contract's optional field the bill does not use
    expect(billBodyHash({ ...bill, dischargeNote: undefined } as Bill)).toBe(h);
  });

  it('changes with any contract field, optional ones included', () => {
    const h = billBodyHash(bill);
    expect(billBodyHash({ ...bill, fulamtOwnpayAmt: '500.01', inscpScpAmt: '9199.99' })).not.toBe(
      h,
    );
    expect(billBodyHash({ ...bill, referred: false })).not.toBe(h);
    expect(billBodyHash({ ...bill, identities: ['dibao'] })).not.toBe(h);
    // the order of the identities can decide a tie (the identity-order reading): it is kept
    expect(billBodyHash({ ...bill, identities: ['tekun', 'dibao'] })).not.toBe(h);
    expect(billBodyHash({ ...bill, visitKind: 'rescue' })).not.toBe(h);
    expect(
      billBodyHash({
        ...bill,
        upstream: { hifpPay: '1.00', hifmiPay: '0.00', hifobPay: '0.00', actPayDedc: '0.00' },
      }),
    ).not.toBe(h);
  });

  it('a bill using a field c1 does not know is outside the form: a different bill, never the same', () => {
    const newer = { ...bill, dischargeNote: 'transferred' } as Bill;
    expect(() => canonicalBill(newer)).toThrow(OutsideForm);
    expect(bodyHashOf(newer, 'c1')).toBeNull();
    expect(sameBill(newer, { bodyHash: billBodyHash(bill), bodyHashForm: 'c1' })).toBe(false);
  });

  it('the stored canonical text gives back a bill the engine reads alike', () => {
    const text = canonicalBill({ ...bill, visitKind: undefined });
    expect(billOfCanonical(text)).toEqual(bill);
    expect(billBodyHash(billOfCanonical(text))).toBe(billBodyHash(bill));
  });

  it('compares a row stored before migration 0012 under its own form (c0)', () => {
    const legacy = { bodyHash: bodyHashOf(bill, 'c0')!, bodyHashForm: 'c0' as const };
    expect(sameBill(bill, legacy)).toBe(true);
    expect(sameBill({ ...bill, referred: false }, legacy)).toBe(false);
    const current = { bodyHash: billBodyHash(bill), bodyHashForm: 'c1' as const };
    expect(sameBill(reordered(bill), current)).toBe(true);
    // c0 was the decoder's object: another key order was another bill
    expect(bodyHashOf(reordered(bill), 'c0')).not.toBe(legacy.bodyHash);
  });
});
