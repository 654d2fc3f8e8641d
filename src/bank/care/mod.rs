//! Customer care: a customer freezes their account (no PIN needed to stop a thief), complains
//! and gets a tracking number at once, asks for a person and is handed over; agents (in the
//! console) claim tickets, answer through the outbox and close them, and the customer rates the
//! help they got. Unfreezing is an operator's, audited.
//!
//! Tickets live in the store ([`crate::store::care`]); every change is in one unit of work with
//! its audit event and, where the customer is told, the outbox message that tells them.

mod agents;
mod report;
mod round;
pub mod rules;

use chrono::{DateTime, Utc};

use serde_json::json;

use super::{Bank, Refusal, customer_event};
use crate::store::care::{NewTicket, NewTicketMessage, TicketRow};
use crate::store::{CustomerRow, SqlTx};

pub use agents::{AgentError, TicketView};
pub use report::{Late, Summary};
pub use round::CareRound;

/// The categories of a ticket, as stored and as flows name them.
pub const CATEGORIES: [&str; 6] =
    ["failed_transfer", "wrong_debit", "missing_credit", "fraud", "loan", "other"];

/// Categories about a transaction: the customer picks it from their recent ones.
pub const MONEY_CATEGORIES: [&str; 3] = ["failed_transfer", "wrong_debit", "missing_credit"];

/// How many recent transactions a complaint may pick from.
pub const PICKABLE: i64 = 5;

/// Open tickets a customer may have at once: a complaint beyond it is refused, so no customer
/// can grow the tickets table without bound.
pub const MAX_OPEN: usize = 5;

/// Longest message a customer or agent adds to a ticket (WhatsApp's own limit).
pub const MAX_MESSAGE: usize = 4_096;

/// How long the mark that care has something for a customer lasts: while it is there, their
/// messages are checked against their tickets; without it (nearly every message), no query.
const MARK_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

/// The KV key marking that care has something for the customer behind `key`.
fn mark(key: &str) -> String {
    format!("bank:care:{key}")
}

/// Why a complaint was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComplaintRefusal {
    /// Not a customer.
    NotRegistered,
    /// Not one of [`CATEGORIES`].
    UnknownCategory,
    /// No recent transaction has that number.
    NoSuchTransaction,
    /// [`MAX_OPEN`] tickets are open already.
    TooMany,
}

/// A ticket opened (or found again), as the customer is told about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// Its tracking number.
    pub reference: String,
    /// Whether this message opened it (false: a repeat, or one already open).
    pub new: bool,
}

