-- A transfer to another bank that failed after its funds went to suspense is refunded from
-- suspense. Every credit respects the tier's maximum balance, so a refund that would take the
-- wallet past it waits, held in suspense, from `refund_held_at` until there is room (the
-- stuck-transfer job pays it then); the customer is told and operations alerted.
ALTER TABLE transactions ADD COLUMN refund_held_at TEXT NULL;
CREATE INDEX transactions_held_refunds ON transactions (id) WHERE refund_held_at IS NOT NULL;
