-- A forgotten PIN's identity check counts its tries in the customer's row, as a PIN check does:
-- a KV that loses or evicts its keys must not hand out fresh tries. `reset_tries` counts the
-- checks made since `reset_tries_until - window` (the first of them), until then.
ALTER TABLE customers ADD COLUMN reset_tries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN reset_tries_until TIMESTAMPTZ NULL;
