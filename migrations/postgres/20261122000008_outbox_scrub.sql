-- One-time codes leave in outbox messages. Once a code can no longer be used (`scrub_after`)
-- and its message is settled, the session cleanup replaces the body, so a code is not kept at
-- rest for the outbox's whole retention.
ALTER TABLE outbox_messages ADD COLUMN scrub_after TIMESTAMPTZ NULL;
CREATE INDEX outbox_messages_to_scrub ON outbox_messages (scrub_after) WHERE scrub_after IS NOT NULL;
