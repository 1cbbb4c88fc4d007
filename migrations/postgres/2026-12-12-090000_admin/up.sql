-- Administration (issue 14): who did what, and which clients may call the admin API.
-- `actor` names who made a change ("user:<id>", "client:<id>", "cli", "config"); NULL is the
-- subject user acting on their own account, or the server itself.
ALTER TABLE audit_event ADD COLUMN actor TEXT;
-- The client application an event concerns, so the audit log can be filtered by client.
ALTER TABLE audit_event ADD COLUMN client_id TEXT;
CREATE INDEX audit_event_kind_idx ON audit_event (kind, created_at);
CREATE INDEX audit_event_client_idx ON audit_event (client_id, created_at);
-- A client that may ask for the `admin` scope with client_credentials (automation).
ALTER TABLE oauth_client ADD COLUMN admin_api BOOLEAN NOT NULL DEFAULT FALSE;
