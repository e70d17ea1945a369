-- A bill's identity under an explicit, versioned canonical form (issue 12 item 2,
-- docs/adr/0017-bill-identity-canonical-form.md).
--
-- body_hash was sha256(JSON.stringify(Bill)): it depended on the decoder's key order and on every
-- field the decoder happened to emit. New settlements are keyed by form c1 (sorted keys, contract
-- fields only, amounts with two decimals, absent optional fields omitted). The rows already here
-- keep their hash, and say which form it is in, so a redelivery of an old bill is still compared
-- under the form it was settled with (the archive's hash chain covers body_hash as written: it is
-- not rewritten).
ALTER TABLE settlements ADD COLUMN body_hash_form text NOT NULL DEFAULT 'c0'
  CONSTRAINT settlements_body_hash_form_check CHECK (body_hash_form IN ('c0', 'c1'));
ALTER TABLE settlements ALTER COLUMN body_hash_form SET DEFAULT 'c1';

-- The bill in canonical form c1 as text, next to its hash: audit replay and the top-ups read it
-- instead of parsing the archived XML again. It authenticates itself against body_hash (sha256 of
-- this text), which the archive's chain covers; rows settled before 0012 have none and are read
-- from their archived message.
ALTER TABLE settlements ADD COLUMN body_canonical text;
