-- The pending rows of the inbox and the outbox in queue order, so that a claim reads the front
-- of each queue (the rows in flight, then the first free customers) instead of every pending
-- row: its cost follows the batch it takes, not the backlog behind it.
CREATE INDEX inbox_messages_pending_in_order ON inbox_messages (seq) WHERE state = 'pending';
CREATE INDEX outbox_messages_pending_in_order ON outbox_messages (id) WHERE state = 'pending';
