-- Audit trust (issue 16, docs/adr/0015-audit-trust.md): every money-moving fact in the archive,
-- and an append-only log of operator actions.
--
-- 0003 archived the messages, the settlements as written, the reversals and the events; 0004 the
-- top-ups. What a settlement's row, a person's position or a message's sender became afterwards
-- was not archived: a reversal's status, the year-to-date accumulators, who submitted or
-- resubmitted a message. Each is now copied by a trigger in the writing transaction, as before,
-- so the hash chain covers it whichever code path writes.

-- Kinds are written only by the triggers; a pattern instead of a list lets a later migration add
-- a kind without restating every earlier one (two migrations restating the list would undo each
-- other's kinds).
ALTER TABLE archive DROP CONSTRAINT archive_kind_check;
ALTER TABLE archive ADD CONSTRAINT archive_kind_check CHECK (kind ~ '^[a-z][a-z_-]*$');

-- A timestamp as archived text: UTC, microseconds, whatever the session's time zone.
CREATE FUNCTION utc_text(t timestamptz) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
  $$;

-- ---------------------------------------------------------------- settlement status
-- A settlement's status and reversed_at change once, when it is reversed; the change is archived
-- as kind 'status' (ref setl_id). Verification holds each settlement's status to the last one
-- archived, and a reversed settlement to its reversal.
CREATE FUNCTION settlement_status_canonical(s settlements) RETURNS text
  LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('setl_id', s.setl_id, 'status', s.status,
                              'reversed_at', utc_text(s.reversed_at))::text
  $$;
CREATE FUNCTION archive_settlement_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM archive_append('status', NEW.setl_id, settlement_status_canonical(NEW));
  RETURN NULL;
END $$;

-- ---------------------------------------------------------------- accumulators
-- Every change of a person's year-to-date position (kind 'accumulators', ref psn_no/year). The
-- no-op update that takes the row lock (lockAccumulators) changes nothing and is not archived.
CREATE FUNCTION accumulators_canonical(a accumulators) RETURNS text
  LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('psn_no', a.psn_no, 'year', a.year, 'version', a.version,
                              'data', a.data)::text
  $$;
CREATE FUNCTION archive_accumulators() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM archive_append('accumulators', NEW.psn_no || '/' || NEW.year,
                         accumulators_canonical(NEW));
  RETURN NULL;
END $$;

-- ---------------------------------------------------------------- submissions
-- Who sent a message, when, from where, as a fix of which reject (kind 'submission', ref
-- inbox.id). The payload has its own entry ('in'); the outcome columns (status, setl_id,
-- reject_id) are set later in the same transaction and are not part of the submission.
CREATE FUNCTION inbox_submission_canonical(i inbox) RETURNS text
  LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
      'id', i.id, 'source', i.source, 'topic', i.topic, 'partition', i.partition,
      'offset', i."offset", 'key', i.key, 'payload_sha256', i.payload_sha256,
      'received_at', utc_text(i.received_at), 'submitted_by', i.submitted_by,
      'resubmission_of', i.resubmission_of, 'fixmedins_code', i.fixmedins_code,
      'correlation_id', i.correlation_id)::text
  $$;
CREATE FUNCTION archive_inbox_submission() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM archive_append('submission', NEW.id::text, inbox_submission_canonical(NEW));
  RETURN NULL;
END $$;

-- A reject fixed and resubmitted: by whom, when, as which message (kind 'resubmission', ref
-- rejects.id).
CREATE FUNCTION reject_resubmission_canonical(r rejects) RETURNS text
  LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('reject_id', r.id, 'resubmitted_as', r.resubmitted_as,
                              'resubmitted_by', r.resubmitted_by,
                              'resubmitted_at', utc_text(r.resubmitted_at))::text
  $$;
CREATE FUNCTION archive_reject_resubmission() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM archive_append('resubmission', NEW.id::text, reject_resubmission_canonical(NEW));
  RETURN NULL;
END $$;