impl Bank {
    /// Freezes the money actions of the customer behind `key` at once and opens a fraud ticket
    /// (`opened_key` makes a repeated message find it again). Already frozen: the open fraud
    /// ticket is the one (`Opened::new` false), and nothing changes.
    pub async fn freeze(
        &self,
        key: &str,
        opened_key: &str,
    ) -> anyhow::Result<Result<(Opened, bool), Refusal>> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let Some(customer) = tx.customers().customer_by_alias(key).await? else {
            return Ok(Err(Refusal::NotRegistered));
        };
        let frozen = tx.care().freeze(customer.id, now).await?;
        let open_fraud = match frozen {
            true => None,
            false => tx
                .care()
                .customer_tickets(customer.id, 20)
                .await?
                .into_iter()
                .find(|t| t.status == "open" && t.category == "fraud"),
        };
        let opened = match open_fraud {
            Some(ticket) => Opened { reference: ticket.reference, new: false },
            None => self.open_ticket(tx.as_mut(), &customer, opened_key, "fraud", None, false).await?,
        };
        if frozen {
            let detail = json!({ "ticket": opened.reference });
            tx.append_audit(&customer_event(customer.id, "customer.frozen", detail, now)).await?;
        }
        tx.commit().await?;
        Ok(Ok((opened, !frozen)))
    }

    /// Opens a complaint of `category` for the customer behind `key`; for a money category,
    /// about their `pick`th most recent transaction (1 the newest).
    pub async fn complain(
        &self,
        key: &str,
        opened_key: &str,
        category: &str,
        pick: Option<i64>,
    ) -> anyhow::Result<Result<Opened, ComplaintRefusal>> {
        if !CATEGORIES.contains(&category) {
            return Ok(Err(ComplaintRefusal::UnknownCategory));
        }
        let Some((customer, wallet, mut tx)) = self.with_wallet(key).await? else {
            return Ok(Err(ComplaintRefusal::NotRegistered));
        };
        // (A redelivered message gets the outcome kept for its action, not a second ticket.)
        let recent = tx.care().customer_tickets(customer.id, 50).await?;
        if recent.iter().filter(|t| t.status == "open").count() >= MAX_OPEN {
            tx.rollback().await?;
            return Ok(Err(ComplaintRefusal::TooMany));
        }
        let transaction = match pick {
            Some(n) if (1..=PICKABLE).contains(&n) => {
                let recent = tx.bank().recent_transactions(wallet.id, PICKABLE).await?;
                match usize::try_from(n - 1).ok().and_then(|i| recent.get(i)) {
                    Some(row) => Some(row.id),
                    None => return Ok(Err(ComplaintRefusal::NoSuchTransaction)),
                }
            }
            Some(_) => return Ok(Err(ComplaintRefusal::NoSuchTransaction)),
            None => None,
        };
        let opened =
            self.open_ticket(tx.as_mut(), &customer, opened_key, category, transaction, false).await?;
        tx.commit().await?;
        Ok(Ok(opened))
    }

    /// The customer behind `key` asks for a person: their newest open ticket, or a new one,
    /// takes their messages from now until an agent closes it or they say "menu".
    pub async fn ask_for_person(
        &self,
        key: &str,
        opened_key: &str,
    ) -> anyhow::Result<Result<Opened, Refusal>> {
        let mut tx = self.begin().await?;
        let Some(customer) = tx.customers().customer_by_alias(key).await? else {
            return Ok(Err(Refusal::NotRegistered));
        };
        self.mark_care(&customer.phone).await?;
        let open = tx.care().customer_tickets(customer.id, 1).await?.into_iter().find(|t| t.status == "open");
        let opened = match open {
            Some(ticket) => {
                tx.care().set_with_person(ticket.id, true).await?;
                Opened { reference: ticket.reference, new: false }
            }
            None => self.open_ticket(tx.as_mut(), &customer, opened_key, "other", None, true).await?,
        };
        tx.commit().await?;
        Ok(Ok(opened))
    }

    /// Marks that care has something for the customer at `phone` (their messages may go to a
    /// ticket, or be a rating): set before the change that needs it is committed.
    pub(super) async fn mark_care(&self, phone: &str) -> anyhow::Result<()> {
        let key = super::customers::alias_of_phone(phone);
        self.kv.set(&mark(&key), b"1", MARK_TTL).await?;
        Ok(())
    }

    /// The ticket the customer behind `key` asks about: the one with tracking number
    /// `reference`, or (empty) their newest.
    pub async fn ticket_status(
        &self,
        key: &str,
        reference: &str,
    ) -> anyhow::Result<Result<Option<TicketRow>, Refusal>> {
        let mut tx = self.begin().await?;
        let Some(customer) = tx.customers().customer_by_alias(key).await? else {
            return Ok(Err(Refusal::NotRegistered));
        };
        let reference = reference.trim().to_uppercase();
        let ticket = if reference.is_empty() {
            tx.care().customer_tickets(customer.id, 1).await?.pop()
        } else {
            tx.care().ticket_by_reference(customer.id, &reference).await?
        };
        tx.rollback().await?;
        Ok(Ok(ticket))
    }

    /// Where care stands with the customer behind `key`: the open ticket their messages go to
    /// instead of the bot, and the closed ticket they were asked to rate.
    pub async fn care_state(&self, key: &str) -> anyhow::Result<(Option<i64>, Option<i64>)> {
        if self.kv.get(&mark(key)).await?.is_none() {
            return Ok((None, None));
        }
        let mut tx = self.begin().await?;
        let state = match tx.customers().customer_by_alias(key).await? {
            Some(customer) => {
                let open = tx.care().with_person(customer.id).await?.map(|t| t.id);
                let to_rate = tx.care().awaiting_rating(customer.id).await?.map(|t| t.id);
                (open, to_rate)
            }
            None => (None, None),
        };
        tx.rollback().await?;
        Ok(state)
    }

    /// Adds what the customer wrote to ticket `ticket` (a message the bot does not answer),
    /// once per WhatsApp message `source`.
    pub async fn to_ticket(&self, ticket: i64, source: &str, text: &str) -> anyhow::Result<()> {
        let body: String = text.chars().take(MAX_MESSAGE).collect();
        let message = NewTicketMessage {
            author: "customer",
            admin: None,
            body: &body,
            source: Some(source),
            now: self.now(),
        };
        let mut tx = self.begin().await?;
        tx.care().add_message(ticket, &message).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The customer went back to the bot ("menu"): ticket `ticket` stays open for its agent,
    /// whose replies still reach them, but their messages go to the bot again.
    pub async fn back_to_bot(&self, ticket: i64) -> anyhow::Result<()> {
        let mut tx = self.begin().await?;
        tx.care().set_with_person(ticket, false).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes `text` as the rating of closed ticket `ticket`, which the customer was asked to
    /// rate: `Some(rating)` when it is one (a number from 1 to 5); anything else ends the
    /// asking, and the message goes to the bot.
    pub async fn take_rating(&self, ticket: i64, text: &str) -> anyhow::Result<Option<i32>> {
        let rating = rating_in(text);
        let mut tx = self.begin().await?;
        let Some(row) = tx.care().ticket(ticket).await? else { return Ok(None) };
        if !tx.care().rate(ticket, rating).await? {
            return Ok(None);
        }
        if let Some(rating) = rating {
            let detail = json!({ "ticket": row.reference, "rating": rating });
            tx.append_audit(&customer_event(row.customer_id, "ticket.rated", detail, self.now())).await?;
        }
        tx.commit().await?;
        Ok(rating)
    }

    /// When ticket `ticket` is due its first answer and its close, by its category's targets.
    pub fn ticket_due(&self, ticket: &TicketRow) -> (DateTime<Utc>, DateTime<Utc>) {
        let target = self.rules.care.target(&ticket.category);
        (
            ticket.created_at + chrono::Duration::minutes(i64::from(target.first_response_minutes)),
            ticket.created_at + chrono::Duration::hours(i64::from(target.resolution_hours)),
        )
    }

    /// `at` as an ISO date in the bank's calendar (what `| date` shows).
    pub fn local_date(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.settings.timezone).date_naive().format("%Y-%m-%d").to_string()
    }

    async fn open_ticket(
        &self,
        tx: &mut dyn SqlTx,
        customer: &CustomerRow,
        opened_key: &str,
        category: &str,
        transaction_id: Option<i64>,
        with_person: bool,
    ) -> anyhow::Result<Opened> {
        let now = self.now();
        let day = now.with_timezone(&self.settings.timezone).format("%Y%m%d").to_string();
        let new =
            NewTicket { opened_key, customer_id: customer.id, category, transaction_id, with_person, now };
        let (ticket, created) = tx.care().open_ticket(&new, &day).await?;
        if created {
            let detail = json!({ "ticket": ticket.reference, "category": category });
            tx.append_audit(&customer_event(customer.id, "ticket.opened", detail, now)).await?;
        }
        Ok(Opened { reference: ticket.reference, new: created })
    }
}

