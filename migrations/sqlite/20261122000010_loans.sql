-- Loans: every eligibility decision with its reasons, offers and the loans they became, their
-- installments, and what the worker did to each installment on each day.
--
-- Money is integer minor units. Dates that belong to the bank's calendar (due dates, the day a
-- job acted) are `YYYY-MM-DD` text in BANK_TIMEZONE, which sorts as dates do.

CREATE TABLE loan_decisions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id BIGINT      NOT NULL REFERENCES customers (id),
    product     TEXT,
    outcome     TEXT        NOT NULL,
    loan_limit  BIGINT      NOT NULL CHECK (loan_limit >= 0),
    -- JSON: every rule, whether it passed, and what was found.
    reasons     TEXT        NOT NULL,
    -- JSON: the facts the rules read.
    facts       TEXT        NOT NULL,
    decided_at  TEXT        NOT NULL
);
CREATE INDEX loan_decisions_by_customer ON loan_decisions (customer_id, decided_at);

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
    state           TEXT        NOT NULL CHECK (state IN ('offered', 'declined', 'active', 'repaid')),
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
    CHECK (total = principal + fee + interest),
    CHECK (paid_late_fees BETWEEN 0 AND late_fees),
    CHECK (paid_fee BETWEEN 0 AND fee),
    CHECK (paid_interest BETWEEN 0 AND interest),
    CHECK (paid_principal BETWEEN 0 AND principal)
);
-- One loan running per customer, whatever races: the second acceptance fails here.
CREATE UNIQUE INDEX loans_one_active ON loans (customer_id) WHERE state = 'active';
CREATE INDEX loans_by_customer ON loans (customer_id, id);

CREATE TABLE loan_installments (
    loan_id       BIGINT      NOT NULL REFERENCES loans (id),
    number        INTEGER     NOT NULL CHECK (number >= 1),
    due_on        TEXT        NOT NULL,
    amount        BIGINT      NOT NULL CHECK (amount >= 0),
    late_fee      BIGINT      NOT NULL DEFAULT 0 CHECK (late_fee >= 0),
    paid          BIGINT      NOT NULL DEFAULT 0,
    overdue_since TEXT,
    paid_at       TEXT       ,
    PRIMARY KEY (loan_id, number),
    CHECK (paid >= 0 AND paid <= amount + late_fee)
);
CREATE INDEX loan_installments_unpaid ON loan_installments (due_on) WHERE paid < amount + late_fee;

-- What a job did to an installment on a day (`collect`, `late_fee`, `remind`): the key makes
-- each once per installment per day, whatever the number of workers.
CREATE TABLE loan_events (
    loan_id        BIGINT      NOT NULL REFERENCES loans (id),
    number         INTEGER     NOT NULL,
    kind           TEXT        NOT NULL,
    day            TEXT        NOT NULL,
    amount         BIGINT      NOT NULL DEFAULT 0,
    transaction_id BIGINT      REFERENCES transactions (id),
    created_at     TEXT        NOT NULL,
    PRIMARY KEY (loan_id, number, kind, day)
);
