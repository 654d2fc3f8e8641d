-- Admin accounts run by the bank's own people. An `owner` invites admins, changes roles,
-- disables accounts and resets passwords and authenticators. A disabled account cannot sign in
-- and its sessions are over (its epoch is raised in the same unit of work).
--
-- SQLite cannot change a CHECK, and tickets refer to admins: the table is made again with the
-- foreign keys checked at commit, by which time every admin is back under the same id.
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE admins_copy AS SELECT * FROM admins;
DROP TABLE admins;
CREATE TABLE admins (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    email           TEXT        NOT NULL UNIQUE CHECK (email <> ''),
    role            TEXT        NOT NULL CHECK (role IN ('owner', 'viewer', 'editor', 'publisher', 'operator', 'agent')),
    password_hash   TEXT        NOT NULL,
    totp_secret     TEXT        NOT NULL,
    failed_logins   INTEGER     NOT NULL DEFAULT 0,
    locked_until    TEXT        NULL,
    session_epoch   BIGINT      NOT NULL DEFAULT 0,
    last_login_at   TEXT        NULL,
    created_at      TEXT        NOT NULL,
    disabled_at     TEXT        NULL
);
INSERT INTO admins
    (id, email, role, password_hash, totp_secret, failed_logins, locked_until, session_epoch,
     last_login_at, created_at)
    SELECT id, email, role, password_hash, totp_secret, failed_logins, locked_until, session_epoch,
           last_login_at, created_at
    FROM admins_copy;
DROP TABLE admins_copy;

-- A link that sets an account up: an invitation (password and authenticator), or a reset of
-- one of them. Only the token's SHA-256 is kept; the authenticator secret it will enrol is
-- sealed like the account's own. A newer link for the same admin replaces the older.
CREATE TABLE admin_setups (
    token_hash   TEXT        PRIMARY KEY,
    admin_id     BIGINT      NOT NULL REFERENCES admins (id),
    kind         TEXT        NOT NULL CHECK (kind IN ('invite', 'password', 'authenticator')),
    totp_secret  TEXT        NULL,
    expires_at   TEXT        NOT NULL,
    used_at      TEXT        NULL,
    created_by   TEXT        NOT NULL,
    created_at   TEXT        NOT NULL
);
CREATE INDEX admin_setups_admin ON admin_setups (admin_id) WHERE used_at IS NULL;
