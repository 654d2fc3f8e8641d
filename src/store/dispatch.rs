//! Rows of dispatch: leased inbound messages and queued replies.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// An inbound message leased to one dispatcher: the oldest pending message of its sender.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ClaimedMessage {
    /// Arrival order; also the key the lease and the finish are fenced by.
    pub seq: i64,
    /// WhatsApp's message id.
    pub message_id: String,
    /// The sender's ordering key.
    pub sender_key: String,
    /// The business number it was sent to.
    pub phone_number_id: Option<String>,
    /// Its JSON as received, with its matched contact.
    pub message: sqlx::types::Json<Value>,
    /// How many times it has been leased, this time included.
    pub attempts: i32,
}

/// How a leased message ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Handled; its replies are in the outbox.
    Done,
    /// Given up on; kept for inspection.
    Failed,
}

impl Finish {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Finish::Done => "done",
            Finish::Failed => "failed",
        }
    }
}

/// A reply to queue.
#[derive(Debug, Clone)]
pub struct NewOutboxMessage<'a> {
    /// The customer's ordering key (`wa:…` or `bsuid:…`), the same as their inbox key.
    pub recipient_key: &'a str,
    /// Send to this `wa_id` (the one received, never a typed number)…
    pub wa_id: Option<&'a str>,
    /// …or, for a customer known only by username, to this BSUID.
    pub bsuid: Option<&'a str>,
    /// The inbound message that caused it.
    pub in_reply_to: Option<&'a str>,
    /// The Graph API message object, recipient excluded.
    pub body: &'a Value,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// A queued reply.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OutboxMessage {
    /// Queue order.
    pub id: i64,
    /// The customer's ordering key.
    pub recipient_key: String,
    /// The inbound message that caused it.
    pub in_reply_to: Option<String>,
    /// The Graph API message object.
    pub body: sqlx::types::Json<Value>,
    /// `pending`, `sent`, `failed` or `outside_window`.
    pub state: String,
}
