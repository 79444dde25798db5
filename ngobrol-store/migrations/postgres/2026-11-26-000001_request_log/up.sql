-- Replies to requests that clients named, for de-duplication.
CREATE TABLE request_log (
    username   TEXT NOT NULL,
    request_id TEXT NOT NULL,
    reply      BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (username, request_id)
);
CREATE INDEX request_log_by_age ON request_log (created_at);