-- ---------------------------------------------------------------- operator actions
-- What operators and auditors did through the API: resubmissions, reversals, audit requests,
-- changes made with a credential. Append-only, and archived (kind 'operator').
CREATE TABLE operator_actions (
  id       bigserial   PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- the credential's name and role
  actor    text        NOT NULL,
  role     text        NOT NULL,
  action   text        NOT NULL,
  -- what it acted on: a reject id, a visit, a job id …
  target   text,
  outcome  text,
  detail   jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX operator_actions_at ON operator_actions (at);

CREATE FUNCTION operator_action_canonical(o operator_actions) RETURNS text
  LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', o.id, 'at', utc_text(o.at), 'actor', o.actor,
                              'role', o.role, 'action', o.action, 'target', o.target,
                              'outcome', o.outcome, 'detail', o.detail)::text
  $$;
CREATE FUNCTION archive_operator_action() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM archive_append('operator', NEW.id::text, operator_action_canonical(NEW));
  RETURN NULL;
END $$;

-- Audit jobs started over HTTP, kept across restarts (the last ones are listed). A job's row
-- changes as it runs; the request itself is in operator_actions.
CREATE TABLE audit_jobs (
  id           uuid        PRIMARY KEY,
  kind         text        NOT NULL,
  status       text        NOT NULL CHECK (status IN ('running', 'done', 'failed')),
  requested_by text        NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at  timestamptz,
  progress     jsonb       NOT NULL DEFAULT '{}'::jsonb,
  filter       jsonb,
  report       jsonb,
  error        text
);
CREATE INDEX audit_jobs_started ON audit_jobs (started_at);

-- ---------------------------------------------------------------- the backlog, then the triggers
-- What exists already is archived first, in the order it was written.
INSERT INTO archive (kind, ref, content, content_sha256)
SELECT kind, ref, content, text_sha256(content) FROM (
  SELECT 'submission' AS kind, i.id::text AS ref, inbox_submission_canonical(i) AS content,
         i.received_at AS at, 1 AS k, i.id::text AS n
    FROM inbox i
  UNION ALL
  SELECT 'status', s.setl_id, settlement_status_canonical(s), s.reversed_at, 2, s.setl_id
    FROM settlements s WHERE s.status <> 'settled'
  UNION ALL
  SELECT 'resubmission', r.id::text, reject_resubmission_canonical(r), r.resubmitted_at, 3,
         r.id::text
    FROM rejects r WHERE r.resubmitted_as IS NOT NULL
  UNION ALL
  SELECT 'accumulators', a.psn_no || '/' || a.year, accumulators_canonical(a), a.updated_at, 4,
         a.psn_no || '/' || a.year
    FROM accumulators a
) backlog ORDER BY at, k, n;

CREATE TRIGGER settlements_status_archive AFTER UPDATE ON settlements
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.reversed_at IS DISTINCT FROM NEW.reversed_at)
  EXECUTE FUNCTION archive_settlement_status();
CREATE TRIGGER accumulators_insert_archive AFTER INSERT ON accumulators
  FOR EACH ROW EXECUTE FUNCTION archive_accumulators();
CREATE TRIGGER accumulators_update_archive AFTER UPDATE ON accumulators
  FOR EACH ROW
  WHEN (OLD.data IS DISTINCT FROM NEW.data OR OLD.version IS DISTINCT FROM NEW.version)
  EXECUTE FUNCTION archive_accumulators();
CREATE TRIGGER inbox_submission_archive AFTER INSERT ON inbox
  FOR EACH ROW EXECUTE FUNCTION archive_inbox_submission();
CREATE TRIGGER rejects_resubmission_archive AFTER UPDATE ON rejects
  FOR EACH ROW
  WHEN (OLD.resubmitted_as IS DISTINCT FROM NEW.resubmitted_as
        OR OLD.resubmitted_by IS DISTINCT FROM NEW.resubmitted_by
        OR OLD.resubmitted_at IS DISTINCT FROM NEW.resubmitted_at)
  EXECUTE FUNCTION archive_reject_resubmission();
CREATE TRIGGER operator_actions_archive AFTER INSERT ON operator_actions
  FOR EACH ROW EXECUTE FUNCTION archive_operator_action();
CREATE TRIGGER operator_actions_append_only BEFORE UPDATE OR DELETE ON operator_actions
  FOR EACH ROW EXECUTE FUNCTION archive_is_append_only();
CREATE TRIGGER operator_actions_no_truncate BEFORE TRUNCATE ON operator_actions
  FOR EACH STATEMENT EXECUTE FUNCTION archive_is_append_only();
