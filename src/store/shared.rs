//! Statements the PostgreSQL and SQLite adapters both run as they are, written once in the
//! common dialect (`$N` placeholders). What stays in `postgres.rs` or `sqlite.rs` differs
//! between the dialects (locking, upserts that return, time arithmetic, `SKIP LOCKED`).

/// Both adapters run this as it is.
pub(super) const INSERT_AUDIT_EVENTS: &str =
    "INSERT INTO audit_events (occurred_at, actor, action, subject, detail)
             VALUES ($1, $2, $3, $4, $5) RETURNING id";

/// Both adapters run this as it is.
pub(super) const INSERT_CUSTOMER_PREFERENCES: &str = "INSERT INTO customer_preferences (recipient_key, language, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (recipient_key) DO UPDATE SET language = excluded.language, updated_at = excluded.updated_at";

/// Both adapters run this as it is.
pub(super) const INSERT_DELIVERY_STATUSES: &str = "INSERT INTO delivery_statuses
                 (message_id, status, rank, status_at, error_code, error_title, callback_data, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (message_id) DO UPDATE SET
                 status = excluded.status, rank = excluded.rank, status_at = excluded.status_at,
                 error_code = excluded.error_code, error_title = excluded.error_title,
                 callback_data = COALESCE(excluded.callback_data, delivery_statuses.callback_data),
                 updated_at = excluded.updated_at
             WHERE delivery_statuses.rank < excluded.rank
             RETURNING message_id";

/// Both adapters run this as it is.
pub(super) const SELECT_WEBHOOK_PAYLOADS: &str = "SELECT (SELECT COUNT(*) FROM webhook_payloads),
                    (SELECT COUNT(*) FROM webhook_payloads WHERE problems IS NOT NULL),
                    (SELECT COUNT(*) FROM inbox_messages),
                    (SELECT COUNT(*) FROM delivery_statuses)";

/// Both adapters run this as it is.
pub(super) const SELECT_CUSTOMER_ALIASES: &str = "SELECT customer_id FROM customer_aliases WHERE alias = $1";

/// Both adapters run this as it is.
pub(super) const SELECT_INBOX_MESSAGES: &str =
    "SELECT i.message, p.body FROM inbox_messages i JOIN webhook_payloads p ON p.id = i.payload_id
             WHERE i.message_id = $1";

/// Both adapters run this as it is.
pub(super) const SELECT_AUDIT_EVENTS: &str = "SELECT id, occurred_at, actor, action, subject, detail
     FROM audit_events ORDER BY id DESC LIMIT $1";

/// Both adapters run this as it is.
pub(super) const SELECT_OUTBOX_MESSAGES: &str =
    "SELECT id, recipient_key, in_reply_to, body, state, attempts, provider_message_id,
                    via_template, error_code, error_message, next_attempt_at
             FROM outbox_messages
             WHERE recipient_key = $1 ORDER BY id";

/// Both adapters run this as it is.
pub(super) const SELECT_CUSTOMER_PREFERENCES: &str =
    "SELECT language FROM customer_preferences WHERE recipient_key = $1";

/// Both adapters run this as it is.
pub(super) const SELECT_INBOX_MESSAGES_2: &str = "SELECT max(COALESCE(sent_at, received_at)) FROM
                 (SELECT sent_at, received_at FROM inbox_messages
                  WHERE sender_key = $1 AND kind <> 'system' ORDER BY seq DESC LIMIT 20) recent";

/// Both adapters run this as it is.
pub(super) const SELECT_DELIVERY_STATUSES: &str =
    "SELECT message_id FROM delivery_statuses WHERE callback_data = $1 LIMIT 1";

/// Both adapters run this as it is.
pub(super) const SELECT_DELIVERY_STATUSES_2: &str =
    "SELECT message_id, status, rank, status_at, error_code, error_title, callback_data, updated_at
             FROM delivery_statuses WHERE message_id = $1";

/// Both adapters run this as it is.
pub(super) const SELECT_FLOW_RELEASES: &str =
    "SELECT number, version FROM flow_releases ORDER BY number DESC LIMIT 1";

/// Both adapters run this as it is.
pub(super) const SELECT_INBOX_MESSAGES_3: &str =
    "SELECT seq, message_id, sender_key, kind, state FROM inbox_messages
             WHERE sender_key = $1 ORDER BY seq";

/// Both adapters run this as it is.
pub(super) const UPDATE_INBOX_MESSAGES: &str = "UPDATE inbox_messages SET message = $2 WHERE seq = $1";

/// Both adapters run this as it is.
pub(super) const UPDATE_INBOX_MESSAGES_2: &str = "UPDATE inbox_messages
             SET state = $3, processed_at = $4, lease_owner = NULL, leased_until = NULL
             WHERE seq = $1 AND lease_owner = $2 AND state = 'pending'";

/// Both adapters run this as it is.
pub(super) const UPDATE_OUTBOX_MESSAGES: &str = "UPDATE outbox_messages
                 SET next_attempt_at = $3, attempts = attempts - 1, lease_owner = NULL, leased_until = NULL
                 WHERE id = $1 AND lease_owner = $2 AND state = 'pending'";

/// Both adapters run this as it is.
pub(super) const UPDATE_OUTBOX_MESSAGES_2: &str = "UPDATE outbox_messages
                 SET next_attempt_at = $3, error_code = $4, error_message = $5,
                     lease_owner = NULL, leased_until = NULL
                 WHERE id = $1 AND lease_owner = $2 AND state = 'pending'";

/// Both adapters run this as it is.
pub(super) const UPDATE_OUTBOX_MESSAGES_3: &str = "UPDATE outbox_messages
                 SET state = $3, error_code = $4, error_message = $5, settled_at = $6,
                     lease_owner = NULL, leased_until = NULL
                 WHERE id = $1 AND lease_owner = $2 AND state = 'pending'";

/// Both adapters run this as it is.
pub(super) const UPDATE_OUTBOX_MESSAGES_4: &str =
    "UPDATE outbox_messages SET state = 'outside_window', error_code = $2 WHERE id = $1 AND state = 'sent'";

/// Both adapters run this as it is.
pub(super) const UPDATE_OUTBOX_MESSAGES_5: &str = "UPDATE outbox_messages
                 SET state = 'sent', provider_message_id = $3, via_template = $4, settled_at = $5,
                     lease_owner = NULL, leased_until = NULL
                 WHERE id = $1 AND lease_owner = $2 AND state = 'pending'";

/// Both adapters run this as it is.
pub(super) const UPDATE_WEBHOOK_PAYLOADS: &str = "UPDATE webhook_payloads SET body = $2
             WHERE id = (SELECT payload_id FROM inbox_messages WHERE seq = $1)";

/// `ids` returned by a multi-row insert, in the order the rows were given: the ids come from a
/// sequence, so they rise in that order whatever order they are returned in.
pub(super) fn in_given_order(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}
