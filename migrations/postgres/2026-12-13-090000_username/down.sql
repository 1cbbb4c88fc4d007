DROP INDEX user_profile_username_unique;
ALTER TABLE user_profile DROP COLUMN username;
