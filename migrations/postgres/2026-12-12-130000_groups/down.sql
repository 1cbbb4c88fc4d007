ALTER TABLE oauth_client DROP COLUMN claim_rules;
DROP TABLE group_member;
DROP TABLE user_group;
