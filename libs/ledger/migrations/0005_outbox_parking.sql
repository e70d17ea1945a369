-- The outbox never wedges (issue 11, docs/adr/0011-outbox-never-wedges.md): an event the broker
-- refuses for itself (MESSAGE_TOO_LARGE, INVALID_RECORD, …) is parked, alone, with the reason, and
-- the relay moves on. A parked event is neither published nor pending: backlogs and the relay skip
-- it; an operator lists it and, after a fix, republishes it (republishParkedOutbox clears both
-- columns so the relay picks it up again).
ALTER TABLE outbox ADD COLUMN parked_at timestamptz;
ALTER TABLE outbox ADD COLUMN park_reason text;
ALTER TABLE outbox ADD CONSTRAINT outbox_parked_has_reason
  CHECK ((parked_at IS NULL) = (park_reason IS NULL));

-- The relay's queue: unpublished and not parked, in id order.
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL AND parked_at IS NULL;
-- The operators' list of parked events.
CREATE INDEX outbox_parked ON outbox (id) WHERE parked_at IS NOT NULL AND published_at IS NULL;
