-- The pending rows of the inbox and the outbox in queue order, so that a claim reads the front
-- of each queue (the rows in flight, then the first free customers) instead of every pending
-- row: its cost follows the batch it takes, not the backlog behind it.
CREATE INDEX inbox_messages_pending_in_order ON inbox_messages (seq) WHERE state = 'pending';
CREATE INDEX outbox_messages_pending_in_order ON outbox_messages (id) WHERE state = 'pending';
-- No claim looks up a recipient's pending replies any more; what does look up a recipient's
-- replies (a customer's conversation, whatever their state) scanned the whole outbox.
DROP INDEX outbox_messages_pending_by_recipient;
CREATE INDEX outbox_messages_by_recipient ON outbox_messages (recipient_key, id);
