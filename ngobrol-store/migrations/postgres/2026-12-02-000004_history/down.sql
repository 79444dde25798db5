ALTER TABLE memberships DROP COLUMN joined_after;
DROP TABLE messages;
DROP TABLE conversations;
