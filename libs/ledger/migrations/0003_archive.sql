-- The tamper-evident archive (issue 5, docs/adr/0007-archive-and-audit.md).
--
-- Every inbound message, every outbound event, every settlement as stored and every reversal is
-- copied into `archive` by triggers, inside the transaction that writes it: nothing is archived
-- that did not commit, and nothing commits unarchived. `archive_chain` links the entries by
-- SHA-256, in the order the sealer (libs/ledger/src/archive.ts) seals them: an altered, removed
-- or inserted entry breaks the chain at that entry, and an altered ledger row no longer matches
-- its archived copy. Both tables are append-only: UPDATE, DELETE and TRUNCATE raise.

CREATE TABLE archive (
  seq            bigserial PRIMARY KEY,
  kind           text        NOT NULL CHECK (kind IN ('in', 'out', 'settlement', 'reversal')),
  -- inbox.id, outbox.event_id, settlements.setl_id, reversals.setl_id
  ref            text        NOT NULL,
  content        text        NOT NULL,
  content_sha256 char(64)    NOT NULL,
  recorded_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX archive_kind_ref ON archive (kind, ref);

CREATE TABLE archive_chain (
  seq        bigint      PRIMARY KEY REFERENCES archive (seq),
  prev_hash  char(64)    NOT NULL,
  hash       char(64)    NOT NULL UNIQUE,
  sealed_at  timestamptz NOT NULL DEFAULT now()
);

-- The settlement as the archive keeps it: every column as written, named one by one so that a
-- column added later does not change the copy of rows written before it. The columns a reversal
-- changes (status, reversed_at) are left out: the reversal has its own entry.
CREATE FUNCTION settlement_canonical(s settlements) RETURNS text
  LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
      'setl_id', s.setl_id, 'fixmedins_code', s.fixmedins_code, 'mdtrt_id', s.mdtrt_id,
      'psn_no', s.psn_no, 'year', s.year, 'body_hash', s.body_hash,
      'rule_set_version', s.rule_set_version, 'category_used', s.category_used,
      'clr_optins', s.clr_optins, 'inbox_id', s.inbox_id, 'setl_time', s.setl_time,
      'event_id', s.event_id, 'accumulators_before', s.accumulators_before,
      'medfee_sumamt', s.medfee_sumamt, 'fulamt_ownpay_amt', s.fulamt_ownpay_amt,
      'overlmt_selfpay', s.overlmt_selfpay, 'preselfpay_amt', s.preselfpay_amt,
      'inscp_scp_amt', s.inscp_scp_amt, 'act_pay_dedc', s.act_pay_dedc, 'hifp_pay', s.hifp_pay,
      'hifmi_pay', s.hifmi_pay, 'maf_pay', s.maf_pay, 'oth_pay', s.oth_pay,
      'fund_pay_sumamt', s.fund_pay_sumamt, 'psn_part_amt', s.psn_part_amt,
      'acct_pay', s.acct_pay, 'psn_cash_pay', s.psn_cash_pay, 'inscp_psn_part', s.inscp_psn_part,
      'result', s.result)::text
  $$;

CREATE FUNCTION reversal_canonical(r reversals) RETURNS text
  LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', r.id, 'setl_id', r.setl_id, 'inbox_id', r.inbox_id,
                              'reason', r.reason)::text
  $$;

CREATE FUNCTION text_sha256(t text) RETURNS char(64)
  LANGUAGE sql IMMUTABLE AS $$ SELECT encode(sha256(convert_to(t, 'UTF8')), 'hex') $$;

CREATE FUNCTION archive_append(p_kind text, p_ref text, p_content text) RETURNS void
  LANGUAGE sql AS $$
    INSERT INTO archive (kind, ref, content, content_sha256)
    VALUES (p_kind, p_ref, p_content, text_sha256(p_content))
  $$;

CREATE FUNCTION archive_inbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM archive_append('in', NEW.id::text, NEW.payload);
  RETURN NULL;
END $$;
CREATE FUNCTION archive_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM archive_append('out', NEW.event_id::text, NEW.payload);
  RETURN NULL;
END $$;
CREATE FUNCTION archive_settlement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM archive_append('settlement', NEW.setl_id, settlement_canonical(NEW));
  RETURN NULL;
END $$;
CREATE FUNCTION archive_reversal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM archive_append('reversal', NEW.setl_id, reversal_canonical(NEW));
  RETURN NULL;
END $$;

-- Rows written before this migration are archived first, in the order they were written.
INSERT INTO archive (kind, ref, content, content_sha256)
SELECT kind, ref, content, text_sha256(content) FROM (
  SELECT 'in' AS kind, i.id::text AS ref, i.payload AS content, i.received_at AS at, 1 AS k, i.id AS n
    FROM inbox i
  UNION ALL
  SELECT 'settlement', s.setl_id, settlement_canonical(s), s.created_at, 2, 0 FROM settlements s
  UNION ALL
  SELECT 'reversal', r.setl_id, reversal_canonical(r), r.created_at, 3, r.id
    FROM reversals r
  UNION ALL
  SELECT 'out', o.event_id::text, o.payload, o.created_at, 4, o.id FROM outbox o
) backlog ORDER BY at, k, n, ref;

CREATE TRIGGER inbox_archive AFTER INSERT ON inbox
  FOR EACH ROW EXECUTE FUNCTION archive_inbox();
CREATE TRIGGER outbox_archive AFTER INSERT ON outbox
  FOR EACH ROW EXECUTE FUNCTION archive_outbox();
CREATE TRIGGER settlements_archive AFTER INSERT ON settlements
  FOR EACH ROW EXECUTE FUNCTION archive_settlement();
CREATE TRIGGER reversals_archive AFTER INSERT ON reversals
  FOR EACH ROW EXECUTE FUNCTION archive_reversal();

CREATE FUNCTION archive_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER archive_append_only BEFORE UPDATE OR DELETE ON archive
  FOR EACH ROW EXECUTE FUNCTION archive_is_append_only();
CREATE TRIGGER archive_no_truncate BEFORE TRUNCATE ON archive
  FOR EACH STATEMENT EXECUTE FUNCTION archive_is_append_only();
CREATE TRIGGER archive_chain_append_only BEFORE UPDATE OR DELETE ON archive_chain
  FOR EACH ROW EXECUTE FUNCTION archive_is_append_only();
CREATE TRIGGER archive_chain_no_truncate BEFORE TRUNCATE ON archive_chain
  FOR EACH STATEMENT EXECUTE FUNCTION archive_is_append_only();

-- Settlement order for audit replay: the moment the row was written under the person's lock,
-- not the start of its transaction (two transactions of one person can start in either order).
ALTER TABLE settlements ALTER COLUMN created_at SET DEFAULT clock_timestamp();
CREATE INDEX settlements_created ON settlements (created_at, setl_id);
