//! Customer care as stored: freezes, tickets with tracking numbers, and their messages.
//!
//! [`CareTx`] is care's part of a unit of work, implemented once for both adapters in
//! `care_sql.rs` like the rest of the store.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// A ticket as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TicketRow {
    /// Internal id.
    pub id: i64,
    /// The tracking number the customer is given: `TCK-YYYYMMDD-NNNN`.
    pub reference: String,
    /// Whose.
    pub customer_id: i64,
    /// `failed_transfer`, `wrong_debit`, `missing_credit`, `fraud`, `loan` or `other`.
    pub category: String,
    /// The transaction complained about.
    pub transaction_id: Option<i64>,
    /// `open` or `closed`.
    pub status: String,
    /// 1 while the customer's messages go to the ticket rather than the bot.
    pub with_person: i32,
    /// The agent who holds it.
    pub agent_id: Option<i64>,
    /// Opened then.
    pub created_at: DateTime<Utc>,
    /// An agent first answered then.
    pub first_response_at: Option<DateTime<Utc>>,
    /// Closed then.
    pub closed_at: Option<DateTime<Utc>>,
    /// How it was resolved, in the agent's words.
    pub resolution: Option<String>,
    /// 1 once the customer was asked to rate the care they got.
    pub rating_asked: i32,
    /// Their rating, 1 to 5.
    pub rating: Option<i32>,
}

/// One message of a ticket.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TicketMessageRow {
    /// Internal id: the order messages were added in.
    pub id: i64,
    /// `customer`, `agent` or `bot`.
    pub author: String,
    /// The agent who wrote it.
    pub admin_id: Option<i64>,
    /// What was said.
    pub body: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A ticket to open.
#[derive(Debug, Clone)]
pub struct NewTicket<'a> {
    /// What opens it: a second ticket with the same key is the first one.
    pub opened_key: &'a str,
    /// Whose.
    pub customer_id: i64,
    /// Its category.
    pub category: &'a str,
    /// The transaction complained about.
    pub transaction_id: Option<i64>,
    /// Whether the customer's messages go to it from now.
    pub with_person: bool,
    /// Now.
    pub now: DateTime<Utc>,
}

/// A message to add to a ticket.
#[derive(Debug, Clone)]
pub struct NewTicketMessage<'a> {
    /// `customer`, `agent` or `bot`.
    pub author: &'a str,
    /// The agent who wrote it.
    pub admin: Option<i64>,
    /// What was said.
    pub body: &'a str,
    /// The customer's WhatsApp message it came from.
    pub source: Option<&'a str>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Care's part of one unit of work.
#[async_trait]
pub trait CareTx: Send {
    /// Freezes customer `customer`'s money actions from `now`; false when already frozen.
    async fn freeze(&mut self, customer: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Lifts the freeze; false when there was none.
    async fn unfreeze(&mut self, customer: i64) -> Result<bool, StoreError>;

    /// Opens a ticket (its tracking number made from `now`'s date in the bank's calendar,
    /// `day`, and its id), or finds the one `opened_key` opened before; with whether it is new.
    async fn open_ticket(&mut self, new: &NewTicket<'_>, day: &str) -> Result<(TicketRow, bool), StoreError>;

    /// Ticket `id`.
    async fn ticket(&mut self, id: i64) -> Result<Option<TicketRow>, StoreError>;

    /// Customer `customer`'s ticket with tracking number `reference`.
    async fn ticket_by_reference(
        &mut self,
        customer: i64,
        reference: &str,
    ) -> Result<Option<TicketRow>, StoreError>;

    /// Tickets in `status` (`open`, `closed`), oldest first, at most `limit`.
    async fn tickets(&mut self, status: &str, limit: u32) -> Result<Vec<TicketRow>, StoreError>;

    /// Customer `customer`'s newest tickets, at most `limit`.
    async fn customer_tickets(&mut self, customer: i64, limit: u32) -> Result<Vec<TicketRow>, StoreError>;

    /// The open ticket customer `customer`'s messages go to, if any.
    async fn with_person(&mut self, customer: i64) -> Result<Option<TicketRow>, StoreError>;

    /// Whether ticket `id` takes the customer's messages; false when it is closed.
    async fn set_with_person(&mut self, id: i64, on: bool) -> Result<bool, StoreError>;

    /// Agent `agent` holds open ticket `id`; unless `take_over`, only when no one holds it.
    async fn claim(&mut self, id: i64, agent: i64, take_over: bool) -> Result<bool, StoreError>;

    /// Adds a message to ticket `id` (once per `source`, the WhatsApp message it came from);
    /// an agent's first one is the first response. `None` when `source` was added before.
    async fn add_message(
        &mut self,
        id: i64,
        message: &NewTicketMessage<'_>,
    ) -> Result<Option<i64>, StoreError>;

    /// Ticket `id`'s messages in order, the last `limit`.
    async fn messages(&mut self, id: i64, limit: u32) -> Result<Vec<TicketMessageRow>, StoreError>;

    /// Closes open ticket `id` with `resolution`, to be rated; false when it was closed.
    async fn close(&mut self, id: i64, resolution: &str, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Customer `customer`'s closed ticket whose rating was asked for and not given.
    async fn awaiting_rating(&mut self, customer: i64) -> Result<Option<TicketRow>, StoreError>;

    /// Tickets opened or closed at or after `since`, at most `limit`.
    async fn tickets_since(&mut self, since: DateTime<Utc>, limit: u32)
    -> Result<Vec<TicketRow>, StoreError>;

    /// Open tickets handed to a person, opened before `before`, no agent has answered and the
    /// customer was not told when to expect one; oldest first, at most `limit`.
    async fn waiting_untold(
        &mut self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<TicketRow>, StoreError>;

    /// The customer of ticket `id` was told when to expect a person; false when told before.
    async fn mark_told(&mut self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Ticket `id` passed its first-response (`resolution` false) or resolution target; false
    /// when that was recorded before.
    async fn mark_breached(&mut self, id: i64, resolution: bool) -> Result<bool, StoreError>;

    /// Records rating `rating` (1 to 5) for ticket `id`, or none (`None`: the customer moved
    /// on); false when it was rated or not asked.
    async fn rate(&mut self, id: i64, rating: Option<i32>) -> Result<bool, StoreError>;
}

/// The columns of [`TicketRow`].
macro_rules! ticket_columns {
    () => {
        "id, reference, customer_id, category, transaction_id, status, with_person, agent_id, \
         created_at, first_response_at, closed_at, resolution, rating_asked, rating"
    };
}

pub(crate) use ticket_columns;
