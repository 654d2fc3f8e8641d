-- What Meta says about the business account: each message template's review status and
-- quality score, and each phone number's quality rating and messaging limit. Each aspect keeps
-- the time Meta gave it and the event's place in its payload, so an older webhook delivered
-- late never overwrites a newer one, and a redelivered one changes nothing.
CREATE TABLE whatsapp_templates (
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    template_id TEXT NULL,
    status TEXT NOT NULL DEFAULT 'UNKNOWN',
    status_reason TEXT NULL,
    status_seq INTEGER NOT NULL DEFAULT 0,
    status_at TEXT NULL,
    quality TEXT NOT NULL DEFAULT 'UNKNOWN',
    quality_seq INTEGER NOT NULL DEFAULT 0,
    quality_at TEXT NULL,
    PRIMARY KEY (name, language)
);
CREATE TABLE whatsapp_numbers (
    display_phone_number TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    tier TEXT NULL,
    seq INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
