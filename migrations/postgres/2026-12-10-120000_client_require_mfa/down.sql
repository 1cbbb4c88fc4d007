ALTER TABLE oauth_client DROP COLUMN require_mfa;
