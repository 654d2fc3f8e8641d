//! Customer care tickets for agents: the queue, one ticket with its conversation (the customer
//! masked as in the operator's view, their recent transactions and the one complained about),
//! claiming, answering and closing; and an operator's unfreeze, after a second check. Reading a
//! ticket is audited like looking a customer up; every change is audited by the bank.
//!
//! Keep these paths: other programs call them.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::{AdminSession, second_check};
use super::customers::{masked, transaction_json};
use super::store_error;
use crate::admin::Capability;
use crate::bank::care::AgentError;
use crate::http::{ApiError, AppState};
use crate::store::care::TicketRow;

/// Tickets in one page of the queue.
const QUEUE: u32 = 200;
/// Messages shown with a ticket (the newest).
const MESSAGES: u32 = 200;
/// Recent transactions shown with a ticket.
const RECENT: i64 = 5;

/// The routes under `/admin/api/tickets`, and unfreezing a customer.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/api/tickets", get(queue))
        .route("/admin/api/tickets/{id}", get(one))
        .route("/admin/api/tickets/{id}/claim", post(claim))
        .route("/admin/api/tickets/{id}/messages", post(answer))
        .route("/admin/api/tickets/{id}/close", post(close))
        .route("/admin/api/customers/{id}/unfreeze", post(unfreeze))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueQuery {
    /// `open` (the default) or `closed`.
    status: Option<String>,
}

/// The queue: tickets in `status`, oldest first, with their age in minutes.
async fn queue(
    State(state): State<AppState>,
    session: AdminSession,
    Query(query): Query<QueueQuery>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::HandleTickets)?;
    let status = query.status.as_deref().unwrap_or("open");
    if !matches!(status, "open" | "closed") {
        return Err(ApiError::BadRequest("status is open or closed".into()));
    }
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(store_error)?;
    let tickets = tx.care().tickets(status, QUEUE).await.map_err(store_error)?;
    let mut rows = Vec::with_capacity(tickets.len());
    for ticket in &tickets {
        let customer = tx.customers().customer(ticket.customer_id).await.map_err(store_error)?;
        let name = customer.as_ref().map(|c| masked(c, now)["name"].clone()).unwrap_or(Value::Null);
        let mut row = summary(&state, ticket, now);
        row["customer"] = name;
        rows.push(row);
    }
    tx.rollback().await.map_err(store_error)?;
    Ok(Json(json!({ "tickets": rows })))
}

/// A ticket as the queue lists it: with its age and the time left on its next target (the
/// first answer until there is one, then the close; negative when late).
fn summary(state: &AppState, ticket: &TicketRow, now: chrono::DateTime<chrono::Utc>) -> Value {
    let (response_due, resolution_due) = state.bank.ticket_due(ticket);
    let next_due = if ticket.first_response_at.is_none() { response_due } else { resolution_due };
    let minutes_left = (ticket.status == "open").then(|| (next_due - now).num_minutes());
    json!({
        "first_response_due": response_due,
        "resolution_due": resolution_due,
        "minutes_left": minutes_left,
        "id": ticket.id,
        "reference": ticket.reference,
        "category": ticket.category,
        "status": ticket.status,
        "with_person": ticket.with_person != 0,
        "agent_id": ticket.agent_id,
        "opened_at": ticket.created_at,
        "age_minutes": (now - ticket.created_at).num_minutes(),
        "first_response_at": ticket.first_response_at,
        "closed_at": ticket.closed_at,
        "resolution": ticket.resolution,
        "rating": ticket.rating,
    })
}

