-- Operator tools: a transfer held in suspense resolved with the rail's evidence, a late fee
-- waived, a loan restructured or written off. Each is audited; above OPERATOR_APPROVAL_ABOVE
-- it waits here until a second admin approves it (never the one who asked), and runs then.
CREATE TABLE operator_requests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT        NOT NULL CHECK (kind IN ('resolve_transfer', 'waive_late_fee', 'restructure_loan', 'write_off_loan')),
    subject       TEXT        NOT NULL,
    params        TEXT        NOT NULL,
    amount        BIGINT      NOT NULL CHECK (amount >= 0),
    reason        TEXT        NOT NULL CHECK (reason <> ''),
    state         TEXT        NOT NULL CHECK (state IN ('pending', 'done', 'rejected', 'failed')),
    requested_by  TEXT        NOT NULL,
    requested_at  TEXT        NOT NULL,
    decided_by    TEXT        NULL,
    decided_at    TEXT        NULL,
    outcome       TEXT        NULL
);
-- One request waiting per subject: a second ask finds the first.
CREATE UNIQUE INDEX operator_requests_pending ON operator_requests (kind, subject) WHERE state = 'pending';

-- A loan written off: what it still owed is a loss, and nothing more is collected. SQLite
-- cannot change a CHECK, and installments and events refer to loans: the table is made again
-- with the foreign keys checked at commit, by which time every loan is back under its id.
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE loans_copy AS SELECT * FROM loans;
DROP TABLE loans;
CREATE TABLE loans (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    reference       TEXT        NOT NULL UNIQUE,
    -- What made the offer: a repeated message finds it instead of making another.
    offer_key       TEXT        NOT NULL UNIQUE,
    customer_id     BIGINT      NOT NULL REFERENCES customers (id),
    decision_id     BIGINT      NOT NULL REFERENCES loan_decisions (id),
    product         TEXT        NOT NULL,
    currency        TEXT        NOT NULL,
    principal       BIGINT      NOT NULL CHECK (principal > 0),
    fee             BIGINT      NOT NULL CHECK (fee >= 0),
    interest        BIGINT      NOT NULL CHECK (interest >= 0),
    total           BIGINT      NOT NULL,
    tenor           INTEGER     NOT NULL CHECK (tenor >= 1),
    every           TEXT        NOT NULL CHECK (every IN ('month', 'week')),
    apr             TEXT        NOT NULL,
    state           TEXT        NOT NULL CHECK (state IN ('offered', 'declined', 'active', 'repaid', 'written_off')),
    offered_on      TEXT        NOT NULL,
    offered_at      TEXT        NOT NULL,
    accepted_at     TEXT       ,
    disbursement_id BIGINT      REFERENCES transactions (id),
    repaid_at       TEXT       ,
    late_fees       BIGINT      NOT NULL DEFAULT 0 CHECK (late_fees >= 0),
    -- What was paid, by where it went: late fees, then the fee, then interest, then principal.
    paid_late_fees  BIGINT      NOT NULL DEFAULT 0,
    paid_fee        BIGINT      NOT NULL DEFAULT 0,
    paid_interest   BIGINT      NOT NULL DEFAULT 0,
    paid_principal  BIGINT      NOT NULL DEFAULT 0,
    updated_at      TEXT        NOT NULL,
    written_off_at  TEXT        NULL,
    CHECK (total = principal + fee + interest),
    CHECK (paid_late_fees BETWEEN 0 AND late_fees),
    CHECK (paid_fee BETWEEN 0 AND fee),
    CHECK (paid_interest BETWEEN 0 AND interest),
    CHECK (paid_principal BETWEEN 0 AND principal)
);
INSERT INTO loans (id, reference, offer_key, customer_id, decision_id, product, currency, principal, fee, interest, total, tenor, every, apr, state, offered_on, offered_at, accepted_at, disbursement_id, repaid_at, late_fees, paid_late_fees, paid_fee, paid_interest, paid_principal, updated_at)
    SELECT id, reference, offer_key, customer_id, decision_id, product, currency, principal, fee, interest, total, tenor, every, apr, state, offered_on, offered_at, accepted_at, disbursement_id, repaid_at, late_fees, paid_late_fees, paid_fee, paid_interest, paid_principal, updated_at FROM loans_copy;
DROP TABLE loans_copy;
CREATE UNIQUE INDEX loans_one_active ON loans (customer_id) WHERE state = 'active';
CREATE INDEX loans_by_customer ON loans (customer_id, id);
