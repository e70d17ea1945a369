/**
 * `his.discharge.rejected.v1`: a message the gateway did not settle, with every reason and a
 * bounded excerpt of the original (docs/adr/0011). The whole original never goes into the event:
 * JSON-escaped, a message under the broker's 1 MB limit became a 2 MB event the broker refused,
 * and the outbox stopped. The event says how large the original was, its SHA-256, and where the
 * stored original is (the reject, GET /api/v1/rejects/{id}). A message that fits in the excerpt is
 * carried whole, as before (`original_truncated: false`).
 * JSON Schema: contracts/events/discharge-rejected.v1.schema.json.
 */
import { createHash } from 'node:crypto';

/** UTF-8 bytes of the original carried in the event at most. */
export const REJECT_EXCERPT_BYTES = 4096;

export interface RejectProblem {
  code: string;
  field: string | null;
  rule: string;
  message: string;
}

export interface RejectSource {
  kind: 'kafka' | 'http';
  topic?: string | null;
  partition?: number | null;
  offset?: string | null;
}

export interface DischargeRejectedEvent {
  reject_id: string;
  status: 'rejected' | 'conflict';
  reason_code: string;
  field: string | null;
  rule: string;
  message: string;
  errors: RejectProblem[];
  source: {
    kind: 'kafka' | 'http';
    topic: string | null;
    partition: number | null;
    offset: string | null;
  };
  /** the original whole when it fits in REJECT_EXCERPT_BYTES, else its first bytes */
  original_payload: string;
  original_truncated: boolean;
  /** size of the original in bytes */
  original_bytes: number;
  /** SHA-256 (hex) of the original's bytes */
  original_sha256: string;
  /** where the stored original is: the reject's HTTP resource */
  original_ref: string;
}

export interface OriginalExcerpt {
  excerpt: string;
  truncated: boolean;
  bytes: number;
  sha256: string;
}

/**
 * The first `maxBytes` UTF-8 bytes of a message, cut back to a character boundary (never half a
 * character), with its size and SHA-256. Text is hashed and measured as UTF-8; bytes as they are
 * (and decoded as UTF-8, invalid sequences as U+FFFD, for the excerpt).
 */
export function originalExcerpt(
  original: string | Uint8Array,
  maxBytes = REJECT_EXCERPT_BYTES,
): OriginalExcerpt {
  const bytes =
    typeof original === 'string' ? Buffer.from(original, 'utf8') : Buffer.from(original);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length <= maxBytes) {
    return {
      excerpt: typeof original === 'string' ? original : bytes.toString('utf8'),
      truncated: false,
      bytes: bytes.length,
      sha256,
    };
  }
  let end = maxBytes;
  // back off over continuation bytes (10xxxxxx) to the start of the character cut in two
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return {
    excerpt: bytes.subarray(0, end).toString('utf8'),
    truncated: true,
    bytes: bytes.length,
    sha256,
  };
}

/** The value of a reject event: the reasons, where the message came from, and its excerpt. */
export function rejectEventPayload(input: {
  rejectId: string;
  status: 'rejected' | 'conflict';
  problems: readonly RejectProblem[];
  source: RejectSource;
  original: string | Uint8Array;
  excerptBytes?: number;
}): DischargeRejectedEvent {
  const first = input.problems[0];
  if (first === undefined) throw new Error('a reject needs at least one problem');
  const original = originalExcerpt(input.original, input.excerptBytes);
  return {
    reject_id: input.rejectId,
    status: input.status,
    reason_code: first.code,
    field: first.field,
    rule: first.rule,
    message: first.message,
    errors: [...input.problems],
    source: {
      kind: input.source.kind,
      topic: input.source.topic ?? null,
      partition: input.source.partition ?? null,
      offset: input.source.offset ?? null,
    },
    original_payload: original.excerpt,
    original_truncated: original.truncated,
    original_bytes: original.bytes,
    original_sha256: original.sha256,
    original_ref: `/api/v1/rejects/${input.rejectId}`,
  };
}
