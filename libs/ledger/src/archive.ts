/**
 * The tamper-evident archive (migrations/0003_archive.sql, docs/adr/0007-archive-and-audit.md).
 *
 * Triggers copy every inbound message, outbound event, settlement and reversal into `archive` in
 * the writing transaction. The sealer links the committed entries into a SHA-256 chain
 * (`archive_chain`) outside those transactions, so that settling bills never waits on one global
 * lock. `verifyArchive` walks the chain and reports the first broken link: an archive entry whose
 * content no longer hashes to its recorded hash, a chain link that does not follow from the one
 * before, or a ledger row (inbox, outbox, settlement, reversal) that no longer matches its
 * archived copy.
 */
import type { Db, Queryable } from './db';
import { sha256 } from './repositories';

export const GENESIS_HASH = '0'.repeat(64);
/** Arbitrary constant: the advisory-lock key that makes one sealer at a time extend the chain. */
const SEAL_LOCK_KEY = 7_208_310_391;

export function linkHash(
  prevHash: string,
  seq: string,
  kind: string,
  ref: string,
  contentSha256: string,
): string {
  return sha256(`${prevHash}\n${seq}\n${kind}\n${ref}\n${contentSha256}`);
}

interface Watermark {
  /** the archive sequence's last allocated value when it was taken */
  upTo: bigint;
  /** a transaction id assigned just after the sequence was read: every writer of an entry up to
   * `upTo` has a lower one */
  xmax: bigint;
}

/** The archive's last allocated number now ('0' before the first entry). */
export async function archiveLastSeq(q: Queryable): Promise<string> {
  const { rows } = await q.query<{ last: string }>(
    `SELECT (CASE WHEN is_called THEN last_value ELSE 0 END)::text AS last FROM archive_seq_seq`,
  );
  return rows[0]?.last ?? '0';
}

async function watermark(q: Queryable): Promise<Watermark & { xmin: bigint }> {
  // The sequence first, the snapshot in a later statement: a sequence is read as it is now, a
  // statement's snapshot as it was when the statement began, so in one statement an entry numbered
  // by a transaction that took its id after the snapshot could fall under the watermark without
  // being waited for, and be left out of the chain (ENTRY_UNCHAINED).
  const { rows: seq } = await q.query<{ last: string }>(
    `SELECT (CASE WHEN is_called THEN last_value ELSE 0 END)::text AS last FROM archive_seq_seq`,
  );
  // `xmax` is a transaction id assigned now, after the sequence was read: every entry numbered up
  // to `upTo` was written by a transaction whose id is lower (its first write, the archived row,
  // came before the archive's insert took the number). A snapshot's own xmax will not do: it is
  // one past the highest *completed* id, and a long transaction (a group-commit chunk) can hold an
  // id above it and a number under the watermark — sealed past, it was left out of the chain.
  const { rows } = await q.query<{ xmin: string; xmax: string }>(
    `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
            pg_current_xact_id()::text AS xmax`,
  );
  const r = rows[0]!;
  return { xmin: BigInt(r.xmin), xmax: BigInt(r.xmax), upTo: BigInt(seq[0]?.last ?? '0') };
}

/**
 * Extends the chain over committed archive entries.
 *
 * Entries take their sequence number inside the writing transaction, and transactions commit in
 * any order, so "the highest number seen" is not safe: a lower number may still commit. The
 * sealer therefore takes a watermark (the sequence's last value and the snapshot's xmax) and
 * seals up to it only once every transaction running at that moment has ended (a later snapshot's
 * xmin has passed the watermark's xmax). Entries of rolled-back transactions leave gaps, which the
 * chain skips. A sealing lags one tick behind the writes.
 */
export class ArchiveSealer {
  private pending: Watermark | null = null;

  /**
   * `onSeal` is called after each step that sealed something, with the new head: publish it
   * where the database's administrator cannot rewrite it (docs/adr/0015-audit-trust.md).
   */
  constructor(
    private readonly db: Db,
    private readonly batchSize = 5000,
    private readonly onSeal?: (head: SealedHead) => Promise<void> | void,
  ) {}

