/**
 * The canonical inbound message (issue 12 item 1): every message the gateway takes in — a
 * discharge, reversal or admission over Kafka or HTTP (XML or JSON), a console resubmission, an
 * identity change — is decoded exactly once, at the edge, into one of these. Nothing downstream
 * reads the raw text again: the intake routes on `kind`, the Kafka ingress picks a lane by
 * `person`, a reject is recorded under `hospital`. The raw bytes are still kept beside it
 * (docs/adr/0012), and the bill's identity is a hash of its canonical form (docs/adr/0017).
 *
 * XML is read by fast-xml-parser with the limits of `xml/decode.ts`; JSON by `JSON.parse` (the
 * transport's body parser), mapped field by field through the same DTOs and rules. A JSON body
 * is never turned into XML.
 */
import type { Bill } from '@onebill/engine/types';
import type { DecodeError } from '../xml/errors';
import {
  type Admission,
  type DecodeOptions,
  DEFAULT_MAX_BYTES,
  type MessageRoot,
  MESSAGE_ROOTS,
  type Reversal,
  acceptedBill,
  admissionOf,
  describeChar,
  dischargeOf,
  forbiddenIn,
  namedIn,
  parseAccepted,
  parseMessage,
  reversalOf,
} from '../xml/decode';
import {
  type IdentityChange,
  type IdentityProblem,
  decodeIdentityChange,
  identityChangeOf,
} from '../events/identity-change';

export type InboundKind = 'discharge' | 'reversal' | 'admission' | 'identity-change';

/**
 * The decoder that produced a message: bumped whenever the mapping from the wire to the
 * canonical message changes (a bill's identity does not depend on it; docs/adr/0017).
 */
export const DECODER_VERSION = 'onebill-decoder/2';

/** The contract versions this decoder reads, per kind (the `version` attribute of the XML). */
export const CONTRACT_VERSIONS: Readonly<Record<InboundKind, string>> = {
  discharge: '1',
  reversal: '1',
  admission: '1',
  'identity-change': '1',
};

interface Envelope {
  /** the institution the message is for (null only for an identity change) */
  hospital: string | null;
  /** the insured person (psn_no); null for a reversal, which names the visit only */
  person: string | null;
  /** the visit (mdtrt_id); null for an identity change */
  visit: string | null;
  contractVersion: string;
  decoderVersion: string;
  /** the wire form it came in */
  format: 'xml' | 'json';
}

export interface DischargeMessage extends Envelope {
  kind: 'discharge';
  hospital: string;
  person: string;
  visit: string;
  bill: Bill;
  /** the patient's name and ID number where the message carries them (never logged) */
  patient: { name?: string; certno?: string };
}
export interface ReversalMessage extends Envelope {
  kind: 'reversal';
  hospital: string;
  visit: string;
  reversal: Reversal;
}
export interface AdmissionMessage extends Envelope {
  kind: 'admission';
  hospital: string;
  person: string;
  visit: string;
  admission: Admission;
}
export interface IdentityChangeMessage extends Envelope {
  kind: 'identity-change';
  hospital: null;
  person: string;
  visit: null;
  change: IdentityChange;
}

export type CanonicalMessage =
  DischargeMessage | ReversalMessage | AdmissionMessage | IdentityChangeMessage;

/**
 * A message that did not decode: its reasons, and what the parser could still read in it (the
 * kind, hospital and person of a well-formed message that breaks a rule), to record the reject
 * under and to keep one person's messages in order.
 */
export interface Undecoded {
  ok: false;
  errors: DecodeError[];
  kind: InboundKind | null;
  hospital: string | null;
  person: string | null;
}

export type InboundDecoded = { ok: true; message: CanonicalMessage } | Undecoded;

function envelope(
  format: 'xml' | 'json',
  kind: InboundKind,
): Omit<Envelope, 'hospital' | 'person' | 'visit'> {
  return { contractVersion: CONTRACT_VERSIONS[kind], decoderVersion: DECODER_VERSION, format };
}

function undecoded(
  errors: DecodeError[],
  kind: InboundKind | null,
  read: Record<string, unknown> | undefined,
): Undecoded {
  return { ok: false, errors, kind, ...namedIn(read) };
}

