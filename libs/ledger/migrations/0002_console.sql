-- What the operator console and access control need (issue 4): the hospital of every message (a
-- hospital credential sees only its own), and who resubmitted a fixed reject, when, as what.

-- The hospital a message names (read from the raw message, even when it does not decode).
ALTER TABLE inbox ADD COLUMN fixmedins_code text;
-- The credential that submitted the message over HTTP or the console (NULL for Kafka).
ALTER TABLE inbox ADD COLUMN submitted_by text;
-- A resubmission points at the reject it fixes.
ALTER TABLE inbox ADD COLUMN resubmission_of bigint REFERENCES rejects (id);
CREATE INDEX inbox_hospital_received ON inbox (fixmedins_code, received_at);

ALTER TABLE rejects ADD COLUMN fixmedins_code text;
ALTER TABLE rejects ADD COLUMN resubmitted_by text;
ALTER TABLE rejects ADD COLUMN resubmitted_at timestamptz;
CREATE INDEX rejects_open ON rejects (created_at) WHERE resubmitted_as IS NULL;

-- Messages out per topic per minute on the console.
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;
