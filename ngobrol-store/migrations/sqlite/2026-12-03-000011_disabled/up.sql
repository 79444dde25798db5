-- Users an operator disabled: their password is refused until enabled.
CREATE TABLE disabled_users (
    username    TEXT PRIMARY KEY NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    disabled_at BIGINT NOT NULL
);
