-- Operator tools: a transfer held in suspense resolved with the rail's evidence, a late fee
-- waived, a loan restructured or written off. Each is audited; above OPERATOR_APPROVAL_ABOVE
-- it waits here until a second admin approves it (never the one who asked), and runs then.
CREATE TABLE operator_requests (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          TEXT        NOT NULL CHECK (kind IN ('resolve_transfer', 'waive_late_fee', 'restructure_loan', 'write_off_loan')),
    subject       TEXT        NOT NULL,
    params        TEXT        NOT NULL,
    amount        BIGINT      NOT NULL CHECK (amount >= 0),
    reason        TEXT        NOT NULL CHECK (reason <> ''),
    state         TEXT        NOT NULL CHECK (state IN ('pending', 'done', 'rejected', 'failed')),
    requested_by  TEXT        NOT NULL,
    requested_at  TIMESTAMPTZ NOT NULL,
    decided_by    TEXT        NULL,
    decided_at    TIMESTAMPTZ NULL,
    outcome       TEXT        NULL
);
-- One request waiting per subject: a second ask finds the first.
CREATE UNIQUE INDEX operator_requests_pending ON operator_requests (kind, subject) WHERE state = 'pending';

-- A loan written off: what it still owed is a loss, and nothing more is collected.
ALTER TABLE loans DROP CONSTRAINT loans_state_check;
ALTER TABLE loans ADD CONSTRAINT loans_state_check
    CHECK (state IN ('offered', 'declined', 'active', 'repaid', 'written_off'));
ALTER TABLE loans ADD COLUMN written_off_at TIMESTAMPTZ NULL;
