-- Withdrawing a mistaken identity period (issue 15 item 6, docs/adr/0009 decision 8a).
--
-- A period (a person's category from a valid_from, as the registry's changes left it) sent by
-- mistake — a wrong valid_from, the wrong person — is withdrawn by an operator, never deleted:
-- identity_changes stays the history, and this table says which of its changes no longer count.
-- A withdrawal covers the period's changes up to the latest one received when it was made
-- (last_change_id); a change of the same period received later is a new fact from the issuer and
-- counts again. Who, when and why are also kept in operator_actions (archived, hash-chained),
-- written in the same transaction, whose detail names this row.
CREATE TABLE identity_withdrawals (
  id             bigserial   PRIMARY KEY,
  psn_no         text        NOT NULL,
  category       text        NOT NULL,
  valid_from     date        NOT NULL,
  last_change_id bigint      NOT NULL UNIQUE REFERENCES identity_changes (id),
  reason         text        NOT NULL CHECK (length(btrim(reason)) > 0),
  withdrawn_by   text        NOT NULL,
  withdrawn_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX identity_withdrawals_period ON identity_withdrawals (psn_no, category, valid_from);

-- Append-only, like the archive and the operators' log: a withdrawal is not itself withdrawn by
-- editing it (a period sent again by its issuer counts again).
CREATE TRIGGER identity_withdrawals_append_only BEFORE UPDATE OR DELETE ON identity_withdrawals
  FOR EACH ROW EXECUTE FUNCTION archive_is_append_only();
CREATE TRIGGER identity_withdrawals_no_truncate BEFORE TRUNCATE ON identity_withdrawals
  FOR EACH STATEMENT EXECUTE FUNCTION archive_is_append_only();