  /** One step: seals what the previous watermark made safe and takes a new one. */
  async tick(): Promise<number> {
    const now = await watermark(this.db);
    let sealed = 0;
    if (this.pending !== null && now.xmin >= this.pending.xmax) {
      sealed = await this.sealUpTo(this.pending.upTo);
      this.pending = null;
    }
    if (this.pending === null) this.pending = { upTo: now.upTo, xmax: now.xmax };
    return sealed;
  }

  /**
   * Seals everything committed now, waiting for transactions in flight to end (a command-line
   * verification, a test after the traffic stopped).
   */
  async sealNow(pollMs = 50, timeoutMs = 60_000): Promise<number> {
    const target = await watermark(this.db);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = await watermark(this.db);
      // this session holds no transaction here, so xmin passes xmax once the others have ended
      if (now.xmin >= target.xmax) return this.sealUpTo(target.upTo);
      if (Date.now() > deadline) {
        throw new Error(`archive sealing waited ${timeoutMs} ms for transactions to end`);
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  private async sealUpTo(upTo: bigint): Promise<number> {
    let first: string | null = null;
    const total = await this.sealBatches(upTo, (seq) => (first ??= seq));
    if (total > 0 && first !== null && this.onSeal !== undefined) {
      const head = await currentHead(this.db);
      if (head !== null) await this.onSeal({ ...head, firstSeq: first, entries: total });
    }
    return total;
  }

  private async sealBatches(upTo: bigint, onFirst: (seq: string) => void): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.db.transaction(async (tx) => {
        const { rows: locked } = await tx.query<{ ok: boolean }>(
          'SELECT pg_try_advisory_xact_lock($1) AS ok',
          [SEAL_LOCK_KEY],
        );
        if (locked[0]?.ok !== true) return 0;
        const { rows: last } = await tx.query<{ seq: string; hash: string }>(
          'SELECT c.seq::text AS seq, c.hash FROM archive_chain c ORDER BY c.seq DESC LIMIT 1',
        );
        let prev = last[0]?.hash ?? GENESIS_HASH;
        const after = last[0]?.seq ?? '0';
        const { rows } = await tx.query<{
          seq: string;
          kind: string;
          ref: string;
          content_sha256: string;
        }>(
          `SELECT a.seq::text AS seq, a.kind, a.ref, a.content_sha256 FROM archive a
           WHERE a.seq > $1::bigint AND a.seq <= $2::bigint ORDER BY a.seq LIMIT $3`,
          [after, upTo.toString(), this.batchSize],
        );
        if (rows.length === 0) return 0;
        onFirst(rows[0]!.seq);
        const values: string[] = [];
        const params: string[] = [];
        for (const r of rows) {
          const hash = linkHash(prev, r.seq, r.kind, r.ref, r.content_sha256);
          params.push(r.seq, prev, hash);
          const i = params.length;
          values.push(`($${i - 2}::bigint, $${i - 1}, $${i})`);
          prev = hash;
        }
        await tx.query(
          `INSERT INTO archive_chain (seq, prev_hash, hash) VALUES ${values.join(', ')}`,
          params,
        );
        return rows.length;
      });
      total += n;
      if (n < this.batchSize) return total;
    }
  }
}

/** The chain's end after a seal: what is published to anchor it outside the database. */
export interface ArchiveHead {
  /** sequence number of the last link */
  seq: string;
  /** its hash */
  hash: string;
  /** when it was sealed (ISO 8601, UTC) */
  sealedAt: string;
}

export interface SealedHead extends ArchiveHead {
  /** the first entry this seal linked */
  firstSeq: string;
  /** how many entries this seal linked */
  entries: number;
}

