/**
 * A malicious database administrator's edits, each on a fresh ledger in the real PostgreSQL
 * (issue 16's table): bills settled, reversed and resubmitted through the gateway's intake, a
 * retroactive top-up made by an identity change through the identity service, the archive sealed
 * after each with its head signed into a heads file (and, once, to a Kafka topic).
 * The administrator then edits by direct SQL with the triggers off (`session_replication_role =
 * replica`, as the table's owner can), recomputing the archive and the chain where that hides the
 * edit. Each edit must be caught, and the test says by what message.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { HeadPublisher, auditReplay, readHeadsFromKafka } from '@onebill/audit';
import {
  ArchiveSealer,
  type Db,
  type SignedHead,
  loadHeadPublicKey,
  loadHeadSigningKey,
  migrate,
  openDb,
  parseHeadsText,
  recordOperatorAction,
  verifyAgainstHeads,
  verifyArchive,
  withAnchor,
} from '@onebill/ledger';
import { KafkaClient } from '@onebill/messaging';
import { RuleBook } from '@onebill/rules';
import { IdentityService, type TopupOut } from '../apps/gateway/src/identity.service';
import { IntakeService, type Outcome } from '../apps/gateway/src/intake.service';
import { Logger } from '../apps/gateway/src/log';
import { billXml, newRun, reversalXml } from './support/bills';
import { ROOT } from './support/gateway-process';

const rules = RuleBook.load();
const dir = mkdtempSync(join(tmpdir(), 'onebill-tamper-'));
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const KEY = join(dir, 'heads.key');
const PUB = join(dir, 'heads.pub');
writeFileSync(KEY, privateKey.export({ type: 'pkcs8', format: 'pem' }));
writeFileSync(PUB, publicKey.export({ type: 'spki', format: 'pem' }));
const quiet = new Logger('error', {}, () => undefined);

interface Ledger {
  db: Db;
  url: string;
  /** a connection of the administrator's, triggers off */
  dba: Client;
  heads: string;
  intake: IntakeService;
  run: string;
  /** settled bills by visit: setl_id */
  settled: Map<string, string>;
  /** person E's retroactive top-up (visit E0) */
  topup: TopupOut;
  close(): Promise<void>;
}

function settledId(o: Outcome): string {
  if (o.status !== 'settled') throw new Error(`expected a settlement, got ${o.status}`);
  return o.settlement.setlId;
}

/** The XML with the first `<name>` element's text replaced. */
const setTag = (xml: string, name: string, value: string): string =>
  xml.replace(new RegExp(`<${name}>[^<]*</${name}>`), `<${name}>${value}</${name}>`);

/**
 * A fresh database with: three people (two bills each, the second of person B reversed and
 * settled again), a person settled without an identity category and identified later as 低保
 * (a retroactive top-up), a rejected message fixed and resubmitted by an operator; sealed after
 * each message, each head signed into the heads file.
 */
