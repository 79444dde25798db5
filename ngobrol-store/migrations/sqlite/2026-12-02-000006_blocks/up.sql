-- Who blocked whom: a blocked user cannot befriend the blocker, add them
-- to a group, or message them (blocking ends their friendship).
CREATE TABLE blocks (
    username   TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    blocked    TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (username, blocked)
);
