-- Browsers a user has signed in from, recognised by a long-lived random cookie of which only the
-- SHA-256 is stored; a sign-in from one not listed here is "from a new device" and may send a notice.
CREATE TABLE known_device (
    user_id         TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    device_hash     TEXT NOT NULL,
    first_seen_at   TIMESTAMP NOT NULL,
    last_seen_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, device_hash)
);
CREATE INDEX known_device_last_seen_idx ON known_device (last_seen_at);
