-- A tap on an old button must not answer whatever is pending now. Each reply remembers the
-- question the customer's session was asking when it was queued (the flow run, flow and
-- step), and a tap names the message it was made on (`context.id`, Meta's id of one of our
-- replies): a tap on anything but the current question is refused.
ALTER TABLE outbox_messages ADD COLUMN question TEXT NULL;
CREATE INDEX outbox_messages_by_provider_id ON outbox_messages (provider_message_id)
    WHERE provider_message_id IS NOT NULL;
