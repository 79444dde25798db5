-- Times are milliseconds since the Unix epoch (UTC).
CREATE TABLE users (
    username      TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    username   TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_username ON sessions (username);

-- A friendship is stored in both directions, so each user's friends are
-- one indexed range and the primary key refuses a duplicate either way.
CREATE TABLE friendships (
    username   TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    friend     TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (username, friend)
);

CREATE TABLE chat_groups (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    admin      TEXT NOT NULL REFERENCES users (username),
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    group_id BIGINT NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    PRIMARY KEY (group_id, username)
);
CREATE INDEX memberships_by_username ON memberships (username);
