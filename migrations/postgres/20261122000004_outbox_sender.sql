-- The sender: it leases each customer's oldest pending reply, sends it, and settles it. A
-- retryable failure puts the reply back with a time before which it is not tried again.
ALTER TABLE outbox_messages ADD COLUMN attempts            INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox_messages ADD COLUMN lease_owner         TEXT    NULL;
ALTER TABLE outbox_messages ADD COLUMN leased_until        TIMESTAMPTZ NULL;
ALTER TABLE outbox_messages ADD COLUMN next_attempt_at     TIMESTAMPTZ NULL;
-- Meta's id for the message once accepted (`sandbox.<id>` in the sandbox).
ALTER TABLE outbox_messages ADD COLUMN provider_message_id TEXT    NULL;
-- Sent as the configured template because the 24-hour window had closed.
ALTER TABLE outbox_messages ADD COLUMN via_template        BOOLEAN NOT NULL DEFAULT FALSE;
-- The last failure: Meta's code (NULL for a transport failure) and message.
ALTER TABLE outbox_messages ADD COLUMN error_code          BIGINT NULL;
ALTER TABLE outbox_messages ADD COLUMN error_message       TEXT    NULL;
-- When the customer's window opened, as known when the reply was queued (the message replied to).
ALTER TABLE outbox_messages ADD COLUMN window_from         TIMESTAMPTZ NULL;
ALTER TABLE outbox_messages ADD COLUMN settled_at          TIMESTAMPTZ NULL;

-- The 24-hour window: a customer's latest messages.
CREATE INDEX inbox_messages_by_sender ON inbox_messages (sender_key, seq);

-- A send whose answer was lost is recognised by the status webhook that echoes our outbox id.
CREATE INDEX delivery_statuses_by_callback ON delivery_statuses (callback_data) WHERE callback_data IS NOT NULL;
