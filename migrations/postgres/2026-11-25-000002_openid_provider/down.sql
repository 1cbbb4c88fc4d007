DROP TABLE revoked_token;
DROP TABLE consent;
DROP TABLE refresh_token;
DROP TABLE authorization_code;
DROP TABLE oauth_grant;
DROP TABLE signing_key;
DROP TABLE oauth_client;
