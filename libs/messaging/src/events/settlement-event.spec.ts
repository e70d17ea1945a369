import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { decodeSettlementEvent, validateSettlementEvent } from './settlement-event';

const root = join(__dirname, '..', '..', '..', '..');
const example = JSON.parse(
  readFileSync(join(root, 'contracts/events/examples/settlement-event.v1.json'), 'utf8'),
) as Record<string, unknown>;
const schema = JSON.parse(
  readFileSync(join(root, 'contracts/events/settlement-event.v1.schema.json'), 'utf8'),
) as object;
const schemaAccepts = new Ajv2020({ strict: false, validateFormats: false }).compile(schema);

function withChanges(changes: Record<string, unknown>): Record<string, unknown> {
  return { ...structuredClone(example), ...changes };
}

const reversal = withChanges({
  event_id: '0b6f1f9e-3c1e-4f7a-9a52-5d2c8e41a002',
  event_type: 'reversed',
  reverses_event_id: example.event_id,
  medfee_sumamt: '-12345.60',
  fund_pay_sumamt: '-10456.30',
  psn_cash_pay: '-1889.30',
  funds: [
    { fund_pay_type: '390100', fund: 'basic', amount: '-7650.20' },
    { fund_pay_type: '390200', fund: 'critical', amount: '-1200.00' },
    { fund_pay_type: '610100', fund: 'assistance', amount: '-1606.10' },
  ],
});

describe('settlement event validator', () => {
  it('accepts the contract example, and the JSON Schema agrees', () => {
    const result = validateSettlementEvent(example);
    expect(result).toEqual({ ok: true, value: example });
    expect(schemaAccepts(example)).toBe(true);
  });

  it('accepts a reversal with negative amounts that names the event it reverses', () => {
    expect(validateSettlementEvent(reversal).ok).toBe(true);
    expect(schemaAccepts(reversal)).toBe(true);
  });

  it('rejects a reversal without reverses_event_id (validator and schema)', () => {
    const { reverses_event_id: _dropped, ...bad } = reversal;
    const result = validateSettlementEvent(bad);
    expect(result.ok).toBe(false);
    expect(schemaAccepts(bad)).toBe(false);
  });

  it.each([
    ['amount as a number', { medfee_sumamt: 12345.6 }],
    ['amount with one decimal', { psn_cash_pay: '1889.3' }],
    ['county code of 5 digits', { clr_optins: '51040' }],
    ['unknown event type', { event_type: 'paid' }],
    ['event id not a UUID', { event_id: 'evt-1' }],
    ['setl_time in ISO form', { setl_time: '2023-06-15T18:21:07' }],
    ['month 13', { month: '2023-13' }],
    ['unknown fund', { funds: [{ fund_pay_type: '390100', fund: 'other', amount: '10456.30' }] }],
    ['unknown property', { extra: 1 }],
    ['funds missing', { funds: undefined }],
  ])('rejects %s (validator and schema)', (_name, changes) => {
    const bad = JSON.parse(JSON.stringify(withChanges(changes))) as unknown;
    expect(validateSettlementEvent(bad).ok).toBe(false);
    expect(schemaAccepts(bad)).toBe(false);
  });

  it('rejects fund lines that do not add up to fund_pay_sumamt (one fen off)', () => {
    const result = validateSettlementEvent(
      withChanges({ fund_pay_sumamt: '10456.31', psn_cash_pay: '1889.29' }),
    );
    expect(result).toEqual({ ok: false, errors: [expect.stringContaining('funds: sum 10456.30')] });
  });

  it('rejects totals where funds + patient cash ≠ medfee_sumamt', () => {
    const result = validateSettlementEvent(withChanges({ psn_cash_pay: '1889.31' }));
    expect(result.ok).toBe(false);
  });

  it('rejects a month that is not the month of setl_time', () => {
    expect(validateSettlementEvent(withChanges({ month: '2023-07' })).ok).toBe(false);
  });

  it('decodes UTF-8 JSON bytes and reports bad JSON and empty values as errors', () => {
    expect(decodeSettlementEvent(Buffer.from(JSON.stringify(example), 'utf8')).ok).toBe(true);
    expect(decodeSettlementEvent(Buffer.from('{"event_id":')).ok).toBe(false);
    expect(decodeSettlementEvent(null)).toEqual({ ok: false, errors: ['empty message value'] });
    expect(decodeSettlementEvent('[]')).toEqual({
      ok: false,
      errors: ['event is not a JSON object'],
    });
  });

  it("adds amounts exactly up to the wire form's 12 integer digits (integer fen, no float)", () => {
    // as binary floats 100000000000.10 + 200000000000.20 = 300000000000.30005
    const big = {
      medfee_sumamt: '999999999999.99',
      fund_pay_sumamt: '300000000000.30',
      psn_cash_pay: '699999999999.69',
      funds: [
        { fund_pay_type: '390100', fund: 'basic', amount: '100000000000.10' },
        { fund_pay_type: '390200', fund: 'critical', amount: '200000000000.20' },
      ],
    };
    expect(validateSettlementEvent(withChanges(big)).ok).toBe(true);
    expect(
      validateSettlementEvent(withChanges({ ...big, psn_cash_pay: '699999999999.70' })),
    ).toEqual({ ok: false, errors: ['medfee_sumamt: ≠ fund_pay_sumamt + psn_cash_pay'] });
    const linesOff = withChanges({
      ...big,
      fund_pay_sumamt: '300000000000.29',
      psn_cash_pay: '699999999999.70',
    });
    expect(validateSettlementEvent(linesOff)).toEqual({
      ok: false,
      errors: ['funds: sum 300000000000.30 ≠ fund_pay_sumamt 300000000000.29'],
    });
  });
});
