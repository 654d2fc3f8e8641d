-- Dispatch: an instance leases a customer's oldest pending message; a lease that outlives its
-- instance (a crash) expires and another instance takes the message over.
ALTER TABLE inbox_messages ADD COLUMN lease_owner  TEXT        NULL;
ALTER TABLE inbox_messages ADD COLUMN leased_until TIMESTAMPTZ NULL;
ALTER TABLE inbox_messages ADD COLUMN attempts     INTEGER     NOT NULL DEFAULT 0;

-- Replies waiting to be sent, written in the same transaction as whatever they report.
-- `recipient_key` orders each customer's replies; the sender sends them in `id` order.
CREATE TABLE outbox_messages (
    id            BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient_key TEXT        NOT NULL,
    wa_id         TEXT        NULL,
    bsuid         TEXT        NULL,
    in_reply_to   TEXT        NULL,
    body          JSONB       NOT NULL,
    state         TEXT        NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'sent', 'failed', 'outside_window')),
    created_at    TIMESTAMPTZ NOT NULL,
    CHECK (wa_id IS NOT NULL OR bsuid IS NOT NULL)
);

CREATE INDEX outbox_messages_pending_by_recipient ON outbox_messages (recipient_key, id) WHERE state = 'pending';