/** The last link of the chain, or null before the first seal. */
export async function currentHead(q: Queryable): Promise<ArchiveHead | null> {
  const { rows } = await q.query<{ seq: string; hash: string; sealed_at: string }>(
    `SELECT c.seq::text AS seq, c.hash, utc_text(c.sealed_at) AS sealed_at
     FROM archive_chain c ORDER BY c.seq DESC LIMIT 1`,
  );
  const r = rows[0];
  return r ? { seq: r.seq, hash: r.hash, sealedAt: r.sealed_at } : null;
}

export type BrokenReason =
  | 'CONTENT_ALTERED'
  | 'LINK_BROKEN'
  | 'ENTRY_MISSING'
  | 'LEDGER_ROW_ALTERED'
  | 'LEDGER_ROW_MISSING'
  | 'ENTRY_UNCHAINED'
  | 'LEDGER_ROW_UNARCHIVED'
  /** a settlement's status is not the last one archived for it */
  | 'STATUS_ALTERED'
  /** a reversed settlement without its reversal, or a reversal of a settlement still settled */
  | 'REVERSAL_MISSING'
  /** the chain no longer reaches a head published earlier (truncated) */
  | 'HEAD_MISSING'
  /** the chain has another hash at a published head's sequence number (rewritten) */
  | 'HEAD_MISMATCH'
  /** a published head whose signature does not verify with the auditor's public key */
  | 'HEAD_SIGNATURE_INVALID';

export interface BrokenLink {
  seq: string;
  kind: string;
  ref: string;
  reason: BrokenReason;
  detail: string;
  /** the bill the entry belongs to, where it names one */
  setlId?: string;
  fixmedinsCode?: string;
  mdtrtId?: string;
}

export interface VerifyReport {
  ok: boolean;
  /** chain links walked */
  checked: number;
  /** archive entries not sealed yet (written after the last seal) */
  unsealed: number;
  /** the hash of the last link: publish it (logs, reports) to anchor the chain's end */
  head: string;
  /** the sequence number of the last link ('0': nothing sealed yet) */
  headSeq: string;
  firstBroken: BrokenLink | null;
  /** every broken link found, at most `maxBroken` */
  broken: BrokenLink[];
  brokenCount: number;
}

interface ChainRow {
  seq: string;
  prev_hash: string;
  hash: string;
  a_seq: string | null;
  kind: string | null;
  ref: string | null;
  content: string | null;
  content_sha256: string | null;
  ledger_sha: string | null;
}

function billOf(kind: string, content: string | null): Partial<BrokenLink> {
  if (
    content === null ||
    (kind !== 'settlement' && kind !== 'out' && kind !== 'reversal' && kind !== 'topup')
  ) {
    return {};
  }
  try {
    const o = JSON.parse(content) as Record<string, unknown>;
    const s = (k: string): string | undefined => (typeof o[k] === 'string' ? o[k] : undefined);
    const out: Partial<BrokenLink> = {};
    if (s('setl_id')) out.setlId = s('setl_id');
    if (s('fixmedins_code')) out.fixmedinsCode = s('fixmedins_code');
    if (s('mdtrt_id')) out.mdtrtId = s('mdtrt_id');
    return out;
  } catch {
    return {};
  }
}

/**
 * Walks the chain from the start. Read-only. `maxBroken` bounds the list (the count is exact).
 */
