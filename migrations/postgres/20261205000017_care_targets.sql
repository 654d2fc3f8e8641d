-- Care's promises kept track of: when a customer waiting for a person was told when to expect
-- one, and whether a ticket passed its first-response or resolution target (each counted once).
ALTER TABLE tickets ADD COLUMN waiting_told_at TIMESTAMPTZ NULL;
ALTER TABLE tickets ADD COLUMN response_breached INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN resolution_breached INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tickets_waiting ON tickets (created_at)
    WHERE status = 'open' AND with_person = 1 AND first_response_at IS NULL AND waiting_told_at IS NULL;
