-- Several sessions (devices) per user: every login adds a session, with an
-- id of its own (it names the session to its user and its queue on the
-- broker), the device name the user gave, and when it was last used.
--
-- SQLite cannot add a UNIQUE or NOT NULL column without a default by
-- ALTER TABLE, so the table is made again and the rows copied over.
--
-- A session id is 32 lower-case hex characters. Existing sessions get the
-- first 32 characters of their token hash as id: a token hash is the
-- lower-case hex SHA-256 of the token (64 characters), so its first half
-- is a valid id, and with 128 bits of a hash of 160 random bits, unique
-- in practice (the UNIQUE constraint would refuse the migration
-- otherwise). They were last seen, as far as anyone knows, when issued.
CREATE TABLE sessions_per_device (
    token_hash   TEXT PRIMARY KEY NOT NULL,
    session_id   TEXT NOT NULL UNIQUE,
    username     TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    device       TEXT,
    issued_at    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
INSERT INTO sessions_per_device
    (token_hash, session_id, username, device, issued_at, expires_at, last_seen_at)
SELECT token_hash, substr(token_hash, 1, 32), username, NULL, issued_at, expires_at, issued_at
FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_per_device RENAME TO sessions;
-- A user's sessions, in the order they are listed (issued, then id).
CREATE INDEX sessions_by_username ON sessions (username, issued_at, session_id);