export async function verifyArchive(
  q: Queryable,
  opts: {
    batchSize?: number;
    maxBroken?: number;
    onProgress?: (checked: number) => void;
    /**
     * count as unsealed only entries numbered up to this (the archive's last number when the
     * verification was asked for): the request's own operator action, archived as it starts, is
     * not yet sealed and is not what the caller asks about
     */
    unsealedUpTo?: string;
  } = {},
): Promise<VerifyReport> {
  const batchSize = opts.batchSize ?? 2000;
  const maxBroken = opts.maxBroken ?? 100;
  const broken: BrokenLink[] = [];
  let brokenCount = 0;
  let checked = 0;
  let prev = GENESIS_HASH;
  let after = '0';
  const flag = (b: BrokenLink): void => {
    brokenCount += 1;
    if (broken.length < maxBroken) broken.push(b);
  };
  for (;;) {
    const { rows } = await q.query<ChainRow>(
      `SELECT c.seq::text AS seq, c.prev_hash, c.hash, a.seq::text AS a_seq, a.kind, a.ref,
              a.content, a.content_sha256,
              CASE a.kind
                WHEN 'in' THEN (SELECT text_sha256(inbox_archive_content(i)) FROM inbox i
                                WHERE i.id = a.ref::bigint)
                WHEN 'out' THEN (SELECT text_sha256(o.payload) FROM outbox o
                                 WHERE o.event_id = a.ref::uuid)
                WHEN 'settlement' THEN (SELECT text_sha256(settlement_canonical(s))
                                        FROM settlements s WHERE s.setl_id = a.ref)
                WHEN 'reversal' THEN (SELECT text_sha256(reversal_canonical(r))
                                      FROM reversals r WHERE r.setl_id = a.ref)
                WHEN 'topup' THEN (SELECT text_sha256(topup_canonical(t))
                                   FROM topups t WHERE t.topup_id = a.ref)
                -- a status change: the settlement is there (its current status is held to the
                -- last archived one after the walk)
                WHEN 'status' THEN (SELECT a.content_sha256 FROM settlements s
                                    WHERE s.setl_id = a.ref)
                WHEN 'submission' THEN (SELECT text_sha256(inbox_submission_canonical(i))
                                        FROM inbox i WHERE i.id = a.ref::bigint)
                WHEN 'resubmission' THEN (SELECT text_sha256(reject_resubmission_canonical(r))
                                          FROM rejects r WHERE r.id = a.ref::bigint)
                WHEN 'operator' THEN (SELECT text_sha256(operator_action_canonical(o))
                                      FROM operator_actions o WHERE o.id = a.ref::bigint)
                -- a person's position: the row as it stands is the last copy archived; an
                -- earlier copy only needs the row to be there
                WHEN 'accumulators' THEN (
                  SELECT CASE WHEN a.seq = (SELECT max(l.seq) FROM archive l
                                            WHERE l.kind = 'accumulators' AND l.ref = a.ref)
                              THEN text_sha256(accumulators_canonical(x))
                              ELSE a.content_sha256 END
                  FROM accumulators x
                  WHERE x.psn_no = substring(a.ref FROM '^(.*)/[0-9]+$')
                    AND x.year = substring(a.ref FROM '/([0-9]+)$')::integer)
              END AS ledger_sha
       FROM archive_chain c LEFT JOIN archive a ON a.seq = c.seq
       WHERE c.seq > $1::bigint ORDER BY c.seq LIMIT $2`,
      [after, batchSize],
    );
    for (const r of rows) {
      checked += 1;
      after = r.seq;
      if (r.a_seq === null || r.kind === null || r.ref === null || r.content === null) {
        flag({
          seq: r.seq,
          kind: '?',
          ref: '?',
          reason: 'ENTRY_MISSING',
          detail: `chain link ${r.seq} has no archive entry`,
        });
        prev = r.hash;
        continue;
      }
      const where = { seq: r.seq, kind: r.kind, ref: r.ref, ...billOf(r.kind, r.content) };
      const actual = sha256(r.content);
      if (actual !== r.content_sha256) {
        flag({
          ...where,
          reason: 'CONTENT_ALTERED',
          detail: `archived ${r.kind} ${r.ref} hashes to ${actual}, recorded ${r.content_sha256}`,
        });
      }
      const expected = linkHash(prev, r.seq, r.kind, r.ref, r.content_sha256 ?? '');
      if (r.prev_hash !== prev || r.hash !== expected) {
        flag({
          ...where,
          reason: 'LINK_BROKEN',
          detail: `link ${r.seq} does not follow from the link before it`,
        });
      }
      if (r.ledger_sha === null) {
        flag({
          ...where,
          reason: 'LEDGER_ROW_MISSING',
          detail: `the ${r.kind} row ${r.ref} archived at ${r.seq} is gone from the ledger`,
        });
      } else if (r.ledger_sha !== r.content_sha256) {
        flag({
          ...where,
          reason: 'LEDGER_ROW_ALTERED',
          detail: `the ${r.kind} row ${r.ref} differs from its archived copy (entry ${r.seq})`,
        });
      }
      prev = r.hash;
    }
    opts.onProgress?.(checked);
    if (rows.length < batchSize) break;
  }
  // an entry slipped in below the sealed end, or a settlement written around the triggers
  const { rows: unchained } = await q.query<{ seq: string; kind: string; ref: string }>(
    `SELECT a.seq::text AS seq, a.kind, a.ref FROM archive a
     WHERE a.seq <= $1::bigint AND NOT EXISTS (SELECT 1 FROM archive_chain c WHERE c.seq = a.seq)
     ORDER BY a.seq LIMIT $2`,
    [after, maxBroken],
  );
  for (const r of unchained) {
    flag({
      ...r,
      reason: 'ENTRY_UNCHAINED',
      detail: `archive entry ${r.seq} lies inside the sealed range but is not chained`,
    });
  }
  const { rows: unarchived } = await q.query<{
    setl_id: string;
    fixmedins_code: string;
    mdtrt_id: string;
  }>(
    `SELECT s.setl_id, s.fixmedins_code, s.mdtrt_id FROM settlements s
     WHERE NOT EXISTS (SELECT 1 FROM archive a WHERE a.kind = 'settlement' AND a.ref = s.setl_id)
     ORDER BY s.seq LIMIT $1`,
    [maxBroken],
  );
  for (const r of unarchived) {
    flag({
      seq: '-',
      kind: 'settlement',
      ref: r.setl_id,
      setlId: r.setl_id,
      fixmedinsCode: r.fixmedins_code,
      mdtrtId: r.mdtrt_id,
      reason: 'LEDGER_ROW_UNARCHIVED',
      detail: `settlement ${r.setl_id} has no archive entry (written around the archive)`,
    });
  }
  // a top-up moves money as a settlement does: one written around the archive is flagged too
  const { rows: topupsUnarchived } = await q.query<{
    topup_id: string;
    setl_id: string;
    fixmedins_code: string | null;
    mdtrt_id: string | null;
  }>(
    `SELECT t.topup_id, t.setl_id, s.fixmedins_code, s.mdtrt_id
     FROM topups t LEFT JOIN settlements s ON s.setl_id = t.setl_id
     WHERE NOT EXISTS (SELECT 1 FROM archive a WHERE a.kind = 'topup' AND a.ref = t.topup_id)
     ORDER BY t.id LIMIT $1`,
    [maxBroken],
  );
  for (const r of topupsUnarchived) {
    flag({
      seq: '-',
      kind: 'topup',
      ref: r.topup_id,
      setlId: r.setl_id,
      ...(r.fixmedins_code !== null ? { fixmedinsCode: r.fixmedins_code } : {}),
      ...(r.mdtrt_id !== null ? { mdtrtId: r.mdtrt_id } : {}),
      reason: 'LEDGER_ROW_UNARCHIVED',
      detail: `top-up ${r.topup_id} of settlement ${r.setl_id} has no archive entry (written around the archive)`,
    });
  }
  await checkStatuses(q, maxBroken, flag);
  const { rows: accUnarchived } = await q.query<{ psn_no: string; year: number }>(
    `SELECT x.psn_no, x.year FROM accumulators x
     WHERE NOT EXISTS (SELECT 1 FROM archive a
                       WHERE a.kind = 'accumulators' AND a.ref = x.psn_no || '/' || x.year)
     ORDER BY x.psn_no, x.year LIMIT $1`,
    [maxBroken],
  );
  for (const r of accUnarchived) {
    flag({
      seq: '-',
      kind: 'accumulators',
      ref: `${r.psn_no}/${r.year}`,
      reason: 'LEDGER_ROW_UNARCHIVED',
      detail: `the accumulators of ${r.psn_no} for ${r.year} have no archive entry (written around the archive)`,
    });
  }
  const { rows: resubUnarchived } = await q.query<{ id: string; fixmedins_code: string | null }>(
    `SELECT r.id::text AS id, r.fixmedins_code FROM rejects r
     WHERE r.resubmitted_as IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM archive a WHERE a.kind = 'resubmission' AND a.ref = r.id::text)
     ORDER BY r.id LIMIT $1`,
    [maxBroken],
  );
  for (const r of resubUnarchived) {
    flag({
      seq: '-',
      kind: 'resubmission',
      ref: r.id,
      ...(r.fixmedins_code !== null ? { fixmedinsCode: r.fixmedins_code } : {}),
      reason: 'LEDGER_ROW_UNARCHIVED',
      detail: `reject ${r.id} is marked resubmitted but the resubmission has no archive entry`,
    });
  }
  const { rows: un } = await q.query<{ n: string }>(
    opts.unsealedUpTo === undefined
      ? `SELECT count(*)::text AS n FROM archive WHERE seq > $1::bigint`
      : `SELECT count(*)::text AS n FROM archive WHERE seq > $1::bigint AND seq <= $2::bigint`,
    opts.unsealedUpTo === undefined ? [after] : [after, opts.unsealedUpTo],
  );
  return {
    ok: brokenCount === 0,
    checked,
    unsealed: Number(un[0]?.n ?? 0),
    head: prev,
    headSeq: after,
    firstBroken: broken[0] ?? null,
    broken,
    brokenCount,
  };
}

