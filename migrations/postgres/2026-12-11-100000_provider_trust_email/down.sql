ALTER TABLE identity_provider DROP COLUMN trust_email;
