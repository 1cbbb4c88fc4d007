-- Foundation: users and their sign-in proofs, sessions, verifications, profile, settings, audit.
-- Timestamps are UTC and set by the application so both backends agree.

CREATE TABLE "user" (
    id              TEXT PRIMARY KEY NOT NULL,
    email           TEXT NOT NULL,
    email_verified  BOOLEAN NOT NULL DEFAULT FALSE,
    name            TEXT NOT NULL,
    image           TEXT,
    is_admin        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    CONSTRAINT user_email_unique UNIQUE (email),
    CONSTRAINT user_email_not_empty CHECK (email <> '')
);

-- One row per way of proving who you are: provider_id 'credential' (password) or a provider slug.
CREATE TABLE account (
    id              TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    provider_id     TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    password_hash   TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    CONSTRAINT account_provider_subject_unique UNIQUE (provider_id, account_id)
);
CREATE INDEX account_user_id_idx ON account (user_id);

-- Browser sessions at the identity server; only the SHA-256 of the cookie token is stored.
CREATE TABLE session (
    id              TEXT PRIMARY KEY NOT NULL,
    token_hash      TEXT NOT NULL,
    user_id         TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    last_seen_at    TIMESTAMP NOT NULL,
    auth_time       TIMESTAMP NOT NULL,
    auth_method     TEXT NOT NULL,
    ip_address      TEXT,
    user_agent      TEXT,
    CONSTRAINT session_token_hash_unique UNIQUE (token_hash)
);
CREATE INDEX session_user_id_idx ON session (user_id);
CREATE INDEX session_expires_at_idx ON session (expires_at);
CREATE INDEX session_last_seen_at_idx ON session (last_seen_at);

-- Short-lived single-use tokens (email verification, password reset, magic links). No foreign
-- key to "user": they can exist before the user does.
CREATE TABLE verification (
    id              TEXT PRIMARY KEY NOT NULL,
    identifier      TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    value_hash      TEXT NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    CONSTRAINT verification_value_hash_unique UNIQUE (value_hash)
);
CREATE INDEX verification_identifier_idx ON verification (identifier);
CREATE INDEX verification_expires_at_idx ON verification (expires_at);

CREATE TABLE user_profile (
    user_id         TEXT PRIMARY KEY NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    bio             TEXT,
    website         TEXT,
    timezone        TEXT,
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE user_settings (
    user_id         TEXT PRIMARY KEY NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    theme           TEXT NOT NULL DEFAULT 'system',
    language        TEXT NOT NULL DEFAULT 'en',
    notifications   BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at      TIMESTAMP NOT NULL,
    CONSTRAINT user_settings_theme_check CHECK (theme IN ('light', 'dark', 'system'))
);

-- Security-relevant events. Kept when the user is deleted (user_id becomes NULL).
CREATE TABLE audit_event (
    id              TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT REFERENCES "user"(id) ON DELETE SET NULL,
    kind            TEXT NOT NULL,
    ip_address      TEXT,
    detail          TEXT,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX audit_event_user_id_idx ON audit_event (user_id);
CREATE INDEX audit_event_created_at_idx ON audit_event (created_at);
