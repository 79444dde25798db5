-- The history: every direct message, group message and group notice, in
-- its conversation.
--
-- A conversation is two users' (user_low < user_high, byte order) or a
-- group's. It counts its messages (last_seq: each message's seq is the
-- next) and remembers the position of its newest (last_position), so a
-- sync looks only at conversations that changed since its cursor.
CREATE TABLE conversations (
    id            BIGSERIAL PRIMARY KEY,
    user_low      TEXT REFERENCES users (username) ON DELETE CASCADE,
    user_high     TEXT REFERENCES users (username) ON DELETE CASCADE,
    group_id      BIGINT UNIQUE REFERENCES chat_groups (id) ON DELETE CASCADE,
    last_seq      BIGINT NOT NULL DEFAULT 0,
    last_position BIGINT NOT NULL DEFAULT 0,
    UNIQUE (user_low, user_high)
);
CREATE INDEX conversations_by_user_high ON conversations (user_high);

-- position orders every message ever stored (the sync cursor); seq
-- numbers a conversation's (the history cursor). kind is direct, group,
-- joined or left; sender is the author, or the member a notice is about;
-- recipient is a direct message's; actor is who added a member. body is
-- the text's UTF-8 bytes: a message may hold any character, NUL included,
-- which a PostgreSQL TEXT cannot.
CREATE TABLE messages (
    position        BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             BIGINT NOT NULL,
    message_id      TEXT NOT NULL UNIQUE,
    sent_at         BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    sender          TEXT NOT NULL,
    recipient       TEXT,
    group_id        BIGINT,
    group_name      TEXT,
    body            BYTEA,
    actor           TEXT,
    UNIQUE (conversation_id, seq)
);
-- Sync: a conversation's messages after a position.
CREATE INDEX messages_by_conversation_position ON messages (conversation_id, position);

-- Where each membership's view of its group's history begins: the
-- group's last_seq when the member joined (0 for those there before).
ALTER TABLE memberships ADD COLUMN joined_after BIGINT NOT NULL DEFAULT 0;
