//! Rows of the durable inbox: webhook payloads, inbound messages, delivery statuses.

use chrono::{DateTime, Utc};
use serde_json::Value;

// Statements both backends run as they are, written once in the common dialect (`$N`
// placeholders, which PostgreSQL and SQLite both read).

/// Forgets webhook payload `$1` (`SqlTx::drop_webhook`).
pub(super) const DROP_WEBHOOK: &str = "DELETE FROM webhook_payloads WHERE id = $1";

/// Replaces webhook payload `$1`'s body with `$2` (`SqlTx::replace_webhook_body`).
pub(super) const REPLACE_WEBHOOK_BODY: &str = "UPDATE webhook_payloads SET body = $2 WHERE id = $1";

/// Webhook payloads (`$1` when received, `$2` bodies, `$3` problems) and their messages (`$4`
/// the 1-based place of each one's payload in `$1`…`$3`, then its columns), all in one
/// statement (PostgreSQL: `SqlStore::enqueue_new_webhooks`). Each payload's id is drawn before
/// it is inserted, so each message names its own. A message id the inbox has already fails the
/// statement on the unique index, and nothing of it is kept: the index answers that, not a
/// lookup the planner might turn into a scan of the inbox (on a fresh database it did).
pub(super) const ENQUEUE_NEW_WEBHOOKS: &str = "WITH
     payload AS MATERIALIZED (
         SELECT nextval(pg_get_serial_sequence('webhook_payloads', 'id')) AS id, w.*
         FROM unnest($1::timestamptz[], $2::bytea[], $3::text[])
              WITH ORDINALITY AS w(received_at, body, problems, place)
     ),
     kept AS (
         INSERT INTO webhook_payloads (id, received_at, body, problems) OVERRIDING SYSTEM VALUE
         SELECT id, received_at, body, problems FROM payload
     )
     INSERT INTO inbox_messages
         (message_id, payload_id, sender_key, phone_number_id, kind, sent_at, received_at, message)
     SELECT m.message_id, payload.id, m.sender_key, m.phone_number_id, m.kind, m.sent_at, m.received_at,
            m.message
     FROM unnest($4::int8[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[],
                 $10::timestamptz[], $11::jsonb[])
          WITH ORDINALITY AS m(payload, message_id, sender_key, phone_number_id, kind, sent_at,
                               received_at, message, place)
     JOIN payload ON payload.place = m.payload
     ORDER BY m.place";

/// A verified webhook body to keep.
#[derive(Debug, Clone)]
pub struct NewWebhookPayload<'a> {
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// The bytes exactly as received.
    pub body: &'a [u8],
    /// Why it, or parts of it, could not be used; `None` when fully understood.
    pub problems: Option<String>,
}

/// An inbound message to enqueue (once per message id).
#[derive(Debug, Clone)]
pub struct NewInboxMessage<'a> {
    /// The webhook payload it came in.
    pub payload_id: i64,
    /// WhatsApp's message id: the deduplication key.
    pub message_id: &'a str,
    /// The sender's ordering key (`wa:<wa_id>` or `bsuid:<bsuid>`).
    pub sender_key: &'a str,
    /// The business number it was sent to.
    pub phone_number_id: Option<&'a str>,
    /// Its content kind (`text`, `button_reply`, …).
    pub kind: &'a str,
    /// When the customer sent it, per Meta.
    pub sent_at: Option<DateTime<Utc>>,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// Its JSON as received, with its matched contact.
    pub message: &'a Value,
}

/// A queued inbound message.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct InboxMessage {
    /// Arrival order.
    pub seq: i64,
    /// WhatsApp's message id.
    pub message_id: String,
    /// The sender's ordering key.
    pub sender_key: String,
    /// Its content kind.
    pub kind: String,
    /// `pending`, `done` or `failed`.
    pub state: String,
}

/// A delivery status of one of teller's messages, as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeliveryStatus {
    /// Our message's WhatsApp id.
    pub message_id: String,
    /// `sent`, `delivered`, `read` or `failed`.
    pub status: String,
    /// Progress rank: statuses only move to a higher one.
    pub rank: i32,
    /// When, per Meta.
    pub status_at: Option<DateTime<Utc>>,
    /// Meta's error code, for `failed`.
    pub error_code: Option<i64>,
    /// Meta's error title, for `failed`.
    pub error_title: Option<String>,
    /// Our `biz_opaque_callback_data`.
    pub callback_data: Option<String>,
    /// When teller last changed it.
    pub updated_at: DateTime<Utc>,
}

/// How much the inbox holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InboxCounts {
    /// Webhook payloads kept.
    pub payloads: i64,
    /// Of those, payloads with problems.
    pub payloads_with_problems: i64,
    /// Inbound messages queued (any state).
    pub messages: i64,
    /// Delivery statuses known.
    pub statuses: i64,
}

/// Which of `messages` were new, given the message ids a multi-row insert returned: of several
/// with one id, the first (rows are inserted in the order given).
pub(super) fn first_of_each_inserted(messages: &[NewInboxMessage<'_>], inserted: &[String]) -> Vec<bool> {
    let mut inserted: std::collections::HashSet<&str> = inserted.iter().map(String::as_str).collect();
    messages.iter().map(|m| inserted.remove(m.message_id)).collect()
}
