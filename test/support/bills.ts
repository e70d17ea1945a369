/**
 * Messages for end-to-end tests, made from the contract's example discharges: each run gets its own
 * prefix for visit and person ids, so a reused broker or database does not disturb the assertions.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './gateway-process';

/** A fresh run prefix, e.g. `E1A2B3C4D`. */
export const newRun = (letter: string): string =>
  `${letter}${randomBytes(4).toString('hex').toUpperCase()}`;

export const example = (name: string): string =>
  readFileSync(join(ROOT, 'contracts/discharge/examples', name), 'utf8');

export interface BillOptions {
  psn?: string;
  /** add this many yuan to one amount and to the total (a different bill for the same visit) */
  extra?: { tag: string; yuan: number };
}

/** An example bill for a fresh visit `<run>-<visit>` (and, by default, a fresh person). */
export function billXml(
  run: string,
  template: string,
  visit: string,
  opts: BillOptions = {},
): string {
  let xml = example(template)
    .replace(/<mdtrt_id>[^<]*<\/mdtrt_id>/, `<mdtrt_id>${run}-${visit}</mdtrt_id>`)
    .replace(/<psn_no>[^<]*<\/psn_no>/, `<psn_no>${opts.psn ?? `${run}P${visit}`}</psn_no>`);
  const extra = opts.extra;
  if (extra !== undefined) {
    const bump = (tag: string): void => {
      xml = xml.replace(new RegExp(`<${tag}>([^<]*)</${tag}>`), (_m, v: string) => {
        const f = Math.round(Number(v) * 100) + Math.round(extra.yuan * 100);
        return `<${tag}>${(f / 100).toFixed(2)}</${tag}>`;
      });
    };
    bump('medfee_sumamt');
    bump(extra.tag);
  }
  return xml;
}

export function hospitalOf(xml: string): string {
  return /<fixmedins_code>([^<]+)<\/fixmedins_code>/.exec(xml)?.[1] ?? 'unknown';
}

export function visitOf(xml: string): string {
  return /<mdtrt_id>([^<]+)<\/mdtrt_id>/.exec(xml)?.[1] ?? 'unknown';
}

/** The reversal (2305-like) of a settled bill. */
export function reversalXml(bill: string, setlId: string, reason = '费用录入错误'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<reversal version="1">
  <fixmedins_code>${hospitalOf(bill)}</fixmedins_code>
  <mdtrt_id>${visitOf(bill)}</mdtrt_id>
  <setl_id>${setlId}</setl_id>
  <reason>${reason}</reason>
</reversal>`;
}

/** "123.45" → 12345n; amounts on the wire are strings with two decimals, possibly negative. */
export const fen = (amount: string): bigint => {
  const negative = amount.startsWith('-');
  const [i, f = ''] = amount.replace('-', '').split('.');
  const v = BigInt(i ?? '0') * 100n + BigInt((f + '00').slice(0, 2));
  return negative ? -v : v;
};
