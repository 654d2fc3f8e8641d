//! What customer care agents do to tickets, from the console: claim, answer, close, and (an
//! operator) unfreeze. Each change is audited in the unit of work that makes it, and what the
//! customer is told goes out through the outbox in the same unit of work, so it leaves exactly
//! when the change is committed and in order with everything else sent to them.

use serde_json::json;

use super::super::notices::{self, Notice};
use super::super::{Bank, customer_event};
/// Longest answer an agent sends: WhatsApp's 4,096 less room for the ticket's heading and footer.
const MAX_ANSWER: usize = 3_800;
use crate::store::NewAuditEvent;
use crate::store::care::{NewTicketMessage, TicketRow};
use crate::whatsapp::outbound::{Outbound, Text};

/// Why an agent's change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    /// No such ticket (or customer).
    #[error("not found")]
    NotFound,
    /// The ticket is closed.
    #[error("the ticket is closed")]
    Closed,
    /// Another agent holds it.
    #[error("another agent holds this ticket: take it over to answer")]
    HeldByAnother,
    /// Empty, or longer than WhatsApp allows.
    #[error("the text must be 1 to 3,800 characters")]
    BadText,
    /// Nothing to do: the account is not frozen.
    #[error("the account is not frozen")]
    NotFrozen,
}

/// A ticket as an agent changed it.
pub type TicketView = TicketRow;

impl Bank {
    /// Agent `agent` takes ticket `id` (from another agent only with `take_over`); `by` is the
    /// admin who did it (the agent themselves, or whoever assigned it to them).
    pub async fn claim_ticket(
        &self,
        id: i64,
        agent: i64,
        take_over: bool,
        by: i64,
    ) -> anyhow::Result<Result<TicketView, AgentError>> {
        let mut tx = self.begin().await?;
        let Some(ticket) = tx.care().ticket(id).await? else { return Ok(Err(AgentError::NotFound)) };
        if ticket.status != "open" {
            return Ok(Err(AgentError::Closed));
        }
        if ticket.agent_id == Some(agent) {
            return Ok(Ok(ticket));
        }
        if !tx.care().claim(id, agent, take_over).await? {
            return Ok(Err(AgentError::HeldByAnother));
        }
        let (action, detail) = if by == agent {
            ("ticket.claimed", json!({ "ticket": ticket.reference, "from": ticket.agent_id }))
        } else {
            ("ticket.assigned", json!({ "ticket": ticket.reference, "from": ticket.agent_id, "to": agent }))
        };
        tx.append_audit(&agent_event(by, action, id, detail, self.now())).await?;
        let ticket = tx.care().ticket(id).await?.ok_or_else(|| anyhow::anyhow!("ticket {id} vanished"))?;
        tx.commit().await?;
        Ok(Ok(ticket))
    }

    /// Agent `agent` answers ticket `id` (claiming it if no one holds it): the text goes to the
    /// ticket and to the customer, and the customer's replies go to the ticket from now.
    pub async fn answer_ticket(
        &self,
        id: i64,
        agent: i64,
        text: &str,
    ) -> anyhow::Result<Result<i64, AgentError>> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_ANSWER {
            return Ok(Err(AgentError::BadText));
        }
        let now = self.now();
        let mut tx = self.begin().await?;
        let Some(ticket) = tx.care().ticket(id).await? else { return Ok(Err(AgentError::NotFound)) };
        if ticket.status != "open" {
            return Ok(Err(AgentError::Closed));
        }
        if ticket.agent_id.is_some_and(|holder| holder != agent) {
            return Ok(Err(AgentError::HeldByAnother));
        }
        tx.care().claim(id, agent, false).await?;
        tx.care().set_with_person(id, true).await?;
        let customer =
            tx.customers().customer(ticket.customer_id).await?.ok_or(anyhow::anyhow!("no customer"))?;
        self.mark_care(&customer.phone).await?;
        let said = NewTicketMessage { author: "agent", admin: Some(agent), body: text, source: None, now };
        let message = tx
            .care()
            .add_message(id, &said)
            .await?
            .ok_or_else(|| anyhow::anyhow!("an answer without a source was a repeat"))?;
        let language = self.language_in(tx.as_mut(), &customer.phone).await?;
        let notice = Notice::AgentReply { text, reference: &ticket.reference };
        let body = notices::text(&notice, &language, self.currency());
        self.notify(tx.as_mut(), &customer.phone, &Outbound::Text(Text::new(body)?)).await?;
        let detail = json!({ "ticket": ticket.reference, "message": message });
        tx.append_audit(&agent_event(agent, "ticket.answered", id, detail, now)).await?;
        tx.commit().await?;
        Ok(Ok(message))
    }

    /// Agent `agent` closes ticket `id` with `resolution`: the customer is told, asked to rate
    /// the help, and their messages go to the bot again.
    pub async fn close_ticket(
        &self,
        id: i64,
        agent: i64,
        resolution: &str,
    ) -> anyhow::Result<Result<(), AgentError>> {
        let resolution = resolution.trim();
        if resolution.is_empty() || resolution.chars().count() > 1_000 {
            return Ok(Err(AgentError::BadText));
        }
        let now = self.now();
        let mut tx = self.begin().await?;
        let Some(ticket) = tx.care().ticket(id).await? else { return Ok(Err(AgentError::NotFound)) };
        if !tx.care().close(id, resolution, now).await? {
            return Ok(Err(AgentError::Closed));
        }
        let customer =
            tx.customers().customer(ticket.customer_id).await?.ok_or(anyhow::anyhow!("no customer"))?;
        self.mark_care(&customer.phone).await?;
        let language = self.language_in(tx.as_mut(), &customer.phone).await?;
        let notice = Notice::TicketClosed { reference: &ticket.reference, resolution };
        let body = notices::text(&notice, &language, self.currency());
        self.notify(tx.as_mut(), &customer.phone, &Outbound::Text(Text::new(body)?)).await?;
        let detail = json!({ "ticket": ticket.reference, "resolution": resolution });
        tx.append_audit(&agent_event(agent, "ticket.closed", id, detail, now)).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Operator `admin` lifts customer `customer`'s freeze, after checking it is them.
    pub async fn unfreeze(&self, customer: i64, admin: i64) -> anyhow::Result<Result<(), AgentError>> {
        let now = self.now();
        let mut tx = self.begin().await?;
        if tx.customers().customer(customer).await?.is_none() {
            return Ok(Err(AgentError::NotFound));
        }
        if !tx.care().unfreeze(customer).await? {
            return Ok(Err(AgentError::NotFrozen));
        }
        let mut event = customer_event(customer, "customer.unfrozen", json!({ "reason": "operator" }), now);
        event.actor = format!("admin:{admin}");
        tx.append_audit(&event).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }
}

fn agent_event(
    agent: i64,
    action: &str,
    ticket: i64,
    detail: serde_json::Value,
    now: chrono::DateTime<chrono::Utc>,
) -> NewAuditEvent {
    NewAuditEvent {
        occurred_at: now,
        actor: format!("admin:{agent}"),
        action: action.to_owned(),
        subject: format!("ticket:{ticket}"),
        detail,
    }
}
