ALTER TABLE oauth_client DROP COLUMN admin_api;
DROP INDEX audit_event_client_idx;
DROP INDEX audit_event_kind_idx;
ALTER TABLE audit_event DROP COLUMN client_id;
ALTER TABLE audit_event DROP COLUMN actor;
