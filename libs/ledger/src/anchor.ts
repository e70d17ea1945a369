/**
 * Anchoring the archive's hash chain outside the database (docs/adr/0015-audit-trust.md).
 *
 * A chain alone cannot show that its end was cut off, or that someone with the owner's rights
 * rewrote an entry and recomputed every link after it: the recomputed chain is consistent. Each
 * seal therefore publishes its head (sequence number, hash, time), signed with an Ed25519 key the
 * database never sees, to places the database's administrator cannot rewrite (a Kafka topic, the
 * log, a file the auditor keeps). `verifyAgainstHeads` then proves the chain as it stands still
 * has, at each published sequence number, the published hash.
 */
import {
  type KeyObject,
  createHash,
  createPrivateKey,
  createPublicKey,
  sign,
  verify,
} from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import type { SealedHead, BrokenLink, VerifyReport } from './archive';
import type { Queryable } from './db';

/** One published head, as it travels (Kafka value, log line, heads-file line). */
export interface SignedHead {
  v: 1;
  seq: string;
  hash: string;
  sealed_at: string;
  first_seq: string;
  entries: number;
  /** sha256 of the signing key's public key (SPKI DER), hex; null when unsigned */
  key: string | null;
  /** Ed25519 signature of `headSigningText`, base64; null when unsigned */
  sig: string | null;
}

export class HeadKeyError extends Error {}
export class HeadsFormatError extends Error {}

/** The bytes a head's signature covers. */
export function headSigningText(h: Omit<SignedHead, 'key' | 'sig' | 'v'>): string {
  return `onebill-archive-head.v1\n${h.seq}\n${h.hash}\n${h.sealed_at}\n${h.first_seq}\n${h.entries}`;
}

function ed25519(key: KeyObject, path: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new HeadKeyError(`${path}: an Ed25519 key is needed, this is ${key.asymmetricKeyType}`);
  }
  return key;
}

