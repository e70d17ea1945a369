/**
 * The console's time ranges and CSV exports (issue 13): times read and written in Beijing time
 * (UTC+8) as everywhere on the console, person numbers masked, and every cell that a spreadsheet
 * would run as a formula (= + - @, tab, CR) made inert by a leading apostrophe (OWASP's
 * "CSV injection" advice). Nest-free, so unit tests reach it. CSV by csv-stringify.
 */
import { stringify } from 'csv-stringify/sync';
import type { MessageRow, RejectListRow } from '@onebill/ledger';
import { explainReject } from './reject-reasons';

const BEIJING_MS = 8 * 3600_000;

/** A query's time, or why it is not one. */
export type ParsedTime = { ok: true; at: Date | undefined } | { ok: false; message: string };

/**
 * `2024-05-10`, `2024-05-10 14:03`, `2024-05-10T14:03:07` are Beijing time (what the console
 * shows); a time with `Z` or an offset (`2024-05-10T06:03:07Z`, `…+08:00`) is that instant.
 * Empty or absent: no bound.
 */
export function parseConsoleTime(raw: unknown, name: string): ParsedTime {
  if (raw === undefined || raw === null || raw === '') return { ok: true, at: undefined };
  const text = typeof raw === 'string' ? raw.trim() : '';
  const local = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  const fail: ParsedTime = {
    ok: false,
    message:
      `${name} must be a Beijing time like 2024-05-10 or 2024-05-10 14:03 (UTC+8), ` +
      `or an ISO time with Z or an offset; got ${JSON.stringify(text.slice(0, 40))}`,
  };
  if (local !== null) {
    const [y, mo, d, h, mi, s] = local.slice(1).map((v) => (v === undefined ? 0 : Number(v)));
    const ms = Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, s ?? 0) - BEIJING_MS;
    const back = new Date(ms + BEIJING_MS);
    // 2024-02-30 rolls over in Date.UTC: refused, not read as March 1st
    if (back.getUTCMonth() + 1 !== mo || back.getUTCDate() !== d || (h ?? 0) > 23) return fail;
    return { ok: true, at: new Date(ms) };
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return { ok: true, at: new Date(ms) };
  }
  return fail;
}

/** A time as the console writes it: 2024-05-10 14:03:07, Beijing time. */
export function beijingTime(d: Date): string {
  return new Date(d.getTime() + BEIJING_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/** P1234567890 → P123****7890 (the console's mask; console.controller.ts keeps the same rule). */
export function maskPersonNo(psnNo: string): string {
  if (psnNo.length <= 8) return `${psnNo.slice(0, 2)}${'*'.repeat(Math.max(1, psnNo.length - 2))}`;
  return `${psnNo.slice(0, 4)}${'*'.repeat(psnNo.length - 8)}${psnNo.slice(-4)}`;
}

type Cell = string | number | null | undefined;

/**
 * The header, then the rows, CRLF-separated (RFC 4180), with a byte-order mark so that a
 * spreadsheet reads the Chinese as UTF-8. csv-stringify's escape_formulas makes every cell that a
 * spreadsheet would run (starting with = + - @, tab or CR) inert with a leading apostrophe.
 */
function records(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return stringify(
    [[...header], ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : c)))],
    { record_delimiter: 'windows', quote_record_delimiter: true, escape_formulas: true, bom: true },
  );
}

export const MESSAGE_CSV_COLUMNS = [
  'id',
  'received_at_utc8',
  'source',
  'topic',
  'partition',
  'offset',
  'status',
  'fixmedins_code',
  'mdtrt_id',
  'setl_id',
  'psn_no_masked',
  'reject_id',
  'reason_code',
  'submitted_by',
  'correlation_id',
] as const;

export function messagesCsv(rows: readonly MessageRow[]): string {
  return records(
    MESSAGE_CSV_COLUMNS,
    rows.map((m) => [
      m.id,
      beijingTime(m.receivedAt),
      m.source,
      m.topic,
      m.partition,
      m.offset,
      m.status,
      m.fixmedinsCode,
      m.mdtrtId,
      m.setlId,
      m.psnNo === null ? null : maskPersonNo(m.psnNo),
      m.rejectId,
      m.reasonCode,
      m.submittedBy,
      m.correlationId,
    ]),
  );
}

export const REJECT_CSV_COLUMNS = [
  'reject_id',
  'created_at_utc8',
  'fixmedins_code',
  'mdtrt_id',
  'psn_no_masked',
  'reason_code',
  'field',
  'reason_en',
  'reason_zh',
  'fix',
  'message',
  'resubmitted_as',
  'resubmitted_by',
  'resubmitted_at_utc8',
] as const;

export function rejectsCsv(rows: readonly RejectListRow[]): string {
  return records(
    REJECT_CSV_COLUMNS,
    rows.map((r) => {
      const why = explainReject({ reasonCode: r.reasonCode, field: r.field, message: r.message });
      return [
        r.id,
        beijingTime(r.createdAt),
        r.fixmedinsCode,
        r.mdtrtId,
        r.psnNo === null ? null : maskPersonNo(r.psnNo),
        r.reasonCode,
        r.field,
        why.en,
        why.zh,
        why.fix,
        r.message,
        r.resubmittedAs,
        r.resubmittedBy,
        r.resubmittedAt === null ? null : beijingTime(r.resubmittedAt),
      ];
    }),
  );
}
