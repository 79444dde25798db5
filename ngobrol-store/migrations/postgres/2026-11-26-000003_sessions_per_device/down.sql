-- Back to sessions without ids, device names or last use. Every session
-- stays valid (a user may keep several until their next login).
DROP INDEX sessions_by_username;
ALTER TABLE sessions
    DROP COLUMN last_seen_at,
    DROP COLUMN device,
    DROP COLUMN session_id;
CREATE INDEX sessions_by_username ON sessions (username);
