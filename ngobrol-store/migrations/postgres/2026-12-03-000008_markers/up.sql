-- How far each reader got in each conversation: the `seq` up to which
-- a device of theirs received it, and up to which they read it.
CREATE TABLE markers (
    username        TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    delivered_seq   BIGINT NOT NULL DEFAULT 0,
    read_seq        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (username, conversation_id)
);
