-- Admin accounts run by the bank's own people. An `owner` invites admins, changes roles,
-- disables accounts and resets passwords and authenticators. A disabled account cannot sign in
-- and its sessions are over (its epoch is raised in the same unit of work).
ALTER TABLE admins DROP CONSTRAINT admins_role_check;
ALTER TABLE admins ADD CONSTRAINT admins_role_check
    CHECK (role IN ('owner', 'viewer', 'editor', 'publisher', 'operator', 'agent'));
ALTER TABLE admins ADD COLUMN disabled_at TIMESTAMPTZ NULL;

-- A link that sets an account up: an invitation (password and authenticator), or a reset of
-- one of them. Only the token's SHA-256 is kept; the authenticator secret it will enrol is
-- sealed like the account's own. A newer link for the same admin replaces the older.
CREATE TABLE admin_setups (
    token_hash   TEXT        PRIMARY KEY,
    admin_id     BIGINT      NOT NULL REFERENCES admins (id),
    kind         TEXT        NOT NULL CHECK (kind IN ('invite', 'password', 'authenticator')),
    totp_secret  TEXT        NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ NULL,
    created_by   TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX admin_setups_admin ON admin_setups (admin_id) WHERE used_at IS NULL;