/**
 * Each settlement's status against the last status archived for it (none archived: 'settled'),
 * and a reversed status against the reversal that must come with it.
 */
async function checkStatuses(
  q: Queryable,
  maxBroken: number,
  flag: (b: BrokenLink) => void,
): Promise<void> {
  const { rows } = await q.query<{
    setl_id: string;
    fixmedins_code: string;
    mdtrt_id: string;
    status: string;
    archived: string | null;
    archived_seq: string | null;
    has_reversal: boolean;
  }>(
    `WITH candidates AS (
       SELECT setl_id FROM settlements WHERE status <> 'settled'
       UNION SELECT ref FROM archive WHERE kind = 'status'
       UNION SELECT setl_id FROM reversals)
     SELECT s.setl_id, s.fixmedins_code, s.mdtrt_id, s.status, st.status AS archived,
            st.seq AS archived_seq,
            EXISTS (SELECT 1 FROM reversals r WHERE r.setl_id = s.setl_id) AS has_reversal
     FROM candidates c JOIN settlements s ON s.setl_id = c.setl_id
     LEFT JOIN LATERAL (
       SELECT a.content::jsonb ->> 'status' AS status, a.seq::text AS seq FROM archive a
       WHERE a.kind = 'status' AND a.ref = s.setl_id ORDER BY a.seq DESC LIMIT 1) st ON true
     WHERE s.status <> coalesce(st.status, 'settled')
        OR (s.status = 'reversed') <> EXISTS (SELECT 1 FROM reversals r WHERE r.setl_id = s.setl_id)
     ORDER BY s.seq LIMIT $1`,
    [maxBroken],
  );
  for (const r of rows) {
    const where = {
      seq: r.archived_seq ?? '-',
      kind: 'status',
      ref: r.setl_id,
      setlId: r.setl_id,
      fixmedinsCode: r.fixmedins_code,
      mdtrtId: r.mdtrt_id,
    };
    const archived = r.archived ?? 'settled';
    if (r.status !== archived) {
      flag({
        ...where,
        reason: 'STATUS_ALTERED',
        detail: `settlement ${r.setl_id} is ${r.status} but its archived status is ${archived}`,
      });
    }
    if ((r.status === 'reversed') !== r.has_reversal) {
      flag({
        ...where,
        reason: 'REVERSAL_MISSING',
        detail:
          r.status === 'reversed'
            ? `settlement ${r.setl_id} is reversed but has no reversal`
            : `settlement ${r.setl_id} has a reversal but is ${r.status}`,
      });
    }
  }
}
