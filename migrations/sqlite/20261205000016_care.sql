-- Customer care. A customer (or a fraud report) can freeze their account: from `frozen_at`
-- money actions are refused until an operator unfreezes it. A complaint, a freeze or a request
-- for a person opens a ticket with a tracking number (TCK-YYYYMMDD-NNNN); while
-- `with_person` is 1 the customer's messages go to the ticket rather than the bot, and an
-- agent's replies go out through the outbox. Closed tickets ask once for a rating from 1 to 5.
ALTER TABLE customers ADD COLUMN frozen_at TEXT NULL;

-- Agents answer tickets in the console. SQLite cannot change a CHECK: the table is made again
-- (nothing references it yet).
CREATE TABLE admins_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    email           TEXT        NOT NULL UNIQUE CHECK (email <> ''),
    role            TEXT        NOT NULL CHECK (role IN ('viewer', 'editor', 'publisher', 'operator', 'agent')),
    password_hash   TEXT        NOT NULL,
    totp_secret     TEXT        NOT NULL,
    failed_logins   INTEGER     NOT NULL DEFAULT 0,
    locked_until    TEXT        NULL,
    session_epoch   BIGINT      NOT NULL DEFAULT 0,
    last_login_at   TEXT        NULL,
    created_at      TEXT        NOT NULL
);
INSERT INTO admins_new SELECT * FROM admins;
DROP TABLE admins;
ALTER TABLE admins_new RENAME TO admins;

CREATE TABLE tickets (
    id                INTEGER     PRIMARY KEY AUTOINCREMENT,
    reference         TEXT        NOT NULL UNIQUE,
    -- What opened it (the action's idempotency key): a repeated message finds it again.
    opened_key        TEXT        NOT NULL UNIQUE,
    customer_id       BIGINT      NOT NULL REFERENCES customers (id),
    category          TEXT        NOT NULL CHECK (category IN
                          ('failed_transfer', 'wrong_debit', 'missing_credit', 'fraud', 'loan', 'other')),
    transaction_id    BIGINT      REFERENCES transactions (id),
    status            TEXT        NOT NULL CHECK (status IN ('open', 'closed')),
    with_person       INTEGER     NOT NULL DEFAULT 0 CHECK (with_person IN (0, 1)),
    agent_id          BIGINT      REFERENCES admins (id),
    created_at        TEXT NOT NULL,
    first_response_at TEXT,
    closed_at         TEXT,
    resolution        TEXT,
    rating_asked      INTEGER     NOT NULL DEFAULT 0 CHECK (rating_asked IN (0, 1)),
    rating            INTEGER     CHECK (rating BETWEEN 1 AND 5)
);
CREATE INDEX tickets_open ON tickets (created_at) WHERE status = 'open';
CREATE INDEX tickets_by_customer ON tickets (customer_id, id);

CREATE TABLE ticket_messages (
    id          INTEGER     PRIMARY KEY AUTOINCREMENT,
    ticket_id   BIGINT      NOT NULL REFERENCES tickets (id),
    -- 'customer', 'agent' (with admin_id) or 'bot'.
    author      TEXT        NOT NULL CHECK (author IN ('customer', 'agent', 'bot')),
    admin_id    BIGINT      REFERENCES admins (id),
    body        TEXT        NOT NULL,
    -- The customer's WhatsApp message it came from: a redelivered message is added once.
    source      TEXT        UNIQUE,
    created_at  TEXT NOT NULL
);
CREATE INDEX ticket_messages_by_ticket ON ticket_messages (ticket_id, id);
