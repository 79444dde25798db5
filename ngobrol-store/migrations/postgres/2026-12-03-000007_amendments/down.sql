ALTER TABLE messages DROP COLUMN deleted;
ALTER TABLE messages DROP COLUMN amended_at;
