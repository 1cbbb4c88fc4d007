ALTER TABLE account DROP COLUMN token_expires_at;
ALTER TABLE account DROP COLUMN id_token;
ALTER TABLE account DROP COLUMN refresh_token;
ALTER TABLE account DROP COLUMN access_token;
ALTER TABLE account DROP COLUMN email;
DROP TABLE identity_provider;
