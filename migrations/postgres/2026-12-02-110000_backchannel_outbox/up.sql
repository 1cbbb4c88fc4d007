-- Back-channel logout deliveries (OpenID Back-Channel Logout 1.0), written in the transaction that
-- ends the session(s) and delivered by a worker on any replica, so a replica that dies between
-- the sign-out and the POST loses nothing. One row per (client, ended session); the logout token
-- is signed when it is sent (fresh iat/exp on every attempt), with the jti fixed here so that a
-- client can recognise a repeated delivery.
CREATE TABLE backchannel_outbox (
    id              TEXT PRIMARY KEY NOT NULL,
    client_id       TEXT NOT NULL REFERENCES oauth_client(id) ON DELETE CASCADE,
    subject         TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    jti             TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until   TIMESTAMP,
    last_error      TEXT,
    created_at      TIMESTAMP NOT NULL,
    delivered_at    TIMESTAMP,
    CONSTRAINT backchannel_outbox_status_check CHECK (status IN ('pending', 'delivered', 'failed'))
);
CREATE INDEX backchannel_outbox_due_idx ON backchannel_outbox (status, next_attempt_at);
