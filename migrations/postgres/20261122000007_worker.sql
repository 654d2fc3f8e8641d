-- The worker: scheduled jobs, monthly fees, and transfers moved to suspense.

-- One row per job: when it is next due, and who holds it now. A lease is taken with a guarded
-- UPDATE and expires on its own, so a crashed worker's job is picked up after `leased_until`.
-- The schedule lives here, not in each worker, so two workers run a job once per interval
-- between them.
CREATE TABLE jobs (
    name             TEXT        PRIMARY KEY,
    next_run_at      TIMESTAMPTZ NOT NULL,
    lease_owner      TEXT        NULL,
    leased_until     TIMESTAMPTZ NULL,
    last_started_at  TIMESTAMPTZ NULL,
    last_finished_at TIMESTAMPTZ NULL,
    last_success_at  TIMESTAMPTZ NULL,
    last_error       TEXT        NULL,
    runs             BIGINT      NOT NULL DEFAULT 0,
    failures         BIGINT      NOT NULL DEFAULT 0
);

-- What each wallet paid (or was let off) for each month: the primary key is what makes the
-- fee once per wallet per month, whichever worker gets there, however often it runs.
CREATE TABLE monthly_fees (
    period         TEXT        NOT NULL,
    account_id     BIGINT      NOT NULL REFERENCES accounts (id),
    outcome        TEXT        NOT NULL
                   CHECK (outcome IN ('charged', 'waived_new_account', 'waived_low_balance', 'waived_insufficient_funds')),
    amount         BIGINT      NOT NULL CHECK (amount >= 0),
    transaction_id BIGINT      NULL REFERENCES transactions (id),
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (period, account_id)
);

-- Months whose fees are done for every wallet that was open at their start.
CREATE TABLE monthly_fee_periods (
    period       TEXT        PRIMARY KEY,
    wallets      BIGINT      NOT NULL,
    completed_at TIMESTAMPTZ NOT NULL
);

-- A transfer to another bank whose outcome stayed unknown past the maximum age: the customer's
-- held funds were posted to the suspense account. It stays `pending` (the rail has not said),
-- and the rail's eventual answer moves the money on from suspense.
ALTER TABLE transactions ADD COLUMN suspense_at TIMESTAMPTZ NULL;

-- Retention walks these by age.
CREATE INDEX webhook_payloads_by_received ON webhook_payloads (received_at);
CREATE INDEX inbox_messages_by_received ON inbox_messages (received_at) WHERE state <> 'pending';
CREATE INDEX outbox_messages_by_created ON outbox_messages (created_at) WHERE state <> 'pending';
CREATE INDEX delivery_statuses_by_updated ON delivery_statuses (updated_at);
CREATE INDEX inbox_messages_by_payload ON inbox_messages (payload_id);
