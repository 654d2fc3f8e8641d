-- The busiest system accounts are kept in parts. Fee income takes a share of nearly every
-- transfer and settlement every payment in or out: as one row each, every posting queued on
-- its lock. A posting now moves the part its customer's wallet picks, so postings of different
-- customers seldom meet on one row, and a balance is the sum of its parts. The account that was
-- there is part 0; `teller` opens the other parts when it starts (`Bank::open`).
ALTER TABLE accounts ADD COLUMN part INTEGER NOT NULL DEFAULT 0;
DROP INDEX accounts_one_system_per_kind;
CREATE UNIQUE INDEX accounts_one_system_part ON accounts (kind, currency, part) WHERE customer_id IS NULL;
