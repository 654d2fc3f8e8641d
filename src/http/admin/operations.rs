//! Operator tools over HTTP ([`crate::admin::operations`] does the work): transfers held in
//! suspense and the requests waiting for a second admin; resolving a transfer, waiving a late
//! fee, restructuring or writing off a loan; approving or rejecting a request.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::AdminSession;
use crate::admin::Capability;
use crate::admin::operations::{self, Asked, OperationError};
use crate::bank::corrections::{Correction, CorrectionRefusal};
use crate::http::{ApiError, AppState};
use crate::money::format_money;

/// Transfers in suspense listed at once.
const SUSPENSE_LISTED: i64 = 100;
/// Requests listed at once.
const REQUESTS_LISTED: i64 = 100;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/api/operations", get(overview))
        .route("/admin/api/operations/{id}/approve", post(approve))
        .route("/admin/api/operations/{id}/reject", post(reject))
        .route("/admin/api/transfers/{reference}/resolve", post(resolve))
        .route("/admin/api/loans/{reference}/waive-late-fee", post(waive))
        .route("/admin/api/loans/{reference}/restructure", post(restructure))
        .route("/admin/api/loans/{reference}/write-off", post(write_off))
}

impl From<OperationError> for ApiError {
    fn from(err: OperationError) -> Self {
        match err {
            OperationError::Refused(CorrectionRefusal::NotFound(_)) | OperationError::NotFound => {
                ApiError::NotFound
            }
            OperationError::Refused(CorrectionRefusal::Invalid(message))
            | OperationError::Invalid(message) => ApiError::Unprocessable { message, details: json!({}) },
            OperationError::Refused(refusal) => ApiError::Conflict(refusal.to_string()),
            OperationError::Conflict(message) => ApiError::Conflict(message),
            OperationError::Store(err) => super::store_error(err),
            OperationError::Unexpected(err) => ApiError::Internal(err),
        }
    }
}

async fn overview(State(state): State<AppState>, session: AdminSession) -> Result<Json<Value>, ApiError> {
    session.require(Capability::CorrectMoney)?;
    let requests = operations::list(state.store.as_ref(), REQUESTS_LISTED).await?;
    let currency = state.bank.currency();
    let suspense: Vec<Value> = state
        .bank
        .suspended_transfers(SUSPENSE_LISTED)
        .await?
        .into_iter()
        .map(|t| {
            json!({
                "reference": t.reference, "amount": format_money(t.amount, currency),
                "fee": format_money(t.fee, currency), "to": t.counterparty_name, "account": t.counterparty,
                "created_at": t.created_at, "suspense_at": t.suspense_at,
            })
        })
        .collect();
    let requests: Vec<Value> = requests
        .into_iter()
        .map(|r| {
            let amount = format_money(r.amount, currency);
            let mut row = serde_json::to_value(&r).unwrap_or_default();
            row["amount_shown"] = json!(amount);
            row
        })
        .collect();
    let above = state.config.admin.approval_above;
    Ok(Json(json!({
        "requests": requests,
        "suspense": suspense,
        "approval_above": above,
        "approval_above_shown": format_money(above, currency),
    })))
}

/// Runs or keeps `correction` for `session`: 200 when done, 202 while it waits for approval.
async fn ask(
    state: &AppState,
    session: &AdminSession,
    correction: Correction,
    reason: &str,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    session.require(Capability::CorrectMoney)?;
    let by = session.actor();
    let asked = operations::ask(
        state.store.as_ref(),
        &state.bank,
        (&by, &session.email),
        &correction,
        reason,
        state.config.admin.approval_above,
        state.clock.now(),
    )
    .await?;
    let status = match asked {
        Asked::Done { .. } => StatusCode::OK,
        Asked::Waiting { .. } => StatusCode::ACCEPTED,
    };
    Ok((status, Json(serde_json::to_value(&asked).map_err(anyhow::Error::from)?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Resolve {
    /// `sent` or `returned`.
    outcome: String,
    evidence: String,
    reason: String,
}

async fn resolve(
    State(state): State<AppState>,
    session: AdminSession,
    Path(reference): Path<String>,
    Json(body): Json<Resolve>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let sent = match body.outcome.as_str() {
        "sent" => true,
        "returned" => false,
        _ => return Err(ApiError::BadRequest("outcome is sent or returned".into())),
    };
    let correction = Correction::ResolveTransfer { reference, sent, evidence: body.evidence };
    ask(&state, &session, correction, &body.reason).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Waive {
    installment: i32,
    reason: String,
}

async fn waive(
    State(state): State<AppState>,
    session: AdminSession,
    Path(loan): Path<String>,
    Json(body): Json<Waive>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    ask(&state, &session, Correction::WaiveLateFee { loan, number: body.installment }, &body.reason).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Restructure {
    first_due: String,
    reason: String,
}

async fn restructure(
    State(state): State<AppState>,
    session: AdminSession,
    Path(loan): Path<String>,
    Json(body): Json<Restructure>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    ask(&state, &session, Correction::RestructureLoan { loan, first_due: body.first_due }, &body.reason).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: String,
}

async fn write_off(
    State(state): State<AppState>,
    session: AdminSession,
    Path(loan): Path<String>,
    Json(body): Json<Reason>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    ask(&state, &session, Correction::WriteOffLoan { loan }, &body.reason).await
}

async fn approve(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::CorrectMoney)?;
    let by = session.actor();
    let request =
        operations::approve(state.store.as_ref(), &state.bank, id, (&by, &session.email), state.clock.now())
            .await?;
    Ok(Json(json!({ "request": request })))
}

async fn reject(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<i64>,
    Json(body): Json<Reason>,
) -> Result<Json<Value>, ApiError> {
    session.require(Capability::CorrectMoney)?;
    let by = session.actor();
    let request =
        operations::reject(state.store.as_ref(), id, (&by, &session.email), &body.reason, state.clock.now())
            .await?;
    Ok(Json(json!({ "request": request })))
}
