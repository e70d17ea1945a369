-- Identity registry, retroactive top-ups and high-burden alerts (issue 6, docs/adr/0009).

-- Every identity change received (identity.changes.v1), kept for ever: the registry is their
-- history. A change is one (issuer, reference): the same again is a duplicate, not a new change.
CREATE TABLE identity_changes (
  id             bigserial   PRIMARY KEY,
  issuer         text        NOT NULL,
  reference      text        NOT NULL,
  psn_no         text        NOT NULL,
  -- the county (admdvs) of the person's registration: the enrollment-subsidy report's key
  admdvs         text        NOT NULL,
  category       text        NOT NULL,
  valid_from     date        NOT NULL,
  valid_to       date,
  content_sha256 char(64)    NOT NULL,
  inbox_id       bigint      REFERENCES inbox (id),
  received_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (issuer, reference),
  CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX identity_changes_person ON identity_changes (psn_no, category, valid_from, id);
CREATE INDEX identity_changes_county ON identity_changes (admdvs);

-- The identities a bill was computed with when the registry replaced the message's (NULL: the
-- message's own). Audit replay uses them.
ALTER TABLE settlements ADD COLUMN identities_used jsonb;

CREATE OR REPLACE FUNCTION settlement_canonical(s settlements) RETURNS text
  LANGUAGE sql STABLE AS $$
    SELECT (jsonb_build_object(
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
      'result', s.result)
      -- added by this migration; absent from the copies of rows written before it
      || CASE WHEN s.identities_used IS NULL THEN '{}'::jsonb
              ELSE jsonb_build_object('identities_used', s.identities_used) END)::text
  $$;

-- A retroactive top-up (004 第十九条): a settled bill recomputed with identities the registry
-- learned later; what the funds pay more. Never negative (no claw-back).
CREATE TABLE topups (
  id              bigserial     PRIMARY KEY,
  topup_id        text          NOT NULL UNIQUE,
  setl_id         text          NOT NULL REFERENCES settlements (setl_id),
  change_id       bigint        NOT NULL REFERENCES identity_changes (id),
  psn_no          text          NOT NULL,
  year            integer       NOT NULL,
  identities_used jsonb         NOT NULL,
  category_used   text,
  -- the recomputed bill (the engine's result, accumulators after it included)
  result          jsonb         NOT NULL,
  basic           numeric(14,2) NOT NULL,
  critical        numeric(14,2) NOT NULL,
  commercial      numeric(14,2) NOT NULL,
  assistance      numeric(14,2) NOT NULL,
  tilted          numeric(14,2) NOT NULL,
  -- the patient's cash, less: the negative of the funds' increase
  psn_cash_delta  numeric(14,2) NOT NULL,
  event_id        uuid          NOT NULL UNIQUE,
  created_at      timestamptz   NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (setl_id, change_id),
  CHECK (basic + critical + commercial + assistance + tilted + psn_cash_delta = 0)
);
CREATE INDEX topups_person_year ON topups (psn_no, year);

-- Active discovery (004 第十八条): one alert per person and year, the first time the year's
-- personal self-pay exceeds the line.
CREATE TABLE high_burden_alerts (
  psn_no         text          NOT NULL,
  year           integer       NOT NULL,
  setl_id        text          NOT NULL REFERENCES settlements (setl_id),
  cash_self_pay  numeric(14,2) NOT NULL,
  threshold      numeric(14,2) NOT NULL,
  event_id       uuid          NOT NULL UNIQUE,
  created_at     timestamptz   NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (psn_no, year)
);

-- an identity change's own outcome in the inbox
ALTER TABLE inbox DROP CONSTRAINT inbox_status_check;
ALTER TABLE inbox ADD CONSTRAINT inbox_status_check
  CHECK (status IN ('received', 'settled', 'reversed', 'rejected', 'conflict', 'duplicate',
                    'admitted', 'recorded'));

-- the archive keeps top-ups too
ALTER TABLE archive DROP CONSTRAINT archive_kind_check;
ALTER TABLE archive ADD CONSTRAINT archive_kind_check
  CHECK (kind IN ('in', 'out', 'settlement', 'reversal', 'topup'));

CREATE FUNCTION topup_canonical(t topups) RETURNS text
  LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
      'topup_id', t.topup_id, 'setl_id', t.setl_id, 'change_id', t.change_id,
      'psn_no', t.psn_no, 'year', t.year, 'identities_used', t.identities_used,
      'category_used', t.category_used, 'result', t.result, 'basic', t.basic,
      'critical', t.critical, 'commercial', t.commercial, 'assistance', t.assistance,
      'tilted', t.tilted, 'psn_cash_delta', t.psn_cash_delta, 'event_id', t.event_id)::text
  $$;

CREATE FUNCTION archive_topup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM archive_append('topup', NEW.topup_id, topup_canonical(NEW));
  RETURN NULL;
END $$;
CREATE TRIGGER topups_archive AFTER INSERT ON topups
  FOR EACH ROW EXECUTE FUNCTION archive_topup();
