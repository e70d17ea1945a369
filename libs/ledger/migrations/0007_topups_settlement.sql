-- Top-ups as part of their settlement (issue 15, docs/adr/0009 decisions 4, 4a, 3).

-- The position a top-up's recomputation started from: with `result.accumulators` it is the
-- bill's contribution to the person's year as it now stands, which a reversal takes back out.
-- NULL only on rows written before this migration (the settlement's own position is used then).
ALTER TABLE topups ADD COLUMN accumulators_before jsonb;
-- when the top-up was made, as its settlement event says ('YYYY-MM-DD HH:mm:ss', Beijing): the
-- month the agency pays it, which clearing statements use. NULL on rows written before.
ALTER TABLE topups ADD COLUMN setl_time text;
CREATE INDEX topups_settlement ON topups (setl_id, id);

-- the archive copy of a top-up: the new column only where present, so that the copies of rows
-- written before this migration still match
CREATE OR REPLACE FUNCTION topup_canonical(t topups) RETURNS text
  LANGUAGE sql STABLE AS $$
    SELECT (jsonb_build_object(
      'topup_id', t.topup_id, 'setl_id', t.setl_id, 'change_id', t.change_id,
      'psn_no', t.psn_no, 'year', t.year, 'identities_used', t.identities_used,
      'category_used', t.category_used, 'result', t.result, 'basic', t.basic,
      'critical', t.critical, 'commercial', t.commercial, 'assistance', t.assistance,
      'tilted', t.tilted, 'psn_cash_delta', t.psn_cash_delta, 'event_id', t.event_id)
      || CASE WHEN t.accumulators_before IS NULL THEN '{}'::jsonb
              ELSE jsonb_build_object('accumulators_before', t.accumulators_before) END
      || CASE WHEN t.setl_time IS NULL THEN '{}'::jsonb
              ELSE jsonb_build_object('setl_time', t.setl_time) END)::text
  $$;

-- The answer given to an admission (deposit waiver, identities used and their source), so that a
-- redelivered admission is answered identically even after the registry changed.
ALTER TABLE admissions ADD COLUMN answer jsonb;

-- High-burden alerts that can be acted on (issue 15, docs/adr/0009 decision 7): the person's
-- county (the registry's admdvs, else the hospital's), a status (open → acknowledged by a role;
-- withdrawn when a reversal or a top-up takes the person back under the line; a withdrawn alert
-- opens again when the person crosses the line again) and who acknowledged it when.
ALTER TABLE high_burden_alerts
  ADD COLUMN admdvs          text,
  ADD COLUMN admdvs_source   text CHECK (admdvs_source IN ('registry', 'hospital')),
  ADD COLUMN region          text,
  ADD COLUMN status          text NOT NULL DEFAULT 'open'
                               CHECK (status IN ('open', 'acknowledged', 'withdrawn')),
  ADD COLUMN acknowledged_by text,
  ADD COLUMN acknowledged_at timestamptz,
  ADD COLUMN withdrawn_at    timestamptz,
  ADD COLUMN updated_at      timestamptz;
CREATE INDEX high_burden_alerts_county ON high_burden_alerts (admdvs, status);
