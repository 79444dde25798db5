-- Each session's last presence report (online, away, offline), and who
-- keeps their typing and presence to themselves.
CREATE TABLE presence (
    token_hash  TEXT PRIMARY KEY NOT NULL REFERENCES sessions (token_hash) ON DELETE CASCADE,
    state       TEXT NOT NULL,
    reported_at BIGINT NOT NULL
);

CREATE TABLE activity_hidden (
    username TEXT PRIMARY KEY NOT NULL REFERENCES users (username) ON DELETE CASCADE
);
