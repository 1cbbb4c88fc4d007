-- Upstream identity providers, and what an upstream account remembers.

CREATE TABLE identity_provider (
    slug            TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    client_secret   TEXT NOT NULL,
    issuer          TEXT,
    authorize_url   TEXT,
    token_url       TEXT,
    userinfo_url    TEXT,
    scopes          TEXT NOT NULL,
    claim_mapping   TEXT NOT NULL,
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    link_policy     TEXT NOT NULL DEFAULT 'verified_email',
    allowed_domains TEXT NOT NULL DEFAULT '[]',
    hosted_domain   TEXT,
    github_orgs     TEXT NOT NULL DEFAULT '[]',
    keep_tokens     BOOLEAN NOT NULL DEFAULT FALSE,
    managed_by      TEXT NOT NULL DEFAULT 'cli',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    CONSTRAINT identity_provider_kind_check CHECK (kind IN ('google', 'github', 'oidc', 'oauth2')),
    CONSTRAINT identity_provider_link_policy_check CHECK (link_policy IN ('verified_email', 'never'))
);

-- Upstream tokens are encrypted with the master key, and stored only when the provider keeps them.
ALTER TABLE account ADD COLUMN email TEXT;
ALTER TABLE account ADD COLUMN access_token TEXT;
ALTER TABLE account ADD COLUMN refresh_token TEXT;
ALTER TABLE account ADD COLUMN id_token TEXT;
ALTER TABLE account ADD COLUMN token_expires_at TIMESTAMP;
