-- Admins and the flow lifecycle.

-- An admin signs in with email, password (argon2id PHC string) and a TOTP code. Repeated
-- failures lock the account until `locked_until`. `session_epoch` is part of every session an
-- admin holds: logging out raises it, which ends all of their sessions on every instance.
CREATE TABLE admins (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           TEXT        NOT NULL UNIQUE CHECK (email <> ''),
    role            TEXT        NOT NULL CHECK (role IN ('viewer', 'editor', 'publisher', 'operator')),
    password_hash   TEXT        NOT NULL,
    totp_secret     TEXT        NOT NULL,
    failed_logins   INTEGER     NOT NULL DEFAULT 0,
    locked_until    TIMESTAMPTZ NULL,
    session_epoch   BIGINT      NOT NULL DEFAULT 0,
    last_login_at   TIMESTAMPTZ NULL,
    created_at      TIMESTAMPTZ NOT NULL
);

-- Published flow versions, numbered from 1. A release is never changed or deleted: a rollback
-- is a new release of an older version. The newest release is what new conversations start on.
-- The sources live in `flow_versions`, by content hash, where sessions pinned to them find them.
CREATE TABLE flow_releases (
    number       BIGINT      PRIMARY KEY CHECK (number >= 1),
    version      TEXT        NOT NULL REFERENCES flow_versions (version),
    kind         TEXT        NOT NULL CHECK (kind IN ('baseline', 'draft', 'rollback')),
    draft_id     BIGINT      NULL,
    rollback_of  BIGINT      NULL REFERENCES flow_releases (number),
    published_by TEXT        NOT NULL,
    published_at TIMESTAMPTZ NOT NULL
);

-- Drafts: a whole set of flow files (JSON array of {file, text}), edited until published or
-- discarded. `revision` rises with every edit, so two editors cannot overwrite each other
-- unknowingly. A draft made from a change to `flows/` carries that content's hash in
-- `files_version`, unique, so instances starting together propose it once.
CREATE TABLE flow_drafts (
    id            BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title         TEXT        NOT NULL,
    sources       TEXT        NOT NULL,
    base_release  BIGINT      NOT NULL REFERENCES flow_releases (number),
    state         TEXT        NOT NULL CHECK (state IN ('open', 'published', 'discarded')),
    revision      BIGINT      NOT NULL DEFAULT 1,
    files_version TEXT        NULL UNIQUE,
    release       BIGINT      NULL REFERENCES flow_releases (number),
    created_by    TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_by    TEXT        NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX flow_drafts_open ON flow_drafts (id) WHERE state = 'open';
