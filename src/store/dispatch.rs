//! Rows of dispatch: leased inbound messages and queued replies.

use chrono::{DateTime, Utc};
use serde_json::Value;

// Statements both backends run as they are, written once in the common dialect (`$N`
// placeholders, which PostgreSQL and SQLite both read).

/// The latest the sender whose key is `$key` wrote before their message `$seq` (system events
/// aside), judged over their 20 messages before it: whether their session was lost, when the
/// KV has none (see `Conversations::starting`).
macro_rules! wrote_before {
    ($key:literal, $seq:literal) => {
        concat!(
            "(SELECT max(COALESCE(e.sent_at, e.received_at)) FROM
              (SELECT e.sent_at, e.received_at FROM inbox_messages e
               WHERE e.sender_key = ",
            $key,
            " AND e.kind <> 'system' AND e.seq < ",
            $seq,
            " ORDER BY e.seq DESC LIMIT 20) e)"
        )
    };
}

/// The latest a customer wrote before message `$2` (`SqlStore::inbound_before`).
pub(super) const INBOUND_BEFORE: &str =
    concat!("SELECT ", wrote_before!("$1", "(SELECT seq FROM inbox_messages WHERE message_id = $2)"));

/// How many rows at the front of a queue a claim of `n` reads: `n` times this. The rows in
/// flight come first (leased by the rounds under way, at most a few batches), then the free
/// customers' heads. A claim's cost follows its batch, not the backlog behind it; the price is
/// that a claim finds nothing when more than this many rows at the front are all in flight,
/// waiting for a retry or queued behind those of the same customer, until the front moves on.
pub const CLAIM_WINDOW: u32 = 8;

/// The customers free to be handled among the first `$window` pending messages by arrival
/// (a message in flight marks its sender busy), oldest first, at most `$limit`. A sender busy
/// with a message outside the window is still among them: the claim judges each afresh.
/// PostgreSQL's claim runs in the database and has its own copy, in the function
/// `claim_inbound` (migration `claim_in_one_call`): a change here is a new migration there.
macro_rules! free_senders {
    ($now:literal, $limit:literal, $window:literal) => {
        concat!(
            "SELECT sender_key FROM
                 (SELECT sender_key, seq, leased_until FROM inbox_messages
                  WHERE state = 'pending' ORDER BY seq LIMIT ",
            $window,
            ") front
             GROUP BY sender_key
             HAVING max(CASE WHEN leased_until > ",
            $now,
            " THEN 1 ELSE 0 END) = 0
             ORDER BY min(seq) LIMIT ",
            $limit
        )
    };
}
pub(super) use free_senders;

/// The replies that head their recipient's queue among the first `$window` pending replies by
/// id: a recipient's first reply in that window is their lowest pending one, since any lower one
/// would be in the window too. So no reply is compared with any outside the window. `queued`:
/// how many of the recipient's replies the window holds (one with more behind it beyond the
/// window, in a backlog of over a window's replies, is found by the sender's poll).
macro_rules! outbox_heads {
    ($window:literal) => {
        concat!(
            "SELECT min(id) AS id, count(*) AS queued FROM
                 (SELECT id, recipient_key FROM outbox_messages
                  WHERE state = 'pending' ORDER BY id LIMIT ",
            $window,
            ") front
             GROUP BY recipient_key"
        )
    };
}
pub(super) use outbox_heads;

/// What the store knows of the sender whose key is the column `$key`, as of their message whose
/// `seq` is the column `$seq`: whether they are a customer, the language they chose and when
/// they last wrote before it ([`Standing`]); for a claim to return with each message. As with
/// [`free_senders`], PostgreSQL's claim function has its own copy.
macro_rules! sender_standing {
    ($key:literal, $seq:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM customer_aliases a WHERE a.alias = ",
            $key,
            ") AS registered,
             (SELECT p.language FROM customer_preferences p WHERE p.recipient_key = ",
            $key,
            ") AS language, ",
            crate::store::dispatch::wrote_before!($key, $seq),
            " AS wrote_before"
        )
    };
}
pub(super) use sender_standing;
pub(super) use wrote_before;

/// Ends every lease `$1` holds on pending messages at `$2` (`SqlStore::release_inbound`).
pub(super) const RELEASE_INBOUND: &str = "UPDATE inbox_messages SET leased_until = $2
     WHERE lease_owner = $1 AND state = 'pending' AND leased_until > $2";

/// The question of the reply Meta knows as `$1`, else of outbox row `$2` (the id its status
/// webhook echoed, for a send whose answer was not recorded yet) (`SqlStore::reply_question`).
pub(super) const REPLY_QUESTION: &str = "SELECT question FROM outbox_messages
     WHERE provider_message_id = $1 OR id = $2
     ORDER BY CASE WHEN provider_message_id = $1 THEN 0 ELSE 1 END LIMIT 1";

/// Ends `$2`'s lease on message `$1` at `$3` (`SqlTx::retry_inbound_at`).
pub(super) const RETRY_INBOUND_AT: &str = "UPDATE inbox_messages SET leased_until = $3
     WHERE seq = $1 AND lease_owner = $2 AND state = 'pending' AND leased_until > $3";

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
    /// Who the sender was when the message was claimed. Their messages are handled one at a
    /// time, so only their own handling could change it meanwhile; the handler need not look
    /// it up again (one statement fewer per message).
    #[sqlx(flatten)]
    pub standing: Standing,
    /// Whether its sender had another message pending behind it when it was claimed: the
    /// dispatcher then goes again as soon as the round is recorded (see [`crate::rounds`]).
    pub more: bool,
}

/// What the store knew of a message's sender when the message was claimed, read in the claim
/// itself so that handling it need not ask again.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Standing {
    /// They are a customer.
    pub registered: bool,
    /// The language they chose, if they ever chose one.
    pub language: Option<String>,
    /// The latest they wrote before this message, if ever (as `SqlStore::inbound_before`).
    pub wrote_before: Option<DateTime<Utc>>,
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
    /// When the message that opened the customer's 24-hour window was sent (the one replied
    /// to), if known: the sender then need not look it up.
    pub window_from: Option<DateTime<Utc>>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// It carries a one-time code: once settled, its body is replaced after this.
    pub scrub_after: Option<DateTime<Utc>>,
    /// The question the customer's session was asking when it was queued (see
    /// [`crate::store::SqlStore::question_of`]); `None` for notices.
    pub question: Option<&'a str>,
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
    /// Sends tried so far.
    pub attempts: i32,
    /// Meta's id for it once accepted.
    pub provider_message_id: Option<String>,
    /// Sent as the window template instead of its own body.
    pub via_template: bool,
    /// The last failure's Meta code.
    pub error_code: Option<i64>,
    /// The last failure's message.
    pub error_message: Option<String>,
    /// Not tried again before this.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// A reply leased to one sender: the oldest pending reply to its recipient.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedReply {
    /// Queue order; also our `biz_opaque_callback_data`.
    pub id: i64,
    /// The customer's ordering key.
    pub recipient_key: String,
    /// The inbound message it answers, if any: what the dispatcher's wake-up of the sender names.
    pub in_reply_to: Option<String>,
    /// Send to this `wa_id`…
    pub wa_id: Option<String>,
    /// …or to this BSUID.
    pub bsuid: Option<String>,
    /// The Graph API message object, as stored: the sender glances at it and sends it on
    /// without reading it into a tree.
    pub body: sqlx::types::Json<Box<serde_json::value::RawValue>>,
    /// The customer's window was open from this time, as known when the reply was queued.
    pub window_from: Option<DateTime<Utc>>,
    /// Sends tried, this one included.
    pub attempts: i32,
    /// Since when it is unknown whether an earlier send reached Meta: its sender died
    /// mid-send (its lease ran out with no outcome recorded).
    pub unknown_since: Option<DateTime<Utc>>,
    /// Whether its recipient had another reply pending behind it when it was claimed: the
    /// sender then goes again as soon as the round is settled (see [`crate::rounds`]).
    pub more: bool,
}

/// How a leased reply ended, recorded only while the lease is still this sender's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// Meta accepted it.
    Sent {
        /// Meta's message id.
        provider_message_id: String,
        /// Whether the window template went in its place.
        via_template: bool,
    },
    /// Final: not sent and never retried.
    Failed {
        /// `true` when the 24-hour window had closed (state `outside_window`), else `failed`.
        outside_window: bool,
        /// Meta's code, if it gave one.
        code: Option<i64>,
        /// Why.
        message: String,
    },
    /// A retryable failure: back in the queue, not before `at`.
    Retry {
        /// The earliest next try.
        at: DateTime<Utc>,
        /// Meta's code, if it gave one.
        code: Option<i64>,
        /// Why.
        message: String,
    },
    /// Not tried at all (held back by a local rate limit): back in the queue, the attempt uncounted.
    Postpone {
        /// The earliest next try.
        at: DateTime<Utc>,
    },
}
