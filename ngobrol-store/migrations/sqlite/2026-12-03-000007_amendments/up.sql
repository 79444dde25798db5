-- A message its author edited (the body holds the latest text) or
-- deleted (the body is empty, a tombstone): when, and which.
ALTER TABLE messages ADD COLUMN amended_at BIGINT;
ALTER TABLE messages ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT FALSE;
