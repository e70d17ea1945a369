-- The order in which settlements were written (docs/adr/0023).
--
-- A person's bills are applied to the accumulators one after another; everything that re-reads
-- them in that order (top-up recomputation, the year's opening position, the visit's latest
-- settlement, the alert's latest bill, audit replay and what-if) ordered by (created_at,
-- setl_id). created_at is the transaction's start (now()), and since group commit (0010,
-- docs/adr/0020) one transaction writes many bills, one person's several among them: they share
-- created_at and fell back on setl_id, a random id. `seq` is the write order itself.
--
-- Rows written before this migration are numbered in the order of their archive entries (written
-- by the insert trigger in insert order, 0003/0010), then by created_at and setl_id.
ALTER TABLE settlements ADD COLUMN seq bigint;
UPDATE settlements s SET seq = o.n
  FROM (SELECT x.setl_id,
               row_number() OVER (
                 ORDER BY (SELECT min(a.seq) FROM archive a
                            WHERE a.kind = 'settlement' AND a.ref = x.setl_id) NULLS LAST,
                          x.created_at, x.setl_id) AS n
          FROM settlements x) o
 WHERE o.setl_id = s.setl_id;
CREATE SEQUENCE settlements_seq_seq OWNED BY settlements.seq;
SELECT setval('settlements_seq_seq', coalesce((SELECT max(seq) FROM settlements), 0) + 1, false);
-- a multi-row INSERT … SELECT … ORDER BY takes the default per row in the sorted order
ALTER TABLE settlements ALTER COLUMN seq SET DEFAULT nextval('settlements_seq_seq');
ALTER TABLE settlements ALTER COLUMN seq SET NOT NULL;
-- the audit scan pages by seq; a person's readers find their few rows by settlements_person_year
-- and sort them (no second index on the intake's hottest table)
CREATE UNIQUE INDEX settlements_seq ON settlements (seq);