async function ledger(opts: { topic?: string; client?: KafkaClient } = {}): Promise<Ledger> {
  const base = process.env.DATABASE_URL;
  if (base === undefined) throw new Error('DATABASE_URL is set by the integration setup');
  const name = `onebill_tamper_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  const url = u.toString();
  const db = await openDb({ databaseUrl: url, poolSize: 4 });
  await migrate(db);
  const run = newRun('T');
  const heads = join(dir, `${name}.heads`);
  const producer = opts.client?.producer() ?? null;
  const publisher = new HeadPublisher({
    log: { info: () => undefined, warn: () => undefined },
    key: loadHeadSigningKey(KEY),
    file: heads,
    producer,
    ...(opts.topic !== undefined ? { topic: opts.topic } : {}),
  });
  const sealer = new ArchiveSealer(db, undefined, async (h) => {
    await publisher.publish(h);
  });
  const intake = new IntakeService(db, rules, quiet, { maxMessageBytes: 65536 });
  const settled = new Map<string, string>();
  const submit = async (xml: string, by = 'hospital-desk'): Promise<Outcome> => {
    const o = await intake.submit(xml, { kind: 'http', submittedBy: by });
    await sealer.sealNow();
    return o;
  };
  const templates = ['discharge-panzhihua-21-dibao.xml', 'discharge-panzhihua-11-none.xml'];
  for (const person of ['A', 'B', 'C']) {
    for (const [i, t] of templates.entries()) {
      const visit = `${person}${i}`;
      const xml = billXml(run, t, visit, { psn: `${run}P${person}` });
      settled.set(visit, settledId(await submit(xml)));
    }
  }
  // person B's first bill is reversed, then settled again under a new setl_id
  const b0 = billXml(run, templates[0]!, 'B0', { psn: `${run}PB` });
  expect((await submit(reversalXml(b0, settled.get('B0')!))).status).toBe('reversed');
  settled.set('B0', settledId(await submit(b0)));
  // person E: an ordinary outpatient bill of 150.00 in scope, no identity, no commercial insurance;
  // basic 150.00 × 0.60 = 90.00 (panzhihua-2023 EXAMPLE value, level 1), the patient pays 60.00
  let e0 = billXml(run, templates[1]!, 'E0', { psn: `${run}PE` });
  for (const [name, value] of [
    ['cmi_flag', '0'],
    ['medfee_sumamt', '150.00'],
    ['fulamt_ownpay_amt', '0.00'],
    ['overlmt_selfpay', '0.00'],
    ['preselfpay_amt', '0.00'],
    ['inscp_scp_amt', '150.00'],
  ] as const) {
    e0 = setTag(e0, name, value);
  }
  settled.set('E0', settledId(await submit(e0)));
  // then identified by civil affairs as 低保 from before the visit: the change is recorded and
  // the bill recomputed, the difference paid as a top-up (004 第十九条)
  const identities = new IdentityService(db, rules, quiet);
  const change = await identities.process(
    JSON.stringify({
      issuer: 'civil-affairs',
      reference: `${run}-民政-0001`,
      psn_no: `${run}PE`,
      admdvs: '510402',
      category: 'dibao',
      valid_from: '2024-03-01',
      valid_to: null,
    }),
    { kind: 'http', submittedBy: 'operator-li' },
  );
  if (change.status !== 'recorded' || change.topups.length !== 1) {
    throw new Error(`expected one top-up, got ${JSON.stringify(change)}`);
  }
  const topup = change.topups[0]!;
  await sealer.sealNow();
  // a message rejected, then fixed and resubmitted by an operator
  const broken = billXml(run, templates[1]!, 'D0').replace(
    /<psn_no>[^<]*<\/psn_no>/,
    '<psn_no></psn_no>',
  );
  const rejected = await submit(broken);
  if (rejected.status !== 'rejected' || rejected.rejectId === null) {
    throw new Error(`expected a reject, got ${rejected.status}`);
  }
  const fixed = await intake.submit(billXml(run, templates[1]!, 'D0'), {
    kind: 'http',
    submittedBy: 'operator-li',
    resubmissionOf: rejected.rejectId,
  });
  settled.set('D0', settledId(fixed));
  await sealer.sealNow();
  await producer?.disconnect();
  const dba = new Client({ connectionString: url });
  await dba.connect();
  await dba.query('SET session_replication_role = replica');
  return {
    db,
    url,
    dba,
    heads,
    intake,
    run,
    settled,
    topup,
    close: async () => {
      await dba.end();
      await db.close();
      const a = new Client({ connectionString: base });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

const headsOf = (l: Ledger): SignedHead[] => parseHeadsText(readFileSync(l.heads, 'utf8'), l.heads);

async function anchored(l: Ledger) {
  const chain = await verifyArchive(l.db);
  const anchor = await verifyAgainstHeads(l.db, headsOf(l), {
    source: l.heads,
    publicKey: loadHeadPublicKey(PUB),
  });
  return { chain, report: withAnchor(chain, anchor) };
}

/** The administrator rebuilds the chain from `fromSeq` on, as the sealer would. */
async function rechain(l: Ledger, fromSeq: string): Promise<void> {
  await l.dba.query('DELETE FROM archive_chain WHERE seq >= $1', [fromSeq]);
  await new ArchiveSealer(l.db).sealNow();
}

/** The archive entry (sequence number) of person E's top-up. */
async function topupEntry(l: Ledger): Promise<string> {
  const { rows } = await l.db.query<{ seq: string }>(
    `SELECT seq::text AS seq FROM archive WHERE kind = 'topup' AND ref = $1`,
    [l.topup.topupId],
  );
  expect(rows).toHaveLength(1);
  return rows[0]!.seq;
}

/** The administrator's edit of a top-up's amount: 100.00 more assistance, 100.00 less cash. */
async function raiseTopup(l: Ledger): Promise<void> {
  await l.dba.query(
    `UPDATE topups SET assistance = assistance + 100, psn_cash_delta = psn_cash_delta - 100
     WHERE topup_id = $1`,
    [l.topup.topupId],
  );
}

/** The heads' report names a rewrite (HEAD_MISMATCH) and its first bill, `setlId` at `visit`. */
function expectRewriteNamesBill(
  report: Awaited<ReturnType<typeof anchored>>['report'],
  setlId: string,
  visit: string,
): void {
  expect(report.firstBroken).toMatchObject({ reason: 'HEAD_MISMATCH', setlId });
  expect(report.firstBroken!.detail).toMatch(
    new RegExp(
      `^entry \\d+ links to [0-9a-f]{64}, but [0-9a-f]{64} was published for it at .*: rewritten in entries \\d+\\.\\.\\d+; first bill there: ${setlId} \\(H\\d+ visit ${visit}\\)$`,
    ),
  );
}

/** The range `from..to` a HEAD_MISMATCH / HEAD_MISSING detail names. */
function rangeOf(detail: string): [bigint, bigint] {
  const m = /in entries (\d+)\.\.(\d+)/.exec(detail);
  if (m === null) throw new Error(`no range in: ${detail}`);
  return [BigInt(m[1]!), BigInt(m[2]!)];
}

describe('tampering by the database administrator is caught (fresh ledger per edit)', () => {
  let l: Ledger;
  afterEach(async () => {
    await l?.close();
  });

  it('an untouched ledger verifies against its signed heads and replays cleanly', async () => {
    l = await ledger();
    const { report } = await anchored(l);
    expect(report.ok).toBe(true);
    expect(report.anchor.signatures).toBe('verified');
    expect(report.anchor.extended).toBe(report.anchor.published);
    // the report gives the head with its sequence number, the latest published among them
    expect(report.anchor.latestPublished).toEqual(
      expect.objectContaining({ seq: report.headSeq, hash: report.head }),
    );
    const replay = await auditReplay(l.db, rules, { person: `${l.run}PB` });
    expect(replay).toMatchObject({ total: 3, matched: 3, differing: 0, failed: 0 });
    // the top-up is of person E's bill: 低保, ordinary outpatient, 70 % of the in-scope personal
    // part 60.00 = 42.00 more from the assistance fund, 42.00 less cash (004 第十条, 第十九条)
    expect(l.topup).toMatchObject({
      setlId: l.settled.get('E0'),
      deltas: { basic: '0.00', assistance: '42.00' },
      psnCashDelta: '-42.00',
    });
    // and it is in the chain, inside the range of a signed head
    const seq = await topupEntry(l);
    expect(BigInt(seq)).toBeLessThanOrEqual(BigInt(report.headSeq));
    const { rows } = await l.db.query(`SELECT 1 FROM archive_chain WHERE seq = $1`, [seq]);
    expect(rows).toHaveLength(1);
    // the bill as first settled replays: the top-up is a recomputation, not a replay
    const e = await auditReplay(l.db, rules, { person: `${l.run}PE` });
    expect(e).toMatchObject({ total: 1, matched: 1, differing: 0, failed: 0 });
  });

  it('an amount changed with its archived copy and the whole chain recomputed: the heads catch it, at that bill', async () => {
    l = await ledger();
    const target = l.settled.get('A1')!;
    await l.dba.query(
      `UPDATE settlements SET hifp_pay = hifp_pay + 100, fund_pay_sumamt = fund_pay_sumamt + 100,
              psn_part_amt = psn_part_amt - 100, psn_cash_pay = psn_cash_pay - 100
       WHERE setl_id = $1`,
      [target],
    );
    const { rows } = await l.dba.query<{ seq: string }>(
      `UPDATE archive a SET content = settlement_canonical(s),
              content_sha256 = text_sha256(settlement_canonical(s))
       FROM settlements s WHERE a.kind = 'settlement' AND a.ref = s.setl_id AND s.setl_id = $1
       RETURNING a.seq::text AS seq`,
      [target],
    );
    await rechain(l, rows[0]!.seq);
    const { chain, report } = await anchored(l);
    expect(chain.ok).toBe(true); // the recomputed chain is consistent in itself
    expect(report.ok).toBe(false);
    expect(report.firstBroken).toMatchObject({ reason: 'HEAD_MISMATCH', setlId: target });
    expect(report.firstBroken!.detail).toMatch(
      new RegExp(
        `^entry \\d+ links to [0-9a-f]{64}, but [0-9a-f]{64} was published for it at .*: rewritten in entries \\d+\\.\\.\\d+; first bill there: ${target} \\(H\\d+ visit ${l.run}-A1\\)$`,
      ),
    );
  });

  it("a top-up's amount changed: the row differs from its archived copy, at that bill", async () => {
    l = await ledger();
    const seq = await topupEntry(l);
    await raiseTopup(l);
    const { rows } = await l.db.query<{ assistance: string }>(
      `SELECT assistance::text AS assistance FROM topups WHERE topup_id = $1`,
      [l.topup.topupId],
    );
    expect(rows[0]!.assistance).toBe('142.00'); // 42.00 + 100.00: the edit is in the ledger
    const report = await verifyArchive(l.db);
    expect(report.broken.map((b) => [b.seq, b.kind, b.ref, b.reason, b.setlId, b.detail])).toEqual([
      [
        seq,
        'topup',
        l.topup.topupId,
        'LEDGER_ROW_ALTERED',
        l.settled.get('E0'),
        `the topup row ${l.topup.topupId} differs from its archived copy (entry ${seq})`,
      ],
    ]);
  });

  it("a top-up's amount changed with its archived copy and the whole chain recomputed: the heads catch it, at that bill", async () => {
    l = await ledger();
    await raiseTopup(l);
    const { rows } = await l.dba.query<{ seq: string }>(
      `UPDATE archive a SET content = topup_canonical(t),
              content_sha256 = text_sha256(topup_canonical(t))
       FROM topups t WHERE a.kind = 'topup' AND a.ref = t.topup_id AND t.topup_id = $1
       RETURNING a.seq::text AS seq`,
      [l.topup.topupId],
    );
    const seq = rows[0]!.seq;
    await rechain(l, seq);
    const { chain, report } = await anchored(l);
    expect(chain.ok).toBe(true); // the database agrees with itself: the edit is hidden in it
    expect(report.ok).toBe(false);
    const target = l.settled.get('E0')!;
    expectRewriteNamesBill(report, target, `${l.run}-E0`);
    // the range named is the seal that linked the top-up
    const [from, to] = rangeOf(report.firstBroken!.detail);
    expect(BigInt(seq)).toBeGreaterThanOrEqual(from);
    expect(BigInt(seq)).toBeLessThanOrEqual(to);
    // every head published after the edited entry is no longer extended; those before still are
    const after = headsOf(l).filter((h) => BigInt(h.seq) >= BigInt(seq)).length;
    expect(after).toBeGreaterThan(0);
    expect(report.anchor.extended).toBe(report.anchor.published - after);
    expect(report.broken.map((b) => b.reason)).toEqual(Array(after).fill('HEAD_MISMATCH'));
  });

  it('a top-up row deleted: its archived copy has no row in the ledger any more', async () => {
    l = await ledger();
    const seq = await topupEntry(l);
    await l.dba.query(`DELETE FROM topups WHERE topup_id = $1`, [l.topup.topupId]);
    const report = await verifyArchive(l.db);
    expect(report.broken.map((b) => [b.seq, b.kind, b.ref, b.reason, b.setlId, b.detail])).toEqual([
      [
        seq,
        'topup',
        l.topup.topupId,
        'LEDGER_ROW_MISSING',
        l.settled.get('E0'),
        `the topup row ${l.topup.topupId} archived at ${seq} is gone from the ledger`,
      ],
    ]);
  });

  it('a top-up row deleted with its archive entry and the chain recomputed: the heads catch it', async () => {
    l = await ledger();
    const seq = await topupEntry(l);
    await l.dba.query(`DELETE FROM topups WHERE topup_id = $1`, [l.topup.topupId]);
    await l.dba.query(`DELETE FROM archive WHERE seq = $1`, [seq]);
    await rechain(l, seq);
    const { chain, report } = await anchored(l);
    expect(chain.ok).toBe(true);
    expect(report.ok).toBe(false);
    // the top-up's own entry is gone; its event on settlement.events.v1, left in the range, names
    // the bill
    const target = l.settled.get('E0')!;
    expectRewriteNamesBill(report, target, `${l.run}-E0`);
    const [from, to] = rangeOf(report.firstBroken!.detail);
    expect(BigInt(seq)).toBeGreaterThanOrEqual(from);
    expect(BigInt(seq)).toBeLessThanOrEqual(to);
  });

  it('a top-up written around the archive (triggers off): the row has no archive entry', async () => {
    l = await ledger();
    // person E's top-up copied onto person A's second bill, as if A had been identified too
    const forged = `${l.topup.topupId}F`;
    const target = l.settled.get('A1')!;
    await l.dba.query(
      `INSERT INTO topups (topup_id, setl_id, change_id, psn_no, year, identities_used,
                           category_used, result, basic, critical, commercial, assistance, tilted,
                           psn_cash_delta, event_id, accumulators_before, setl_time)
       SELECT $2, $3, change_id, $4, year, identities_used, category_used, result, basic,
              critical, commercial, assistance, tilted, psn_cash_delta, gen_random_uuid(),
              accumulators_before, setl_time
       FROM topups WHERE topup_id = $1`,
      [l.topup.topupId, forged, target, `${l.run}PA`],
    );
    const report = await verifyArchive(l.db);
    expect(
      report.broken.map((b) => [b.seq, b.kind, b.ref, b.reason, b.setlId, b.mdtrtId, b.detail]),
    ).toEqual([
      [
        '-',
        'topup',
        forged,
        'LEDGER_ROW_UNARCHIVED',
        target,
        `${l.run}-A1`,
        `top-up ${forged} of settlement ${target} has no archive entry (written around the archive)`,
      ],
    ]);
  });

  it('a whole bill deleted with its archive entries and the chain recomputed: the heads catch it', async () => {
    l = await ledger();
    const target = l.settled.get('C1')!;
    const { rows } = await l.dba.query<{ inbox_id: string; event_id: string }>(
      `SELECT inbox_id::text AS inbox_id, event_id::text AS event_id FROM settlements WHERE setl_id = $1`,
      [target],
    );
    const { inbox_id: inboxId } = rows[0]!;
    const { rows: entries } = await l.dba.query<{ seq: string }>(
      `DELETE FROM archive WHERE (kind IN ('in', 'submission') AND ref = $1)
          OR (kind = 'settlement' AND ref = $2)
          OR (kind = 'out' AND ref IN (SELECT event_id::text FROM outbox
                                       WHERE payload LIKE '%' || $2 || '%'))
       RETURNING seq::text AS seq`,
      [inboxId, target],
    );
    const first = entries.map((e) => BigInt(e.seq)).sort((a, b) => (a < b ? -1 : 1))[0]!;
    await l.dba.query(`DELETE FROM outbox WHERE payload LIKE '%' || $1 || '%'`, [target]);
    await l.dba.query(`DELETE FROM settlements WHERE setl_id = $1`, [target]);
    await l.dba.query(`DELETE FROM inbox WHERE id = $1`, [inboxId]);
    // the person's position put back to where it stood before the bill, archive included
    await l.dba.query(
      `UPDATE accumulators SET data = (SELECT a.content::jsonb -> 'data' FROM archive a
                                       WHERE a.kind = 'accumulators' AND a.ref = $1 || '/2024'
                                         AND a.seq < $2 ORDER BY a.seq DESC LIMIT 1),
              version = version - 1
       WHERE psn_no = $1 AND year = 2024`,
      [`${l.run}PC`, first.toString()],
    );
    await l.dba.query(
      `DELETE FROM archive WHERE kind = 'accumulators' AND ref = $1 || '/2024' AND seq > $2`,
      [`${l.run}PC`, first.toString()],
    );
    await l.dba.query('DELETE FROM archive_chain WHERE seq >= $1', [first.toString()]);
    await new ArchiveSealer(l.db).sealNow();
    const { chain, report } = await anchored(l);
    expect(chain.ok).toBe(true);
    expect((await auditReplay(l.db, rules, {})).differing).toBe(0);
    expect(report.ok).toBe(false);
    expect(['HEAD_MISSING', 'HEAD_MISMATCH']).toContain(report.firstBroken!.reason);
    expect(report.firstBroken!.detail).toMatch(
      new RegExp(`(no longer reaches entry|links to).*in entries ${first}\\.\\.\\d+`),
    );
  });

  it('the last 8 entries cut off the end: the chain no longer reaches the published head', async () => {
    l = await ledger();
    const { rows } = await l.dba.query<{ seq: string }>(
      `SELECT c.seq::text AS seq FROM archive_chain c ORDER BY c.seq DESC LIMIT 8`,
    );
    const cut = rows.at(-1)!.seq;
    await l.dba.query('DELETE FROM archive_chain WHERE seq >= $1', [cut]);
    await l.dba.query('DELETE FROM archive WHERE seq >= $1', [cut]);
    const { report } = await anchored(l);
    expect(report.ok).toBe(false);
    const head = report.broken.find((b) => b.reason === 'HEAD_MISSING')!;
    expect(head.detail).toMatch(
      /^the chain no longer reaches entry \d+, whose head [0-9a-f]{64} was published at .*: cut off or removed in entries \d+\.\.\d+; first bill there: /,
    );
    // the resubmitted bill was the last: its settlement is still there, without its entry
    expect(head.setlId).toBe(l.settled.get('D0'));
    // and through the command line, as an auditor runs it
    const cli = spawnSync(
      process.execPath,
      [
        join(ROOT, 'node_modules/tsx/dist/cli.mjs'),
        'scripts/audit.ts',
        'archive',
        'verify',
        '--against',
        l.heads,
        '--public-key',
        PUB,
      ],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: l.url }, encoding: 'utf8' },
    );
    expect(cli.status).toBe(1);
    const out = JSON.parse(cli.stdout) as typeof report;
    expect(out.firstBroken).toMatchObject({ reason: 'HEAD_MISSING', setlId: l.settled.get('D0') });
    expect(out.anchor.signatures).toBe('verified');
  });

  it("status='reversed' without a reversal: caught with triggers off and with them on", async () => {
    l = await ledger();
    const hidden = l.settled.get('A0')!;
    await l.dba.query(
      `UPDATE settlements SET status = 'reversed', reversed_at = now() WHERE setl_id = $1`,
      [hidden],
    );
    let report = await verifyArchive(l.db);
    expect(report.broken.map((b) => [b.reason, b.setlId, b.detail])).toEqual([
      [
        'STATUS_ALTERED',
        hidden,
        `settlement ${hidden} is reversed but its archived status is settled`,
      ],
      ['REVERSAL_MISSING', hidden, `settlement ${hidden} is reversed but has no reversal`],
    ]);
    // with the triggers on the change is archived: the missing reversal still shows
    const open = l.settled.get('C0')!;
    await l.db.query(
      `UPDATE settlements SET status = 'reversed', reversed_at = now() WHERE setl_id = $1`,
      [open],
    );
    report = await verifyArchive(l.db);
    expect(report.broken.filter((b) => b.setlId === open).map((b) => b.reason)).toEqual([
      'REVERSAL_MISSING',
    ]);
  });

  it('the year-to-date accumulators edited: the row differs from its copy, and the next bill does not start where the last ended', async () => {
    l = await ledger();
    const psn = `${l.run}PA`;
    await l.dba.query(
      `UPDATE accumulators SET data = jsonb_set(data, '{cashSelfPay}', '"0.00"')
       WHERE psn_no = $1 AND year = 2024`,
      [psn],
    );
    const report = await verifyArchive(l.db);
    expect(report.firstBroken).toMatchObject({
      kind: 'accumulators',
      ref: `${psn}/2024`,
      reason: 'LEDGER_ROW_ALTERED',
    });
    expect(report.firstBroken!.detail).toMatch(
      new RegExp(`^the accumulators row ${psn}/2024 differs from its archived copy`),
    );
    // the next bill settles on the edited position; replay shows it
    const next = await l.intake.submit(
      billXml(l.run, 'discharge-panzhihua-11-none.xml', 'A2', { psn }),
      { kind: 'http', submittedBy: 'hospital-desk' },
    );
    const replay = await auditReplay(l.db, rules, { person: psn });
    expect(replay.differing).toBe(1);
    expect(replay.differences[0]!.setlId).toBe(settledId(next));
    expect(replay.differences[0]!.diffs).toContainEqual(
      expect.objectContaining({ field: 'accumulators_before.cashSelfPay', stored: '0.00' }),
    );
  });

  it('who submitted or resubmitted a message, or an operator action, edited: caught at that row', async () => {
    l = await ledger();
    const { rows } = await l.db.query<{ id: string }>(
      `SELECT inbox_id::text AS id FROM settlements WHERE setl_id = $1`,
      [l.settled.get('B1')],
    );
    await l.dba.query(`UPDATE inbox SET submitted_by = 'someone-else' WHERE id = $1`, [
      rows[0]!.id,
    ]);
    await l.dba.query(`UPDATE rejects SET resubmitted_by = 'someone-else'`);
    // an operator's recorded action, rewritten
    await recordOperatorAction(l.db, {
      actor: 'operator-li',
      role: 'operator',
      action: 'reverse',
      target: l.settled.get('A0')!,
      outcome: 'reversed',
    });
    await new ArchiveSealer(l.db).sealNow();
    await l.dba.query(`UPDATE operator_actions SET actor = 'someone-else'`);
    const report = await verifyArchive(l.db);
    expect(report.broken.map((b) => [b.kind, b.reason])).toEqual([
      ['submission', 'LEDGER_ROW_ALTERED'],
      ['resubmission', 'LEDGER_ROW_ALTERED'],
      ['operator', 'LEDGER_ROW_ALTERED'],
    ]);
    expect(report.broken[0]!.detail).toBe(
      `the submission row ${rows[0]!.id} differs from its archived copy (entry ${report.broken[0]!.seq})`,
    );
  });

  it('heads published to Kafka anchor the chain the same way', async () => {
    const client = new KafkaClient({
      brokers: (process.env.KAFKA_BROKERS ?? '').split(','),
      clientId: 'tamper-heads',
      logLevel: 'nothing',
    });
    const topic = `audit.archive-heads.v1-${newRun('K')}`;
    await client.admin().ensureTopics([{ topic, numPartitions: 1 }]);
    try {
      l = await ledger({ topic, client });
      const fromKafka = await readHeadsFromKafka(client, topic);
      expect(fromKafka).toEqual(headsOf(l));
      await l.dba.query('DELETE FROM archive_chain WHERE seq > 3');
      await new ArchiveSealer(l.db).sealNow(); // the same entries chained again: same hashes
      const clean = await verifyAgainstHeads(l.db, fromKafka, {
        source: `kafka:${topic}`,
        publicKey: loadHeadPublicKey(PUB),
      });
      expect(clean.problems).toEqual([]);
      // a head altered after it was signed is refused, not compared
      const forged = { ...fromKafka.at(-1)!, hash: 'f'.repeat(64) };
      const r = await verifyAgainstHeads(l.db, [...fromKafka, forged], {
        source: `kafka:${topic}`,
        publicKey: loadHeadPublicKey(PUB),
      });
      expect(r.problems.map((p) => p.reason)).toEqual(['HEAD_SIGNATURE_INVALID']);
    } finally {
      await client.admin().deleteTopics([topic]);
      await client.close();
    }
  });
});