/** A parsed body of a known root to its canonical message, every rule of the contract checked. */
function fromBody(
  root: MessageRoot,
  body: Record<string, unknown>,
  format: 'xml' | 'json',
): InboundDecoded {
  const base = envelope(format, root);
  switch (root) {
    case 'discharge': {
      const d = dischargeOf(body);
      if (!d.ok) return undecoded(d.errors, root, body);
      const { bill } = d;
      return {
        ok: true,
        message: {
          ...base,
          kind: 'discharge',
          hospital: bill.fixmedinsCode,
          person: bill.psnNo,
          visit: bill.mdtrtId,
          bill,
          patient: d.person,
        },
      };
    }
    case 'reversal': {
      const d = reversalOf(body);
      if (!d.ok) return undecoded(d.errors, root, body);
      const r = d.reversal;
      return {
        ok: true,
        message: {
          ...base,
          kind: 'reversal',
          hospital: r.fixmedinsCode,
          person: null,
          visit: r.mdtrtId,
          reversal: r,
        },
      };
    }
    case 'admission': {
      const d = admissionOf(body);
      if (!d.ok) return undecoded(d.errors, root, body);
      const a = d.admission;
      return {
        ok: true,
        message: {
          ...base,
          kind: 'admission',
          hospital: a.fixmedinsCode,
          person: a.psnNo,
          visit: a.mdtrtId,
          admission: a,
        },
      };
    }
  }
}

function isRoot(root: string): root is MessageRoot {
  return (MESSAGE_ROOTS as readonly string[]).includes(root);
}

/**
 * An XML message (its text: bytes become text only through `messageText`) decoded once. With
 * `expect`, a message of another root is refused as WRONG_ROOT.
 */
export function decodeXmlMessage(
  text: string,
  opts: DecodeOptions & { expect?: MessageRoot } = {},
): InboundDecoded {
  const roots = opts.expect === undefined ? MESSAGE_ROOTS : [opts.expect];
  const pre = parseMessage(text, roots, opts);
  if (!pre.ok) {
    const kind = pre.root !== undefined && isRoot(pre.root) ? pre.root : null;
    return undecoded(pre.errors, kind, pre.read);
  }
  if (!isRoot(pre.root)) return undecoded([], null, pre.body);
  return fromBody(pre.root, pre.body, 'xml');
}

const JSON_ROOT: DecodeError = {
  code: 'WRONG_ROOT',
  field: '(message)',
  rule: 'a JSON body has exactly one key: discharge, reversal or admission',
  message: 'expected {"discharge": {…}}, {"reversal": {…}} or {"admission": {…}}',
};

/** A JSON value as the XML text it stands for would read: text, numbers and booleans as text. */
function jsonLeaf(v: unknown): unknown {
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return String(v);
  if (v === null) return '';
  return v;
}

/**
 * The JSON tree of a message (`{"discharge": {…}}`, the XML's element names) as the body the XML
 * parser would give, so both forms map through the same DTOs and rules: leaves as text, the
 * identity list as `{ identity: [...] }`. Nested objects stay objects (the DTO refuses them).
 */
function jsonBody(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { '@_version': '1' };
  for (const [k, v] of Object.entries(body)) {
    if (k === 'identities' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const inner = (v as Record<string, unknown>)['identity'];
      const list = Array.isArray(inner) ? inner : inner === undefined ? [] : [inner];
      out[k] = list.length === 0 ? '' : { identity: list.map(jsonLeaf) };
    } else if (k === 'identities' && Array.isArray(v)) {
      out[k] = v.length === 0 ? '' : { identity: v.map(jsonLeaf) };
    } else out[k] = jsonLeaf(v);
  }
  return out;
}

/**
 * A message sent as JSON (the tree the transport's JSON parser gave) decoded once: the same DTOs,
 * rules and forbidden characters as XML, without XML in between. Its size was the transport's to
 * cap (the caller passes the body's bytes to the intake's size check).
 */
