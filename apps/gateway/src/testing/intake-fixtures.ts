/**
 * What the intake's specs on the embedded store share: an intake and an identity service on a
 * migrated in-memory PGlite with the shipped rule sets, and the messages they feed it (an ordinary
 * outpatient visit made from the shipped Panzhihua example, an identity change, a reversal).
 * Test code only (tsconfig.build.json leaves `testing/` folders out).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PgliteDb } from '@onebill/ledger';
import { openTestPglite } from '@onebill/ledger/testing/pglite';
import { sumAmounts } from '@onebill/money';
import { RuleBook, projectRoot } from '@onebill/rules';
import { IdentityService } from '../identity.service';
import { IntakeService } from '../intake.service';
import { Logger } from '../log';

export const EXAMPLES = join(projectRoot(), 'contracts/discharge/examples');
/** Panzhihua ordinary outpatient at H51040000006 (东区 510402, level 1), no identity. */
export const OUTPATIENT = readFileSync(join(EXAMPLES, 'discharge-panzhihua-11-none.xml'), 'utf8');

/** A shipped example message, as text. */
export const example = (file: string): string => readFileSync(join(EXAMPLES, file), 'utf8');

/** The XML with the text of element `name` replaced (every occurrence); throws if it has none. */
export function withTag(xml: string, name: string, value: string): string {
  const re = new RegExp(`<${name}>[^<]*</${name}>`, 'g');
  if (!re.test(xml)) throw new Error(`the example has no <${name}>`);
  return xml.replace(re, `<${name}>${value}</${name}>`);
}

/** The XML without element `name`; throws if it has none. */
export function withoutTag(xml: string, name: string): string {
  const out = xml.replace(new RegExp(`\\s*<${name}>[^<]*</${name}>`), '');
  if (out === xml) throw new Error(`the example has no <${name}>`);
  return out;
}

/** The XML with the first `<name>` element's text replaced. */
export function setTag(xml: string, name: string, value: string): string {
  return xml.replace(new RegExp(`<${name}>[^<]*</${name}>`), `<${name}>${value}</${name}>`);
}

export interface Visit {
  xml: string;
  mdtrtId: string;
  fixmedinsCode: string;
}

/**
 * An ordinary outpatient visit of `psn` on `day`: `inscp` in scope, `own` out of scope (all the
 * patient's), the total their sum; `identities` is the message's own `<identities>` content.
 */
export function outpatientVisit(o: {
  psn: string;
  day: string;
  inscp: string;
  own?: string;
  identities?: string;
  mdtrtId?: string;
}): Visit {
  const own = o.own ?? '0.00';
  const mdtrtId = o.mdtrtId ?? `MDT-${randomUUID().slice(0, 12)}`;
  let x = setTag(OUTPATIENT, 'mdtrt_id', mdtrtId);
  x = setTag(x, 'psn_no', o.psn);
  x = setTag(x, 'cmi_flag', '0');
  x = setTag(x, 'begntime', `${o.day} 08:30:00`);
  x = setTag(x, 'endtime', `${o.day} 11:45:00`);
  x = setTag(x, 'medfee_sumamt', sumAmounts([o.inscp, own]));
  x = setTag(x, 'fulamt_ownpay_amt', own);
  x = setTag(x, 'overlmt_selfpay', '0.00');
  x = setTag(x, 'preselfpay_amt', '0.00');
  x = setTag(x, 'inscp_scp_amt', o.inscp);
  if (o.identities !== undefined && o.identities !== '') {
    x = x.replace('<identities/>', `<identities>${o.identities}</identities>`);
  }
  const fixmedinsCode = /<fixmedins_code>([^<]+)</.exec(x)?.[1] ?? '';
  return { xml: x, mdtrtId, fixmedinsCode };
}

/** A reversal (2305) of a visit, without setl_id. */
export function reversalXml(fixmedinsCode: string, mdtrtId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><reversal version="1"><fixmedins_code>${fixmedinsCode}` +
    `</fixmedins_code><mdtrt_id>${mdtrtId}</mdtrt_id><reason>费用录入错误</reason></reversal>`
  );
}

/** An identity change of the civil-affairs feed (contracts/events/identity-change.v1). */
export function identityChange(
  psn: string,
  category: string,
  from: string,
  to: string | null = null,
  ref: string = randomUUID(),
): string {
  return JSON.stringify({
    issuer: 'civil-affairs',
    reference: ref,
    psn_no: psn,
    admdvs: '510402',
    category,
    valid_from: from,
    valid_to: to,
  });
}

export interface IntakeOnPglite {
  db: PgliteDb;
  intake: IntakeService;
  identities: IdentityService;
  rules: RuleBook;
}

/**
 * An intake and an identity service on a fresh, migrated in-memory PGlite, with the shipped rule
 * sets or the given rule book (e.g. one with a throwaway region, libs/rules/src/testing).
 */
export async function intakeOnPglite(rules: RuleBook = RuleBook.load()): Promise<IntakeOnPglite> {
  const log = new Logger('error', {}, () => undefined);
  const db = await openTestPglite({ migrate: true });
  return {
    db,
    rules,
    intake: new IntakeService(db, rules, log, { maxMessageBytes: 65536 }),
    identities: new IdentityService(db, rules, log),
  };
}
