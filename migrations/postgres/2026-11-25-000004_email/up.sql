-- Email: the outbox the mail worker drains, rate limits, and wrong-try counts on codes.

CREATE TABLE mail_outbox (
    id              TEXT PRIMARY KEY NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until    TIMESTAMP,
    last_error      TEXT,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    CONSTRAINT mail_outbox_status_check CHECK (status IN ('pending', 'sent', 'failed'))
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (status, next_attempt_at);

CREATE TABLE rate_limit (
    key             TEXT PRIMARY KEY NOT NULL,
    window_start    TIMESTAMP NOT NULL,
    count           INTEGER NOT NULL
);
CREATE INDEX rate_limit_window_idx ON rate_limit (window_start);

ALTER TABLE verification ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
