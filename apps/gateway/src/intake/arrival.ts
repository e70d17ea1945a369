/**
 * A message at the edge, decoded exactly once (issue 12 item 1): the bytes as they came
 * (`received`, stored in the inbox as they are, docs/adr/0012) and the canonical message the one
 * decoder made of them (`decoded`). The Kafka ingress picks a lane by `decoded`'s person, HTTP
 * checks the route and the credential's hospital on it, the intake routes on its kind; nothing
 * after this reads the raw text again.
 */
import {
  type CanonicalMessage,
  type InboundDecoded,
  decodeJsonMessage,
  decodeStoredMessage,
  decodeXmlMessage,
} from '@onebill/messaging/canonical';
import type { DecodeError } from '@onebill/messaging/xml';
import { type Received, receive } from './model';

export interface Arrival {
  received: Received;
  decoded: InboundDecoded;
}

function refused(received: Received, read: InboundDecoded | null): InboundDecoded {
  const problem = received.problem!;
  const error = { ...problem } as DecodeError;
  const named = read === null ? null : read.ok ? read.message : read;
  return {
    ok: false,
    errors: [error],
    kind: named?.kind ?? null,
    hospital: named?.hospital ?? null,
    person: named?.person ?? null,
  };
}

/**
 * An XML message's bytes (Kafka, HTTP application/xml). A message over the size cap is refused
 * as TOO_LARGE; where its text is kept whole it is still read once (to twice the cap) for the
 * hospital it is recorded under.
 */
export function arriveXml(message: Buffer | string, maxBytes: number): Arrival {
  const received = receive(message, maxBytes);
  if (received.problem !== null) {
    const read =
      received.text === null ? null : decodeXmlMessage(received.text, { maxBytes: 2 * maxBytes });
    return { received, decoded: refused(received, read) };
  }
  return { received, decoded: decodeXmlMessage(received.text!, { maxBytes }) };
}

/**
 * A JSON message (HTTP application/json): the tree the body parser made, decoded once into the
 * canonical message, and the request's bytes kept as they came (never turned into XML).
 */
export function arriveJson(tree: unknown, bytes: Buffer, maxBytes: number): Arrival {
  const received = receive(bytes, maxBytes);
  if (received.problem !== null) return { received, decoded: refused(received, null) };
  return { received, decoded: decodeJsonMessage(tree) };
}

/** A message as stored (a console resubmission of an edited reject: XML, or JSON as sent). */
export function arriveStored(text: string, maxBytes: number): Arrival {
  const received = receive(text, maxBytes);
  if (received.problem !== null) return { received, decoded: refused(received, null) };
  return { received, decoded: decodeStoredMessage(text, { maxBytes }) };
}

/** The canonical message, when the arrival decoded. */
export function messageOf(a: Arrival): CanonicalMessage | null {
  return a.decoded.ok ? a.decoded.message : null;
}

/** The hospital the decoder read in the message (decoded or not), or null. */
export function namedHospitalOf(a: Arrival): string | null {
  return a.decoded.ok ? a.decoded.message.hospital : a.decoded.hospital;
}

/** The person the decoder read in the message (decoded or not), or null. */
export function namedPersonOf(a: Arrival): string | null {
  return a.decoded.ok ? a.decoded.message.person : a.decoded.person;
}
