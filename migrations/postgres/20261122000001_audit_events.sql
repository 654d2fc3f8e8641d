-- The audit trail: append-only, written in the same transaction as the change it records.
CREATE TABLE audit_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at TIMESTAMPTZ NOT NULL,
    actor       TEXT        NOT NULL CHECK (actor <> ''),
    action      TEXT        NOT NULL CHECK (action <> ''),
    subject     TEXT        NOT NULL DEFAULT '',
    detail      JSONB       NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX audit_events_by_subject ON audit_events (subject, id) WHERE subject <> '';
