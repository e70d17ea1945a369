-- Raw inbound bytes kept as bytes (issue 11, docs/adr/0012-hostile-input.md).
--
-- PostgreSQL text cannot hold U+0000 and refuses invalid UTF-8, so a message with a NUL byte or
-- in a broken encoding could not even be recorded as a reject, and its partition stalled. Every
-- inbox and reject row now keeps the bytes as they came (`payload_bytes`); `payload` keeps the
-- message's text only where the bytes decode (in their declared encoding) to text PostgreSQL can
-- store, and is NULL otherwise. `payload_sha256` and `payload_size` are those of the whole
-- message; a message over twice the size cap keeps only a prefix of its bytes (then
-- octet_length(payload_bytes) < payload_size).

ALTER TABLE inbox ADD COLUMN payload_bytes bytea;
ALTER TABLE inbox ADD COLUMN payload_size integer;
UPDATE inbox SET payload_bytes = convert_to(payload, 'UTF8'),
                 payload_size = octet_length(convert_to(payload, 'UTF8'));
ALTER TABLE inbox ALTER COLUMN payload_bytes SET NOT NULL;
ALTER TABLE inbox ALTER COLUMN payload_size SET NOT NULL;
ALTER TABLE inbox ALTER COLUMN payload DROP NOT NULL;

ALTER TABLE rejects ADD COLUMN payload_bytes bytea;
UPDATE rejects SET payload_bytes = convert_to(payload, 'UTF8');
ALTER TABLE rejects ALTER COLUMN payload_bytes SET NOT NULL;
ALTER TABLE rejects ALTER COLUMN payload DROP NOT NULL;

-- What the archive keeps of an inbound message: its text, or where it has none, its bytes in
-- base64 behind a "base64:" tag. Rows written before this migration all have text, so their
-- archived copies still match.
CREATE FUNCTION inbox_archive_content(i inbox) RETURNS text
  LANGUAGE sql STABLE AS $$
    SELECT COALESCE(i.payload, 'base64:' || encode(i.payload_bytes, 'base64'))
  $$;

CREATE OR REPLACE FUNCTION archive_inbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM archive_append('in', NEW.id::text, inbox_archive_content(NEW));
  RETURN NULL;
END $$;

-- A writer that still gives only text (a bulk loader, a test seed) gets its UTF-8 bytes.
CREATE FUNCTION inbox_bytes_of_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.payload_bytes IS NULL THEN
    NEW.payload_bytes := convert_to(NEW.payload, 'UTF8');
  END IF;
  IF NEW.payload_size IS NULL THEN
    NEW.payload_size := octet_length(NEW.payload_bytes);
  END IF;
  RETURN NEW;
END $$;
CREATE FUNCTION reject_bytes_of_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.payload_bytes IS NULL THEN
    NEW.payload_bytes := convert_to(NEW.payload, 'UTF8');
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER inbox_payload_bytes BEFORE INSERT ON inbox
  FOR EACH ROW EXECUTE FUNCTION inbox_bytes_of_text();
CREATE TRIGGER rejects_payload_bytes BEFORE INSERT ON rejects
  FOR EACH ROW EXECUTE FUNCTION reject_bytes_of_text();
