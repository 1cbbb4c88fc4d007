DROP TABLE audit_event;
DROP TABLE user_settings;
DROP TABLE user_profile;
DROP TABLE verification;
DROP TABLE session;
DROP TABLE account;
DROP TABLE "user";
