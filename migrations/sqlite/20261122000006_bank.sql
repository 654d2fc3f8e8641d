-- The bank: customers and their aliases, accounts, a double-entry ledger.
--
-- Money is integer minor units. An account row carries its posted balance and the amount held
-- for pending transactions; both change only in the transaction that appends the entries or
-- the hold, under the row's lock. The CHECK on accounts is the last line of defence: whatever
-- code runs, a customer wallet's available balance cannot go below zero.

CREATE TABLE customers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    first_name      TEXT        NOT NULL,
    last_name       TEXT        NOT NULL,
    date_of_birth   TEXT        NOT NULL,
    id_number       TEXT        NOT NULL UNIQUE,
    phone           TEXT        NOT NULL,
    kyc_tier        INTEGER     NOT NULL CHECK (kyc_tier >= 1),
    pin_hash        TEXT        NOT NULL,
    pin_failures    INTEGER     NOT NULL DEFAULT 0,
    locked_until    TEXT       ,
    reverify        INTEGER     NOT NULL DEFAULT 0,
    totp_secret     TEXT,
    created_at      TEXT        NOT NULL,
    updated_at      TEXT        NOT NULL
);

-- How a customer is reached: `wa:<wa_id>` and `bsuid:<id>`, the dispatcher's sender keys.
CREATE TABLE customer_aliases (
    alias       TEXT        PRIMARY KEY,
    customer_id BIGINT      NOT NULL REFERENCES customers (id),
    created_at  TEXT        NOT NULL
);
CREATE INDEX customer_aliases_by_customer ON customer_aliases (customer_id);

CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    number         TEXT        NOT NULL UNIQUE,
    kind           TEXT        NOT NULL,
    customer_id    BIGINT      REFERENCES customers (id),
    currency       TEXT        NOT NULL,
    posted         BIGINT      NOT NULL DEFAULT 0,
    held           BIGINT      NOT NULL DEFAULT 0 CHECK (held >= 0),
    allow_negative INTEGER     NOT NULL DEFAULT 0,
    created_at     TEXT        NOT NULL,
    CHECK (allow_negative = 1 OR posted - held >= 0)
);
CREATE UNIQUE INDEX accounts_one_system_per_kind ON accounts (kind, currency) WHERE customer_id IS NULL;
CREATE UNIQUE INDEX accounts_one_wallet ON accounts (customer_id, kind) WHERE customer_id IS NOT NULL;

CREATE TABLE transactions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    reference        TEXT        NOT NULL UNIQUE,
    idempotency_key  TEXT        NOT NULL UNIQUE,
    kind             TEXT        NOT NULL,
    state            TEXT        NOT NULL CHECK (state IN ('pending', 'posted', 'failed', 'reversed')),
    debit_account    BIGINT      NOT NULL REFERENCES accounts (id),
    credit_account   BIGINT      NOT NULL REFERENCES accounts (id),
    amount           BIGINT      NOT NULL CHECK (amount > 0),
    fee              BIGINT      NOT NULL DEFAULT 0 CHECK (fee >= 0),
    currency         TEXT        NOT NULL,
    counterparty     TEXT        NOT NULL DEFAULT '',
    counterparty_name TEXT       NOT NULL DEFAULT '',
    origin           TEXT        NOT NULL DEFAULT '',
    origin_name      TEXT        NOT NULL DEFAULT '',
    narration        TEXT        NOT NULL DEFAULT '',
    reason           TEXT,
    created_at       TEXT        NOT NULL,
    updated_at       TEXT        NOT NULL
);
CREATE INDEX transactions_by_debit ON transactions (debit_account, created_at);
CREATE INDEX transactions_by_credit ON transactions (credit_account, created_at);
CREATE INDEX transactions_pending ON transactions (state, created_at) WHERE state = 'pending';

-- Append-only: one row per leg; a transaction's entries sum to zero.
CREATE TABLE entries (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id BIGINT      NOT NULL REFERENCES transactions (id),
    account_id     BIGINT      NOT NULL REFERENCES accounts (id),
    amount         BIGINT      NOT NULL CHECK (amount <> 0),
    created_at     TEXT        NOT NULL
);
CREATE INDEX entries_by_transaction ON entries (transaction_id);
CREATE INDEX entries_by_account ON entries (account_id, id);
