-- Groups (issue 14): named sets of users that relying applications see in the `groups` claim.
-- `name` is kept as the admin wrote it (after PRECIS folding) and is what tokens carry;
-- `name_key` is its case-folded form, computed in Rust so both backends fold alike, and the
-- UNIQUE constraint on it is what keeps "Staff" and "staff " from being two groups.
CREATE TABLE user_group (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    name_key        TEXT NOT NULL,
    description     TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    CONSTRAINT user_group_name_key_unique UNIQUE (name_key)
);
-- Membership goes with either side: deleting a user or a group removes its rows.
CREATE TABLE group_member (
    group_id        TEXT NOT NULL REFERENCES user_group(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    added_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_member_user_idx ON group_member (user_id);
-- A client's extra claims (`oidc::claim_rules`), as a JSON array; '[]' when it has none.
ALTER TABLE oauth_client ADD COLUMN claim_rules TEXT NOT NULL DEFAULT '[]';
