-- When each factor of a session was proven: the first (password, link, upstream, passkey) and,
-- for two-factor sign-ins, the second. auth_time stays the time the session last authenticated.
ALTER TABLE session ADD COLUMN first_factor_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
ALTER TABLE session ADD COLUMN second_factor_at TIMESTAMP;
UPDATE session SET first_factor_at = auth_time;
UPDATE session SET second_factor_at = auth_time WHERE auth_method LIKE '%+%';
