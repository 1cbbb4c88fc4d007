-- Usernames (issue 14): an optional handle on the profile, sent as `preferred_username`.
-- Stored only in its normalised form (lower-case ASCII, see `identity::username`), so this
-- UNIQUE index is what keeps "Ada" and "ada" from being two people, whatever the collation.
-- NULL (no username) may repeat.
ALTER TABLE user_profile ADD COLUMN username TEXT;
CREATE UNIQUE INDEX user_profile_username_unique ON user_profile (username);
