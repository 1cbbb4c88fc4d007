-- Failed sign-in attempts (password, client secret, second factor), counted in the database so
-- that every replica counts together. One row per subject: "account:<normalised email>" (whether
-- or not an account has that address), "ip:<address>" or "client:<client id>". A successful
-- sign-in deletes the account's row; `portcullis user unlock` deletes it too.
CREATE TABLE sign_in_throttle (
    key             TEXT PRIMARY KEY NOT NULL,
    failures        INTEGER NOT NULL,
    window_start    TIMESTAMP NOT NULL,
    last_failure_at TIMESTAMP NOT NULL,
    locked_until    TIMESTAMP
);
CREATE INDEX sign_in_throttle_last_failure_idx ON sign_in_throttle (last_failure_at);
