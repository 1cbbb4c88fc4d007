ALTER TABLE oauth_client DROP COLUMN access_token_alg;
