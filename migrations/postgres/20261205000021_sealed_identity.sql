-- Identity numbers (BVN/NIN) are no longer kept in clear. `id_number` holds a keyed digest
-- (`d1:<key id>:<hex>`), unique, for "is this number registered?"; `id_number_sealed` holds the
-- number sealed under SECRETS_KEY, for the masked view. A row kept before this holds its
-- number in clear until `teller secrets rotate` seals it (lookups find both meanwhile).
ALTER TABLE customers ADD COLUMN id_number_sealed TEXT NULL;
