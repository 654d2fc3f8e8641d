-- A reply whose sender died mid-send (its lease ran out with no outcome recorded) may have
-- reached Meta. From `unknown_since` (set when such a reply is claimed again) the sender
-- first waits, up to OUTBOX_UNKNOWN_WAIT_SECS, for the status webhook that would say Meta took
-- it, instead of sending it a second time at once.
ALTER TABLE outbox_messages ADD COLUMN unknown_since TEXT NULL;
