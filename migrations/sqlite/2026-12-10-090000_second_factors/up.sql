-- Second factors. A user's TOTP authenticator: the shared secret sealed with the master key
-- (XChaCha20-Poly1305, like upstream client secrets), unconfirmed until a first correct code, and
-- the last 30-second step accepted, so a code cannot be used twice.
CREATE TABLE totp_factor (
    user_id          TEXT NOT NULL PRIMARY KEY REFERENCES "user"(id) ON DELETE CASCADE,
    secret_sealed    TEXT NOT NULL,
    confirmed_at     TIMESTAMP NULL,
    last_used_step   BIGINT NULL,
    created_at       TIMESTAMP NOT NULL
);
-- Single-use recovery codes: 80 random bits each, only their SHA-256 is stored.
CREATE TABLE recovery_code (
    code_hash        TEXT NOT NULL PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    used_at          TIMESTAMP NULL,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX recovery_code_user_idx ON recovery_code (user_id);