/** The private key that signs heads (PEM, PKCS#8: `openssl genpkey -algorithm ed25519`). */
export function loadHeadSigningKey(path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path));
  } catch (e) {
    throw new HeadKeyError(
      `${path}: not a private key (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  return ed25519(key, path);
}

/** The public key that checks heads (PEM SPKI; a private key's PEM is accepted too). */
export function loadHeadPublicKey(path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(readFileSync(path));
  } catch (e) {
    throw new HeadKeyError(
      `${path}: not a public key (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  return ed25519(key, path);
}

/** sha256 of the public key (SPKI DER), hex: names the key a head was signed with. */
export function keyFingerprint(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

export function signHead(head: SealedHead, key: KeyObject | null): SignedHead {
  const h = {
    seq: head.seq,
    hash: head.hash,
    sealed_at: head.sealedAt,
    first_seq: head.firstSeq,
    entries: head.entries,
  };
  return {
    v: 1,
    ...h,
    key: key === null ? null : keyFingerprint(key),
    sig: key === null ? null : sign(null, Buffer.from(headSigningText(h)), key).toString('base64'),
  };
}

/** Appends one head as a line of JSON to the auditor's heads file. */
export function appendHeadLine(path: string, head: SignedHead): void {
  appendFileSync(path, `${JSON.stringify(head)}\n`);
}

/** A head read from JSON; throws HeadsFormatError naming what is wrong. */
export function parseHead(text: string, where: string): SignedHead {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new HeadsFormatError(`${where}: not JSON`);
  }
  const r = o as Record<string, unknown>;
  const ok =
    typeof o === 'object' &&
    o !== null &&
    r['v'] === 1 &&
    typeof r['seq'] === 'string' &&
    /^\d+$/.test(r['seq']) &&
    typeof r['hash'] === 'string' &&
    /^[0-9a-f]{64}$/.test(r['hash']) &&
    typeof r['sealed_at'] === 'string' &&
    typeof r['first_seq'] === 'string' &&
    /^\d+$/.test(r['first_seq']) &&
    typeof r['entries'] === 'number' &&
    (r['key'] === null || typeof r['key'] === 'string') &&
    (r['sig'] === null || typeof r['sig'] === 'string');
  if (!ok) {
    throw new HeadsFormatError(
      `${where}: not an archive head (v 1, seq, hash, sealed_at, first_seq, entries, key, sig)`,
    );
  }
  return r as unknown as SignedHead;
}

/** The heads of a heads file, one JSON line each (blank lines ignored). */
export function parseHeadsText(text: string, source: string): SignedHead[] {
  const out: SignedHead[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    out.push(parseHead(line, `${source} line ${i + 1}`));
  });
  return out;
}

export interface AnchorReport {
  /** where the heads came from (a file, kafka:<topic>) */
  source: string;
  /** heads read */
  published: number;
  /** 'verified': every head's signature checked with the given public key */
  signatures: 'verified' | 'not checked';
  /** the latest head published, with its sequence number */
  latestPublished: { seq: string; hash: string; sealedAt: string } | null;
  /** heads the chain as it stands still extends */
  extended: number;
  problems: BrokenLink[];
}

function checkSignature(h: SignedHead, key: KeyObject, fingerprint: string): string | null {
  if (h.sig === null || h.key === null) return 'the head is not signed';
  if (h.key !== fingerprint) return `signed with another key (${h.key.slice(0, 16)}…)`;
  const good = verify(null, Buffer.from(headSigningText(h)), key, Buffer.from(h.sig, 'base64'));
  return good ? null : 'the signature does not verify';
}

interface BillRef {
  setlId: string;
  fixmedinsCode: string;
  mdtrtId: string;
}

/**
 * The first bill among the archive entries in (after, upTo] (a settlement, its reversal or status,
 * a top-up, or an event naming its setl_id), or among settlements unarchived.
 */
async function firstBillIn(q: Queryable, after: string, upTo: string): Promise<BillRef | null> {
  const { rows } = await q.query<{ setl_id: string; fixmedins_code: string; mdtrt_id: string }>(
    `SELECT s.setl_id, s.fixmedins_code, s.mdtrt_id
     FROM archive a
     JOIN LATERAL (
       SELECT x.setl_id, x.fixmedins_code, x.mdtrt_id FROM settlements x
       WHERE (a.kind IN ('settlement', 'reversal', 'status') AND x.setl_id = a.ref)
          OR (a.kind = 'topup' AND x.setl_id = a.content::jsonb ->> 'setl_id')
          OR (a.kind = 'out' AND x.event_id::text = a.ref)
          -- another event of the bill (a top-up, a reversal, the hospital's answer) names it
          OR (a.kind = 'out' AND x.setl_id = substring(a.content FROM '"setl_id"[[:space:]]*:[[:space:]]*"([^"]+)"'))
       LIMIT 1) s ON true
     WHERE a.seq > $1::bigint AND a.seq <= $2::bigint
       AND a.kind IN ('settlement', 'reversal', 'status', 'topup', 'out')
     ORDER BY a.seq LIMIT 1`,
    [after, upTo],
  );
  // the entries are gone: a settlement still in the ledger without its archive entry
  const { rows: gone } =
    rows.length > 0
      ? { rows }
      : await q.query<{ setl_id: string; fixmedins_code: string; mdtrt_id: string }>(
          `SELECT s.setl_id, s.fixmedins_code, s.mdtrt_id FROM settlements s
           WHERE NOT EXISTS (SELECT 1 FROM archive a
                             WHERE a.kind = 'settlement' AND a.ref = s.setl_id)
           ORDER BY s.seq LIMIT 1`,
        );
  const r = gone[0];
  return r ? { setlId: r.setl_id, fixmedinsCode: r.fixmedins_code, mdtrtId: r.mdtrt_id } : null;
}

/**
 * Proves the chain as it stands extends every published head: at each head's sequence number the
 * link is there with the head's hash. A missing link is a truncation, another hash a rewrite;
 * the first one names the range of entries it lies in and the first bill there. With a public
 * key, every head's signature is checked first (a head that does not verify is not trusted).
 */
export async function verifyAgainstHeads(
  q: Queryable,
  heads: readonly SignedHead[],
  opts: { source: string; publicKey?: KeyObject | null; maxProblems?: number },
): Promise<AnchorReport> {
  const maxProblems = opts.maxProblems ?? 100;
  const key = opts.publicKey ?? null;
  const fingerprint = key === null ? '' : keyFingerprint(key);
  const problems: BrokenLink[] = [];
  const trusted: SignedHead[] = [];
  for (const h of heads) {
    const bad = key === null ? null : checkSignature(h, key, fingerprint);
    if (bad === null) trusted.push(h);
    else if (problems.length < maxProblems) {
      problems.push({
        seq: h.seq,
        kind: 'head',
        ref: h.hash,
        reason: 'HEAD_SIGNATURE_INVALID',
        detail: `the head published for entry ${h.seq} at ${h.sealed_at}: ${bad}`,
      });
    }
  }
  trusted.sort((a, b) =>
    BigInt(a.seq) < BigInt(b.seq) ? -1 : BigInt(a.seq) > BigInt(b.seq) ? 1 : 0,
  );
  const links = new Map<string, string>();
  const seqs = [...new Set(trusted.map((h) => h.seq))];
  for (let i = 0; i < seqs.length; i += 1000) {
    const { rows } = await q.query<{ seq: string; hash: string }>(
      `SELECT seq::text AS seq, hash FROM archive_chain WHERE seq = ANY($1::bigint[])`,
      [seqs.slice(i, i + 1000)],
    );
    for (const r of rows) links.set(r.seq, r.hash);
  }
  let lastGood = '0';
  let extended = 0;
  let named = false;
  for (const h of trusted) {
    const link = links.get(h.seq);
    if (link === h.hash) {
      extended += 1;
      if (problems.every((p) => p.reason === 'HEAD_SIGNATURE_INVALID')) lastGood = h.seq;
      continue;
    }
    // a missing link: the chain now ends before it, and what follows its end is what was cut
    let from = lastGood;
    if (link === undefined) {
      const { rows } = await q.query<{ seq: string | null }>(
        `SELECT max(seq)::text AS seq FROM archive_chain WHERE seq < $1::bigint`,
        [h.seq],
      );
      const end = rows[0]?.seq ?? '0';
      if (BigInt(end) > BigInt(from)) from = end;
    }
    const range = `entries ${BigInt(from) + 1n}..${h.seq}`;
    const problem: BrokenLink =
      link === undefined
        ? {
            seq: h.seq,
            kind: 'head',
            ref: h.hash,
            reason: 'HEAD_MISSING',
            detail: `the chain no longer reaches entry ${h.seq}, whose head ${h.hash} was published at ${h.sealed_at}: cut off or removed in ${range}`,
          }
        : {
            seq: h.seq,
            kind: 'head',
            ref: h.hash,
            reason: 'HEAD_MISMATCH',
            detail: `entry ${h.seq} links to ${link}, but ${h.hash} was published for it at ${h.sealed_at}: rewritten in ${range}`,
          };
    if (!named) {
      named = true;
      const bill = await firstBillIn(q, from, h.seq);
      if (bill !== null) {
        Object.assign(problem, bill);
        problem.detail += `; first bill there: ${bill.setlId} (${bill.fixmedinsCode} visit ${bill.mdtrtId})`;
      } else {
        problem.detail += '; no bill of those entries is left in the database to name';
      }
    }
    if (problems.length < maxProblems) problems.push(problem);
  }
  const latest = trusted.at(-1) ?? null;
  return {
    source: opts.source,
    published: heads.length,
    signatures: key === null ? 'not checked' : 'verified',
    latestPublished:
      latest === null ? null : { seq: latest.seq, hash: latest.hash, sealedAt: latest.sealed_at },
    extended,
    problems,
  };
}

/** A verification report with the anchor check folded in: the anchor's problems come first. */
export function withAnchor(
  report: VerifyReport,
  anchor: AnchorReport,
): VerifyReport & { anchor: AnchorReport } {
  const broken = [...anchor.problems, ...report.broken];
  return {
    ...report,
    ok: report.ok && anchor.problems.length === 0,
    firstBroken: broken[0] ?? null,
    broken,
    brokenCount: report.brokenCount + anchor.problems.length,
    anchor,
  };
}
