-- A forgotten PIN is reset in chat once the customer proves who they are. For a while after a
-- reset, a day's transfers are held to a smaller limit (`security.after_pin_reset` in the bank
-- rules): `pin_reset_at` is when the last reset happened.
ALTER TABLE customers ADD COLUMN pin_reset_at TEXT NULL;