/// A rating from 1 to 5 typed or tapped ("4", "rate_4", "5 stars", "⭐⭐⭐").
fn rating_in(text: &str) -> Option<i32> {
    let text = text.trim().to_lowercase();
    let text = text.strip_prefix("rate_").unwrap_or(&text);
    let stars = text.chars().filter(|c| *c == '⭐').count();
    if stars > 0 && text.chars().all(|c| c == '⭐' || c.is_whitespace()) {
        return i32::try_from(stars).ok().filter(|n| (1..=5).contains(n));
    }
    let first = text.split_whitespace().next()?;
    let rest: Vec<&str> = text.split_whitespace().skip(1).collect();
    let n: i32 = first.parse().ok()?;
    ((1..=5).contains(&n) && rest.iter().all(|w| matches!(*w, "star" | "stars" | "/5" | "of" | "5")))
        .then_some(n)
}

#[cfg(test)]
mod tests {
    use super::rating_in;

    #[test]
    fn a_rating_is_a_number_from_one_to_five() {
        for (text, rating) in [("4", Some(4)), ("rate_5", Some(5)), ("3 stars", Some(3)), ("⭐⭐", Some(2))]
        {
            assert_eq!(rating_in(text), rating, "{text}");
        }
        for text in ["0", "6", "menu", "4821", "send 5 to mum", "", "⭐⭐⭐⭐⭐⭐"] {
            assert_eq!(rating_in(text), None, "{text}");
        }
    }
}
