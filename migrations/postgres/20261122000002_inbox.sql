-- Webhook bodies exactly as received (after their signature verified): inspection and replay.
CREATE TABLE webhook_payloads (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL,
    body        BYTEA       NOT NULL,
    -- Why the body, or parts of it, could not be used; NULL when every part was understood.
    problems    TEXT        NULL
);

CREATE INDEX webhook_payloads_with_problems ON webhook_payloads (id) WHERE problems IS NOT NULL;

-- Inbound customer messages: one row per WhatsApp message id, whatever Meta redelivers.
-- `seq` is arrival order, which orders each sender's messages for the dispatcher.
CREATE TABLE inbox_messages (
    seq             BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id      TEXT        NOT NULL UNIQUE,
    payload_id      BIGINT      NOT NULL REFERENCES webhook_payloads (id),
    sender_key      TEXT        NOT NULL,
    phone_number_id TEXT        NULL,
    kind            TEXT        NOT NULL,
    sent_at         TIMESTAMPTZ NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    message         JSONB       NOT NULL,
    state           TEXT        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    processed_at    TIMESTAMPTZ NULL
);

CREATE INDEX inbox_messages_pending_by_sender ON inbox_messages (sender_key, seq) WHERE state = 'pending';

-- Delivery state of messages teller sent. It only moves forward (sent < delivered < read), and
-- failed is final: a late or redelivered status never takes it back.
CREATE TABLE delivery_statuses (
    message_id    TEXT        PRIMARY KEY,
    status        TEXT        NOT NULL CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
    rank          INTEGER     NOT NULL,
    status_at     TIMESTAMPTZ NULL,
    error_code    BIGINT      NULL,
    error_title   TEXT        NULL,
    callback_data TEXT        NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
