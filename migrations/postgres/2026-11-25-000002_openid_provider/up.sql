-- OpenID Provider: client applications, signing keys, grants and what hangs off them.

-- Relying applications. List-valued settings are JSON arrays of strings.
CREATE TABLE oauth_client (
    id                          TEXT PRIMARY KEY NOT NULL,
    name                        TEXT NOT NULL,
    secret_hash                 TEXT,
    redirect_uris               TEXT NOT NULL,
    post_logout_redirect_uris   TEXT NOT NULL,
    grant_types                 TEXT NOT NULL,
    auth_method                 TEXT NOT NULL,
    skip_consent                BOOLEAN NOT NULL DEFAULT FALSE,
    always_issue_refresh        BOOLEAN NOT NULL DEFAULT FALSE,
    backchannel_logout_uri      TEXT,
    id_token_alg                TEXT NOT NULL DEFAULT 'RS256',
    managed_by                  TEXT NOT NULL DEFAULT 'cli',
    created_at                  TIMESTAMP NOT NULL,
    updated_at                  TIMESTAMP NOT NULL,
    CONSTRAINT oauth_client_auth_method_check
        CHECK (auth_method IN ('client_secret_basic', 'client_secret_post', 'none')),
    CONSTRAINT oauth_client_alg_check CHECK (id_token_alg IN ('RS256', 'ES256', 'EdDSA'))
);

-- Token signing keys; the private part is encrypted with the master key. A key signs from
-- not_before on; it is published earlier, and kept published after a newer key takes over.
CREATE TABLE signing_key (
    id              TEXT PRIMARY KEY NOT NULL,
    alg             TEXT NOT NULL,
    private_key     TEXT NOT NULL,
    public_jwk      TEXT NOT NULL,
    not_before      TIMESTAMP NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX signing_key_alg_idx ON signing_key (alg, not_before);

-- One authorization of a client by a user (or one code redemption); codes, access tokens and
-- refresh tokens hang off it, so revoking the grant revokes the whole family.
CREATE TABLE oauth_grant (
    id              TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL REFERENCES oauth_client(id) ON DELETE CASCADE,
    session_id      TEXT,
    scope           TEXT NOT NULL,
    auth_time       TIMESTAMP NOT NULL,
    amr             TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    revoked_at      TIMESTAMP
);
CREATE INDEX oauth_grant_user_client_idx ON oauth_grant (user_id, client_id);
CREATE INDEX oauth_grant_session_idx ON oauth_grant (session_id);
CREATE INDEX oauth_grant_client_idx ON oauth_grant (client_id);

CREATE TABLE authorization_code (
    code_hash       TEXT PRIMARY KEY NOT NULL,
    grant_id        TEXT NOT NULL REFERENCES oauth_grant(id) ON DELETE CASCADE,
    redirect_uri    TEXT NOT NULL,
    code_challenge  TEXT,
    nonce           TEXT,
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    used_at         TIMESTAMP
);
CREATE INDEX authorization_code_grant_idx ON authorization_code (grant_id);
CREATE INDEX authorization_code_expires_idx ON authorization_code (expires_at);

-- Rotating refresh tokens; a used one presented again betrays theft and revokes the grant.
CREATE TABLE refresh_token (
    id              TEXT PRIMARY KEY NOT NULL,
    token_hash      TEXT NOT NULL,
    grant_id        TEXT NOT NULL REFERENCES oauth_grant(id) ON DELETE CASCADE,
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    used_at         TIMESTAMP,
    CONSTRAINT refresh_token_hash_unique UNIQUE (token_hash)
);
CREATE INDEX refresh_token_grant_idx ON refresh_token (grant_id);
CREATE INDEX refresh_token_expires_idx ON refresh_token (expires_at);

-- Scopes a user has agreed to give a client; consent is asked again for new scopes.
CREATE TABLE consent (
    user_id         TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL REFERENCES oauth_client(id) ON DELETE CASCADE,
    scope           TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consent_client_idx ON consent (client_id);

-- Revoked access tokens that belong to no grant (client credentials), until they expire.
CREATE TABLE revoked_token (
    jti             TEXT PRIMARY KEY NOT NULL,
    expires_at      TIMESTAMP NOT NULL
);
CREATE INDEX revoked_token_expires_idx ON revoked_token (expires_at);
