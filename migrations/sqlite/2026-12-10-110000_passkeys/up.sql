-- Passkeys (WebAuthn credentials). `credential_id` is the credential's ID in base64url (the
-- lookup key of a passwordless sign-in); `credential` is webauthn-rs's serialised Passkey (public
-- key, algorithm, signature counter).
CREATE TABLE passkey (
    id               TEXT NOT NULL PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    credential_id    TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    credential       TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    last_used_at     TIMESTAMP NULL
);
CREATE INDEX passkey_user_idx ON passkey (user_id);
-- A WebAuthn ceremony under way (registration or sign-in): the challenge state, kept here and
-- not in memory because any replica may receive the browser's answer. `id` is the SHA-256 of
-- the random value in the browser's `portcullis_webauthn` cookie; a row is taken once.
CREATE TABLE webauthn_ceremony (
    id               TEXT NOT NULL PRIMARY KEY,
    purpose          TEXT NOT NULL,
    user_id          TEXT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    state            TEXT NOT NULL,
    expires_at       TIMESTAMP NOT NULL
);
CREATE INDEX webauthn_ceremony_expires_idx ON webauthn_ceremony (expires_at);
