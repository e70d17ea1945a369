/**
 * What a handler is given. Every handler takes the transaction (`tx`) and the decoded message
 * explicitly and opens no transaction of its own: the caller owns the transaction, so a whole
 * Kafka batch can later share one (group commit) with each message's handler run inside it.
 */
import type { Queryable } from '@onebill/ledger';
import type { RuleBook } from '@onebill/rules';
import type { Received, Source } from './model';

/** What every handler needs beyond the message: the rules and the gateway's clock. */
export interface IntakeDeps {
  rules: RuleBook;
  now: () => Date;
}

/** One message inside the caller's transaction, its inbox row written. */
export interface MessageContext {
  tx: Queryable;
  inboxId: string;
  source: Source;
  correlationId: string;
  received: Received;
  /** the hospital the message is recorded under (credential, decoder, Kafka key), or null */
  hospital: string | null;
}
