-- Users merged into another (issue 13): the merged ID never comes back, and a passkey that
-- moved with the merge still carries the merged user's handle, so it is recognised through here.
CREATE TABLE user_merge (
    merged_id       TEXT PRIMARY KEY NOT NULL,
    survivor_id     TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    merged_at       TIMESTAMP NOT NULL
);
CREATE INDEX user_merge_survivor_idx ON user_merge (survivor_id);
