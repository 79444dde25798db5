-- Whether the user reads their mailbox with a client of the original
-- protocol: then the mailbox gets every delivery, as one more device.
-- Set at such a login, cleared by logout_all.
ALTER TABLE users ADD COLUMN reads_mailbox BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX users_reading_mailbox ON users (reads_mailbox) WHERE reads_mailbox;
