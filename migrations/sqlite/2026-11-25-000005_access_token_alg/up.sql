-- Access tokens may be signed with another algorithm than the client's ID tokens (NULL: the same).
ALTER TABLE oauth_client ADD COLUMN access_token_alg TEXT
    CONSTRAINT oauth_client_access_alg_check CHECK (access_token_alg IS NULL OR access_token_alg IN ('RS256', 'ES256', 'EdDSA'));
