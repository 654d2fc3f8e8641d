-- A payment provider's side of each customer: the account number the customer funds their
-- wallet through (a dedicated virtual account), opened by the worker until it exists; and the
-- provider's handle on each account teller pays out to (a transfer recipient), made once.
CREATE TABLE funding_accounts (
    customer_id        BIGINT      PRIMARY KEY REFERENCES customers (id),
    provider           TEXT        NOT NULL,
    state              TEXT        NOT NULL CHECK (state IN ('pending', 'open')),
    provider_customer  TEXT        NULL,
    account_number     TEXT        NULL,
    bank_name          TEXT        NULL,
    account_name       TEXT        NULL,
    attempts           INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at    TIMESTAMPTZ NOT NULL,
    last_error         TEXT        NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    CHECK (state = 'pending' OR account_number IS NOT NULL)
);
CREATE UNIQUE INDEX funding_accounts_provider_customer ON funding_accounts (provider, provider_customer);
CREATE UNIQUE INDEX funding_accounts_number ON funding_accounts (provider, account_number);
CREATE INDEX funding_accounts_due ON funding_accounts (next_attempt_at) WHERE state = 'pending';

CREATE TABLE payout_recipients (
    provider        TEXT        NOT NULL,
    bank_code       TEXT        NOT NULL,
    account_number  TEXT        NOT NULL,
    recipient_code  TEXT        NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (provider, bank_code, account_number)
);
