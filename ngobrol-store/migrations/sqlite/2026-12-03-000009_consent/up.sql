-- Under consent: who asked whom to be friends, and who was invited to
-- which group by whom, until answered.
CREATE TABLE friend_requests (
    from_user  TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    to_user    TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (from_user, to_user)
);
CREATE INDEX friend_requests_to ON friend_requests (to_user);

CREATE TABLE invitations (
    group_id   BIGINT NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
    username   TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    invited_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, username)
);
CREATE INDEX invitations_of ON invitations (username);
