-- The audit trail: append-only, written in the same transaction as the change it records.
CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at TEXT    NOT NULL,
    actor       TEXT    NOT NULL CHECK (actor <> ''),
    action      TEXT    NOT NULL CHECK (action <> ''),
    subject     TEXT    NOT NULL DEFAULT '',
    detail      TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
);

CREATE INDEX audit_events_by_subject ON audit_events (subject, id) WHERE subject <> '';
