ALTER TABLE verification DROP COLUMN attempts;
DROP TABLE rate_limit;
DROP TABLE mail_outbox;
