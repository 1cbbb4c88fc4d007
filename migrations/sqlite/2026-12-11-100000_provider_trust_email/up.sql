-- Whether the provider's "email verified" is trusted enough to link an existing user by email
-- without asking them to prove the account (issue 13). NULL: the kind's default (Google for
-- Gmail or its hosted domain, GitHub's verified primary address; never for generic kinds).
ALTER TABLE identity_provider ADD COLUMN trust_email BOOLEAN;
