-- Flow versions: the sources of every bundle of flows teller has run, by content hash. A
-- session pinned to a version finishes on it even after `flows/` changed and teller restarted.
CREATE TABLE flow_versions (
    version    TEXT        PRIMARY KEY,
    sources    TEXT        NOT NULL,
    created_at TEXT        NOT NULL
);

-- What a customer chose that outlives a session: their language.
CREATE TABLE customer_preferences (
    recipient_key TEXT        PRIMARY KEY,
    language      TEXT        NOT NULL,
    updated_at    TEXT        NOT NULL
);
