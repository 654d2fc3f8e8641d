//! Customer support and the audit log.
//!
//! An operator finds a customer by phone and sees them masked (name initial, phone and id
//! number masked, year of birth), their wallet's balance and recent transactions, and may
//! lift a PIN lockout. Looking a customer up is itself audited: support access to personal
//! data leaves a trace.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::AdminSession;
use super::store_error;
use crate::admin::Capability;
use crate::flows::template::mask_account;
use crate::http::ApiError;
use crate::http::AppState;
use crate::money::format_money;
use crate::phone::mask as mask_phone;
use crate::store::{CustomerRow, TransactionRow};

/// Transactions shown with a customer.
const RECENT: i64 = 10;

/// The routes under `/admin/api/customers` and `/admin/api/audit`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/api/customers", get(search))
        .route("/admin/api/customers/{id}/unlock", post(unlock))
        .route("/admin/api/audit", get(audit))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Search {
    phone: String,
}

/// The phone number as WhatsApp ids it: digits, international; a local number (leading 0)
/// takes the bank's country code.
fn wa_id(phone: &str, country_code: &str) -> Result<String, ApiError> {
    let digits: String = phone.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '+')).collect();
    if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::BadRequest(
            "phone is 8 to 15 digits, e.g. 2348030000001 or 08030000001".into(),
        ));
    }
    Ok(match digits.strip_prefix('0') {
        Some(local) => format!("{country_code}{local}"),
        None => digits,
    })
}

async fn search(
    State(state): State<AppState>,
    session: AdminSession,
    Query(query): Query<Search>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::SupportCustomers)?;
    let wa_id = wa_id(&query.phone, &state.config.bank.country_code)?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(store_error)?;
    let Some(customer) =
        tx.customers().customer_by_alias(&crate::phone::customer_key(&wa_id)).await.map_err(store_error)?
    else {
        return Ok(Json(json!({ "customer": null })));
    };
    let wallet = tx.bank().customer_account(customer.id, "wallet").await.map_err(store_error)?;
    let transactions = match &wallet {
        Some(wallet) => tx.bank().recent_transactions(wallet.id, RECENT).await.map_err(store_error)?,
        None => Vec::new(),
    };
    let loans = tx.loans().loans_of(customer.id, RECENT).await.map_err(store_error)?;
    let identity = tx.customers().identity(customer.id).await.map_err(store_error)?;
    let event = session.event("customer.viewed", &format!("customer:{}", customer.id), now, json!({}));
    tx.append_audit(&event).await.map_err(store_error)?;
    tx.commit().await.map_err(store_error)?;
    let currency = state.bank.currency();
    let wallet_json = wallet.as_ref().map(|w| {
        json!({
            "number": mask_account(&w.number),
            "balance": format_money(w.posted, currency),
            "available": format_money(w.available(), currency),
        })
    });
    let wallet_id = wallet.as_ref().map_or(0, |w| w.id);
    let transactions: Vec<Value> =
        transactions.iter().map(|t| transaction_json(t, wallet_id, currency)).collect();
    // Offers and loans, newest first: what support needs to answer "what do I owe?".
    let loans: Vec<Value> = loans
        .iter()
        .map(|l| {
            json!({
                "reference": l.reference,
                "product": l.product,
                "state": l.state,
                "offered_on": l.offered_on,
                "principal": format_money(l.principal, currency),
                "total": format_money(l.total + l.late_fees, currency),
                "paid": format_money(l.paid(), currency),
                "outstanding": format_money(if l.state == "active" { l.outstanding() } else { 0 }, currency),
                "late_fees": format_money(l.late_fees, currency),
            })
        })
        .collect();
    let mut shown = masked(&customer, now);
    shown["smaller_limits_until"] = json!(state.bank.smaller_limits_until(&customer));
    shown["reset_refused_until"] = json!(state.bank.reset_refused_until(&customer));
    if let Some(sealed) = identity.and_then(|i| i.id_number_sealed) {
        // Opened only to show three digits; a value that does not open shows none.
        let tail =
            state.sealing.open(&sealed, crate::sealed::IDENTITY).map(|n| id_tail(&n)).unwrap_or_default();
        shown["id_number"] = json!(format!("•••{tail}"));
    }
    Ok(Json(json!({
        "customer": shown,
        "wallet": wallet_json,
        "transactions": transactions,
        "loans": loans,
    })))
}

