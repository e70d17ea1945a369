/**
 * The builders validate what they build against the contracts (ajv, compiled once): an event its
 * schema refuses is never handed to the outbox.
 */
import { SAMPLE_RESULT } from '../xml/fixtures';
import { ContractViolation } from '../events/schemas';
import {
  hisSettlementResultRecord,
  highBurdenAlertRecord,
  settlementEventOf,
  settlementEventRecord,
} from './outbound';

const settled = {
  setlId: 'S0001',
  fixmedinsCode: 'H51040200001',
  mdtrtId: 'V1',
  psnNo: 'P1',
  clrOptins: '510402',
  setlTime: '2024-05-10 14:03:07',
  ruleSetVersion: 'panzhihua-2024.1',
  eventId: '0b6f1f9e-3c1e-4f7a-9a52-5d2c8e41a001',
  result: SAMPLE_RESULT,
};

describe('outbound builders', () => {
  it('builds the settled and reversed county events, reversal amounts negated in fen', () => {
    const at = { occurredAt: new Date('2024-05-10T06:03:07Z') };
    const s = settlementEventRecord(settlementEventOf(settled, 'settled', at), {
      correlationId: 'c1',
      fixmedinsCode: settled.fixmedinsCode,
    });
    expect(s.key).toBe('510402');
    expect(s.headers['event-type']).toBe('settled');
    const r = settlementEventOf(settled, 'reversed', {
      ...at,
      reversalTime: '2024-06-01 09:00:00',
    });
    expect(r.medfee_sumamt).toBe('-48620.35');
    expect(r.month).toBe('2024-06');
    expect(r.reverses_event_id).toBe(settled.eventId);
    expect(() =>
      settlementEventRecord(r, { correlationId: 'c', fixmedinsCode: 'H' }),
    ).not.toThrow();
  });

  it('refuses an event its contract refuses (schema or money rules)', () => {
    const e = settlementEventOf(settled, 'settled', { occurredAt: new Date() });
    expect(() =>
      settlementEventRecord(
        { ...e, clr_optins: '5104' },
        { correlationId: 'c', fixmedinsCode: 'H' },
      ),
    ).toThrow(ContractViolation);
    expect(() =>
      settlementEventRecord(
        { ...e, psn_cash_pay: '0.01' },
        { correlationId: 'c', fixmedinsCode: 'H' },
      ),
    ).toThrow(ContractViolation);
    expect(() => highBurdenAlertRecord({ event_id: 'x' } as never, 'c')).toThrow(ContractViolation);
  });

  it('the HIS result of a settled bill is the settlement-result XML', () => {
    const r = hisSettlementResultRecord(settled, 'settled', 'c1');
    expect(r.headers['content-type']).toBe('application/xml');
    expect(r.payload).toContain('<settlement-result version="1">');
  });
});
