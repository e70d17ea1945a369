/**
 * What a handler is given. Every handler takes the transaction (`tx`) and the decoded message
 * explicitly and opens no transaction of its own: the caller owns the transaction, so a whole
 * Kafka batch shares one (group commit, docs/adr/0020) with each message's handler run inside it.
 *
 * The ledger's hot calls go through `scope` (a `BillScope`): `directScope(tx)` for a message in a
 * transaction of its own (HTTP, the console, the per-message Kafka path), the batch's bill scope
 * under group commit (settlement, position, outbox and inbox status staged and written set-based).
 * Every other statement goes through `tx` (= `scope.tx`), never a Queryable kept from elsewhere.
 */
import type { BillScope, Queryable } from '@onebill/ledger';
import type { RuleBook } from '@onebill/rules';
import type { Received, Source } from './model';

/** What every handler needs beyond the message: the rules and the gateway's clock. */
export interface IntakeDeps {
  rules: RuleBook;
  now: () => Date;
}

/** One message inside the caller's transaction, its inbox row written. */
export interface MessageContext {
  /** `scope.tx`: statements of the message's own (rejects, alerts, admissions, reversals) */
  tx: Queryable;
  /** the ledger's per-bill calls (docs/adr/0020's table) */
  scope: BillScope;
  inboxId: string;
  source: Source;
  correlationId: string;
  received: Received;
  /** the hospital the message is recorded under (credential, decoder, Kafka key), or null */
  hospital: string | null;
}