/// The last three digits of a customer's identity number, as the masked view shows them:
/// opened from its sealed copy, or (kept before sealing) read as it is.
fn id_tail(number: &str) -> String {
    number.chars().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect()
}

pub(super) fn masked(customer: &CustomerRow, now: chrono::DateTime<chrono::Utc>) -> Value {
    // A digest has no digits to show; the support view opens the sealed copy for the tail.
    let id_tail = if crate::sealed::is_digest(&customer.id_number) {
        String::new()
    } else {
        id_tail(&customer.id_number)
    };
    json!({
        "id": customer.id,
        "name": format!("{} {}.", customer.first_name, customer.last_name.chars().next().unwrap_or('-')),
        "phone": mask_phone(&customer.phone),
        "id_number": format!("•••{id_tail}"),
        "year_of_birth": customer.date_of_birth.get(..4),
        "kyc_tier": customer.kyc_tier,
        "pin_locked": customer.locked_at(now),
        "locked_until": customer.locked_until.filter(|until| *until > now && customer.pin_blocked == 0),
        "locked_until_operator_unlocks": customer.pin_blocked != 0,
        "pin_locks_in_a_row": customer.pin_locks,
        "pin_failures": customer.pin_failures,
        "authenticator": customer.totp_secret.is_some(),
        "frozen": customer.frozen_at.is_some(),
        "pin_reset_at": customer.pin_reset_at,
        "since": customer.created_at,
    })
}

pub(super) fn transaction_json(t: &TransactionRow, wallet: i64, currency: &str) -> Value {
    let direction = if t.credit_account == wallet { "in" } else { "out" };
    let counterparty = if t.counterparty.bytes().all(|b| b.is_ascii_digit()) && t.counterparty.len() >= 8 {
        mask_phone(&t.counterparty)
    } else {
        t.counterparty.clone()
    };
    json!({
        "reference": t.reference,
        "kind": t.kind,
        "state": t.state,
        "direction": direction,
        "amount": format_money(t.amount, currency),
        "fee": format_money(t.fee, currency),
        "counterparty": counterparty,
        "at": t.created_at,
    })
}

async fn unlock(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::SupportCustomers)?;
    let unlocked = state.bank.unlock(id, &session.actor()).await?;
    if !unlocked {
        return Err(ApiError::Conflict("this customer's PIN is not locked".into()));
    }
    tracing::info!(admin = session.id, customer = id, "an operator unlocked a customer's PIN");
    Ok(Json(json!({ "unlocked": id })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    /// Events older than this id (the next page).
    before: Option<i64>,
    /// How many (at most 200).
    limit: Option<i64>,
}

async fn audit(
    State(state): State<AppState>,
    session: AdminSession,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::Read)?;
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let mut tx = state.store.begin().await.map_err(store_error)?;
    let events = tx.admin().audit_page(query.before, limit).await.map_err(store_error)?;
    tx.rollback().await.map_err(store_error)?;
    let people =
        super::history::people(&state, events.iter().map(|e| e.event.actor.clone()).collect()).await?;
    let events: Vec<Value> = events
        .into_iter()
        .map(|e| {
            json!({
                "id": e.id,
                "at": e.event.occurred_at,
                "by": people.get(&e.event.actor),
                "actor": e.event.actor,
                "action": e.event.action,
                "subject": e.event.subject,
                "detail": e.event.detail,
            })
        })
        .collect();
    Ok(Json(json!({ "events": events })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_number_takes_the_country_code_and_junk_is_refused() {
        assert_eq!(wa_id("0803 000 0001", "234").unwrap(), "2348030000001");
        assert_eq!(wa_id("+234 803 000 0001", "234").unwrap(), "2348030000001");
        for bad in ["", "12", "080300000a1", "1234567890123456"] {
            assert!(wa_id(bad, "234").is_err(), "{bad}");
        }
    }
}
