-- The screens each published WhatsApp Flow holds, as `teller whatsapp flows push` published
-- it. Meta does not let a published Flow change, so a screen added to the repository's Flow
-- JSON exists only in a Flow published since: teller sends a form on a screen only when the
-- Flow it names is recorded with it (or the screen is one every teller Flow has had).
CREATE TABLE whatsapp_flows (
    name TEXT PRIMARY KEY,
    flow_id TEXT NOT NULL,
    screens TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL
);
