-- Back to one table without ids, device names or last use. Every session
-- stays valid (a user may keep several until their next login).
CREATE TABLE sessions_single (
    token_hash TEXT PRIMARY KEY NOT NULL,
    username   TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
INSERT INTO sessions_single (token_hash, username, issued_at, expires_at)
SELECT token_hash, username, issued_at, expires_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_single RENAME TO sessions;
CREATE INDEX sessions_by_username ON sessions (username);
