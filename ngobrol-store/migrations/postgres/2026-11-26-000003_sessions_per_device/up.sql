-- Several sessions (devices) per user: every login adds a session, with an
-- id of its own (it names the session to its user and its queue on the
-- broker), the device name the user gave, and when it was last used.
--
-- A session id is 32 lower-case hex characters. Existing sessions get the
-- first 32 characters of their token hash as id: a token hash is the
-- lower-case hex SHA-256 of the token (64 characters), so its first half
-- is a valid id, and with 128 bits of a hash of 160 random bits, unique
-- in practice (the UNIQUE constraint would refuse the migration
-- otherwise). They were last seen, as far as anyone knows, when issued.
ALTER TABLE sessions
    ADD COLUMN session_id TEXT,
    ADD COLUMN device TEXT,
    ADD COLUMN last_seen_at BIGINT;
UPDATE sessions SET session_id = substr(token_hash, 1, 32), last_seen_at = issued_at;
ALTER TABLE sessions
    ALTER COLUMN session_id SET NOT NULL,
    ALTER COLUMN last_seen_at SET NOT NULL,
    ADD CONSTRAINT sessions_session_id_key UNIQUE (session_id);
-- A user's sessions, in the order they are listed (issued, then id).
DROP INDEX sessions_by_username;
CREATE INDEX sessions_by_username ON sessions (username, issued_at, session_id);