/// One ticket: its conversation, the customer masked, their recent transactions and the one
/// complained about.
async fn one(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::HandleTickets)?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(store_error)?;
    let Some(ticket) = tx.care().ticket(id).await.map_err(store_error)? else {
        return Err(ApiError::NotFound);
    };
    let messages = tx.care().messages(id, MESSAGES).await.map_err(store_error)?;
    let customer =
        tx.customers().customer(ticket.customer_id).await.map_err(store_error)?.ok_or(ApiError::NotFound)?;
    let wallet = tx.bank().customer_account(customer.id, "wallet").await.map_err(store_error)?;
    let currency = state.bank.currency();
    let (recent, linked) = match &wallet {
        Some(wallet) => {
            let recent = tx.bank().recent_transactions(wallet.id, RECENT).await.map_err(store_error)?;
            let linked = match ticket.transaction_id {
                Some(t) => tx.bank().transaction(t).await.map_err(store_error)?,
                None => None,
            };
            let show = |t: &crate::store::TransactionRow| transaction_json(t, wallet.id, currency);
            (recent.iter().map(show).collect::<Vec<_>>(), linked.as_ref().map(show))
        }
        None => (Vec::new(), None),
    };
    let event =
        session.event("ticket.viewed", &format!("ticket:{id}"), now, json!({ "ticket": ticket.reference }));
    tx.append_audit(&event).await.map_err(store_error)?;
    tx.commit().await.map_err(store_error)?;
    let messages: Vec<Value> = messages
        .iter()
        .map(|m| json!({ "id": m.id, "author": m.author, "admin_id": m.admin_id, "text": m.body, "at": m.created_at }))
        .collect();
    Ok(Json(json!({
        "ticket": summary(&state, &ticket, now),
        "customer": masked(&customer, now),
        "messages": messages,
        "transactions": recent,
        "transaction": linked,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Claim {
    /// Take it from the agent who holds it.
    #[serde(default)]
    take_over: bool,
    /// Assign it to this admin (an agent or operator) instead of taking it.
    #[serde(default)]
    agent_id: Option<i64>,
}

async fn claim(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
    body: Option<Json<Claim>>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::HandleTickets)?;
    let (take_over, assignee) = body.map_or((false, None), |b| (b.take_over, b.agent_id));
    let agent = match assignee {
        Some(other) if other != session.id => {
            let mut tx = state.store.begin().await.map_err(store_error)?;
            let admin = tx.admin().admin_by_id(other).await.map_err(store_error)?;
            tx.rollback().await.map_err(store_error)?;
            let handles = admin
                .and_then(|a| crate::admin::Role::parse(&a.role))
                .is_some_and(|r| r.can(Capability::HandleTickets));
            if !handles {
                return Err(ApiError::BadRequest(format!("admin {other} is not an agent or operator")));
            }
            other
        }
        _ => session.id,
    };
    // Assigning to someone else moves the ticket whoever holds it.
    let take_over = take_over || agent != session.id;
    let ticket = state.bank.claim_ticket(id, agent, take_over, session.id).await?.map_err(refused)?;
    Ok(Json(json!({ "ticket": summary(&state, &ticket, state.clock.now()) })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    text: String,
}

async fn answer(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
    Json(answer): Json<Answer>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::HandleTickets)?;
    let message = state.bank.answer_ticket(id, session.id, &answer.text).await?.map_err(refused)?;
    Ok(Json(json!({ "message": message })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Close {
    resolution: String,
}

async fn close(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
    Json(close): Json<Close>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::HandleTickets)?;
    state.bank.close_ticket(id, session.id, &close.resolution).await?.map_err(refused)?;
    Ok(Json(json!({ "closed": id })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Unfreeze {
    /// The operator's authenticator code now: unfreezing is theirs to do, in person.
    code: String,
}

async fn unfreeze(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
    Json(body): Json<Unfreeze>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::SupportCustomers)?;
    second_check(&state, &session, &body.code).await?;
    state.bank.unfreeze(id, session.id).await?.map_err(refused)?;
    tracing::info!(admin = session.id, customer = id, "an operator unfroze a customer's account");
    Ok(Json(json!({ "unfrozen": id })))
}

fn refused(err: AgentError) -> ApiError {
    match err {
        AgentError::NotFound => ApiError::NotFound,
        AgentError::BadText => ApiError::BadRequest(err.to_string()),
        AgentError::Closed | AgentError::HeldByAnother | AgentError::NotFrozen => {
            ApiError::Conflict(err.to_string())
        }
    }
}
