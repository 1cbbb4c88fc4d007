ALTER TABLE "user" DROP COLUMN disabled_reason;
ALTER TABLE "user" DROP COLUMN disabled_at;
