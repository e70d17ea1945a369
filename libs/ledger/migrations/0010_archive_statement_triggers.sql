-- Group commit (issue 17, docs/adr/0020-group-commit.md): the archive's triggers on the intake's
-- hot tables copy a whole statement's rows with ONE insert, instead of one PL/pgSQL call and one
-- insert per row. Measured on a batch of 1,000 bills, the row triggers were about half of the
-- server's time in the set-based writes (bench/README.md, "Group commit knobs").
--
-- Same entries, same order: each row's copy has the content and content hash the row trigger
-- gave it (the same canonical functions), and a statement's copies are numbered in the order the
-- row triggers numbered them — per row, in the row's order (inbox: the message, then its sender).
-- Statement triggers with transition tables (REFERENCING NEW TABLE) fire once per statement, also
-- when it inserts nothing. The other archived tables (reversals, top-ups, rejects' resubmissions,
-- settlements' status changes, operator actions) are written a row at a time and keep their row
-- triggers.

-- ---------------------------------------------------------------- inbox: message and sender
DROP TRIGGER inbox_archive ON inbox;
DROP TRIGGER inbox_submission_archive ON inbox;
CREATE FUNCTION archive_inbox_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO archive (kind, ref, content, content_sha256)
  SELECT c.kind, n.id::text, c.content, text_sha256(c.content)
    FROM new_rows n
   CROSS JOIN LATERAL (VALUES (1, 'in', inbox_archive_content(n)),
                              (2, 'submission', inbox_submission_canonical(n))) c(k, kind, content)
   ORDER BY n.id, c.k;
  RETURN NULL;
END $$;
CREATE TRIGGER inbox_archive AFTER INSERT ON inbox
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION archive_inbox_rows();

-- ---------------------------------------------------------------- outbox
DROP TRIGGER outbox_archive ON outbox;
CREATE FUNCTION archive_outbox_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO archive (kind, ref, content, content_sha256)
  SELECT 'out', n.event_id::text, n.payload, text_sha256(n.payload)
    FROM new_rows n ORDER BY n.id;
  RETURN NULL;
END $$;
CREATE TRIGGER outbox_archive AFTER INSERT ON outbox
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION archive_outbox_rows();

-- ---------------------------------------------------------------- settlements (as written)
DROP TRIGGER settlements_archive ON settlements;
CREATE FUNCTION archive_settlement_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- no serial: the transition table holds the rows in the order they were inserted
  INSERT INTO archive (kind, ref, content, content_sha256)
  SELECT 'settlement', c.setl_id, c.content, text_sha256(c.content)
    FROM (SELECT n.setl_id, settlement_canonical(n) AS content,
                 row_number() OVER () AS k
            FROM new_rows n) c
   ORDER BY c.k;
  RETURN NULL;
END $$;
CREATE TRIGGER settlements_archive AFTER INSERT ON settlements
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION archive_settlement_rows();

-- ---------------------------------------------------------------- accumulators
DROP TRIGGER accumulators_insert_archive ON accumulators;
DROP TRIGGER accumulators_update_archive ON accumulators;
CREATE FUNCTION archive_accumulator_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO archive (kind, ref, content, content_sha256)
  SELECT 'accumulators', c.ref, c.content, text_sha256(c.content)
    FROM (SELECT n.psn_no || '/' || n.year AS ref, accumulators_canonical(n) AS content,
                 row_number() OVER () AS k
            FROM new_rows n) c
   ORDER BY c.k;
  RETURN NULL;
END $$;
-- a changed position only: the no-op update that takes the row lock changes nothing
CREATE FUNCTION archive_accumulator_updates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO archive (kind, ref, content, content_sha256)
  SELECT 'accumulators', c.ref, c.content, text_sha256(c.content)
    FROM (SELECT n.psn_no || '/' || n.year AS ref, accumulators_canonical(n) AS content
            FROM new_rows n JOIN old_rows o ON o.psn_no = n.psn_no AND o.year = n.year
           WHERE o.data IS DISTINCT FROM n.data OR o.version IS DISTINCT FROM n.version
           ORDER BY n.psn_no, n.year) c;
  RETURN NULL;
END $$;
CREATE TRIGGER accumulators_insert_archive AFTER INSERT ON accumulators
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION archive_accumulator_inserts();
CREATE TRIGGER accumulators_update_archive AFTER UPDATE ON accumulators
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION archive_accumulator_updates();