export function decodeJsonMessage(
  input: unknown,
  opts: { expect?: MessageRoot } = {},
): InboundDecoded {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return undecoded([JSON_ROOT], null, undefined);
  const keys = Object.keys(input);
  const root = keys[0];
  if (keys.length !== 1 || root === undefined || !isRoot(root))
    return undecoded([JSON_ROOT], null, undefined);
  const raw = (input as Record<string, unknown>)[root];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return undecoded([JSON_ROOT], root, undefined);
  const body = jsonBody(raw as Record<string, unknown>);
  if (opts.expect !== undefined && opts.expect !== root)
    return undecoded(
      [
        {
          code: 'WRONG_ROOT',
          field: null,
          rule: `root:${opts.expect}`,
          message: `expected one <${opts.expect}> root, got ${root}`,
        },
      ],
      root,
      body,
    );
  const bad = forbiddenIn(body, '');
  if (bad !== null)
    return undecoded(
      [
        {
          code: 'INVALID_CHARACTER',
          field: bad.field,
          rule: 'noControlOrBidiCharacters',
          message:
            `<${bad.field}> holds ${describeChar(bad.char)}: ` +
            'control characters and bidirectional overrides are not accepted',
        },
      ],
      root,
      undefined,
    );
  return fromBody(root, body, 'json');
}

/** Whether a stored message text is the JSON form (its first character opens an object). */
function looksJson(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 0xfeff) continue;
    return c === 123;
  }
  return false;
}

/**
 * A message as stored in the inbox or the archive (XML, or the JSON a client sent), decoded with
 * the one decoder: every rule checked. The console's resubmission of an edited message uses this.
 */
export function decodeStoredMessage(text: string, opts: DecodeOptions = {}): InboundDecoded {
  if (!looksJson(text)) return decodeXmlMessage(text, opts);
  const max = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const size = Buffer.byteLength(text, 'utf8');
  if (size > max)
    return undecoded(
      [
        {
          code: 'TOO_LARGE',
          field: null,
          rule: `maxBytes:${max}`,
          message: `message is ${size} bytes, limit ${max}`,
        },
      ],
      null,
      undefined,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch (e) {
    return undecoded(
      [
        {
          code: 'MALFORMED_XML',
          field: null,
          rule: 'JSON',
          message: `not JSON: ${(e as Error).message}`,
        },
      ],
      null,
      undefined,
    );
  }
  return decodeJsonMessage(parsed);
}

/**
 * The bill of a discharge the gateway has already accepted, read back from the archive (audit
 * replay, top-ups): the one parser and the same mapping, without the validation passes the
 * message went through when it came in, so that a million bills re-decode fast.
 */
export function decodeAcceptedBill(
  text: string,
): { ok: true; bill: Bill } | { ok: false; errors: DecodeError[] } {
  let pre;
  if (looksJson(text)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch (e) {
      return {
        ok: false,
        errors: [
          { code: 'MALFORMED_XML', field: null, rule: 'JSON', message: (e as Error).message },
        ],
      };
    }
    const d = decodeJsonMessage(parsed, { expect: 'discharge' });
    return d.ok && d.message.kind === 'discharge'
      ? { ok: true, bill: d.message.bill }
      : { ok: false, errors: d.ok ? [] : d.errors };
  } else pre = parseAccepted(text);
  if (!pre.ok) return { ok: false, errors: pre.errors };
  if (pre.root !== 'discharge')
    return {
      ok: false,
      errors: [
        { code: 'WRONG_ROOT', field: null, rule: 'root:discharge', message: 'no <discharge>' },
      ],
    };
  const d = acceptedBill(pre.body);
  return d.ok ? { ok: true, bill: d.bill } : d;
}

/**
 * An identity change of `identity.changes.v1` (JSON text, or the tree the HTTP body parser made)
 * decoded once into the canonical message;
 * `categories` are the codes the rule sets know. Its problems keep the feed's own shape.
 */
export function decodeIdentityMessage(
  raw: string | { parsed: unknown },
  categories: ReadonlySet<string>,
):
  | { ok: true; message: IdentityChangeMessage }
  | { ok: false; problems: IdentityProblem[]; person: string | null } {
  // the HTTP body is already parsed by the transport: mapped, not parsed again
  const d =
    typeof raw === 'string'
      ? decodeIdentityChange(raw, categories)
      : identityChangeOf(raw.parsed, categories);
  if (!d.ok) return { ok: false, problems: d.problems, person: null };
  return {
    ok: true,
    message: {
      ...envelope('json', 'identity-change'),
      kind: 'identity-change',
      hospital: null,
      person: d.change.psn_no,
      visit: null,
      change: d.change,
    },
  };
}
