-- An administrator may disable a user (`portcullis user disable`): while `disabled_at` is set the
-- user cannot sign in, their sessions do not resolve and their tokens are refused. The reason is
-- for administrators only; it is never shown to the user.
ALTER TABLE "user" ADD COLUMN disabled_at TIMESTAMP;
ALTER TABLE "user" ADD COLUMN disabled_reason TEXT;
