-- A client may require that its users sign in with two factors (see [mfa] and README).
ALTER TABLE oauth_client ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
