-- PIN locks escalate: each lock in a row lasts longer (`security.lockout_minutes` in the rules),
-- and after `security.operator_unlock_after` of them money actions stay locked until an
-- operator unlocks them. `pin_locks` counts the locks in a row (a right PIN or an operator's
-- unlock starts it again); `pin_blocked` is 1 while only an operator can unlock.
ALTER TABLE customers ADD COLUMN pin_locks   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN pin_blocked INTEGER NOT NULL DEFAULT 0;
