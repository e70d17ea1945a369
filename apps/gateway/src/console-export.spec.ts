import { parseCsv } from '@onebill/audit';
import type { MessageRow, RejectListRow } from '@onebill/ledger';
import { beijingTime, messagesCsv, parseConsoleTime, rejectsCsv } from './console-export';

const message = (over: Partial<MessageRow>): MessageRow => ({
  id: '7',
  source: 'kafka',
  topic: 'his.discharge.v1',
  partition: 0,
  offset: '12',
  receivedAt: new Date('2024-05-10T06:03:07Z'),
  status: 'settled',
  correlationId: 'c-1',
  fixmedinsCode: 'H51040200001',
  mdtrtId: 'V1',
  setlId: 'S1',
  rejectId: null,
  reasonCode: null,
  submittedBy: null,
  resubmissionOf: null,
  psnNo: 'P51040219800',
  ...over,
});

/** the rows of an export, which starts with a UTF-8 byte-order mark (for spreadsheets) */
const rows = (csv: string): string[][] => {
  expect(csv.charCodeAt(0)).toBe(0xfeff);
  return parseCsv(csv.slice(1));
};

describe('console time ranges, in Beijing time', () => {
  it('reads a bare date or time as Beijing time and an ISO time with a zone as that instant', () => {
    expect(parseConsoleTime('2024-05-10 14:03', 'from')).toEqual({
      ok: true,
      at: new Date('2024-05-10T06:03:00Z'),
    });
    expect(parseConsoleTime('2024-05-10', 'from')).toEqual({
      ok: true,
      at: new Date('2024-05-09T16:00:00Z'),
    });
    expect(parseConsoleTime('2024-05-10T14:03:07+08:00', 'to')).toEqual({
      ok: true,
      at: new Date('2024-05-10T06:03:07Z'),
    });
    expect(parseConsoleTime(undefined, 'to')).toEqual({ ok: true, at: undefined });
    expect(beijingTime(new Date('2024-05-10T06:03:07Z'))).toBe('2024-05-10 14:03:07');
  });

  it('refuses what is not a time, naming the parameter', () => {
    for (const bad of ['2024-02-30', 'yesterday', '2024-05-10 25:00', ['a']]) {
      const r = parseConsoleTime(bad, 'from');
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toMatch(/^from must be a Beijing time/);
    }
  });
});

describe('console CSV exports', () => {
  it('writes messages with Beijing times and the person masked', () => {
    const [head, row] = rows(messagesCsv([message({})]));
    expect(head?.[1]).toBe('received_at_utc8');
    const at = (name: string): string | undefined => row?.[head?.indexOf(name) ?? -1];
    expect(at('received_at_utc8')).toBe('2024-05-10 14:03:07');
    expect(at('psn_no_masked')).toBe('P510****9800');
    expect(messagesCsv([message({})])).not.toContain('P51040219800');
  });

  it('makes every cell a spreadsheet would run inert (= + - @)', () => {
    const csv = messagesCsv([
      message({
        mdtrtId: '=HYPERLINK("http://x","y")',
        submittedBy: '+1+1',
        correlationId: '@SUM(A1)',
      }),
      message({ mdtrtId: '-2+3', psnNo: null }),
    ]);
    const [head, a, b] = rows(csv);
    const col = (r: string[] | undefined, name: string): string | undefined =>
      r?.[head?.indexOf(name) ?? -1];
    expect(col(a, 'mdtrt_id')).toBe(`'=HYPERLINK("http://x","y")`);
    expect(col(a, 'submitted_by')).toBe(`'+1+1`);
    expect(col(a, 'correlation_id')).toBe(`'@SUM(A1)`);
    expect(col(b, 'mdtrt_id')).toBe(`'-2+3`);
    expect(col(b, 'psn_no_masked')).toBe('');
  });

  it('writes rejects with their plain reason and fix beside the code', () => {
    const reject: RejectListRow = {
      id: '3',
      inboxId: '7',
      reasonCode: 'MISSING_FIELD',
      field: 'psn_no',
      message: '<psn_no> is required',
      payload: null,
      payloadBytes: Buffer.alloc(0),
      payloadSize: 10,
      payloadSha256: 'ab',
      createdAt: new Date('2024-05-10T16:30:00Z'),
      fixmedinsCode: 'H51040200001',
      resubmittedAs: null,
      resubmittedBy: null,
      resubmittedAt: null,
      mdtrtId: 'V9',
      psnNo: 'P51040219801',
    };
    const [head, row] = rows(rejectsCsv([reject]));
    const at = (name: string): string | undefined => row?.[head?.indexOf(name) ?? -1];
    expect(at('created_at_utc8')).toBe('2024-05-11 00:30:00');
    expect(at('reason_code')).toBe('MISSING_FIELD');
    expect(at('reason_en')).toBe('A required field is missing.');
    expect(at('fix')).toContain('<psn_no>');
    expect(at('psn_no_masked')).toBe('P510****9801');
  });
});
