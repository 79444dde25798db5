DROP INDEX users_reading_mailbox;
ALTER TABLE users DROP COLUMN reads_mailbox;
