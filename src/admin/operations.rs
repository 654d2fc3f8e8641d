//! Operator tools with four eyes on large amounts: a correction ([`Correction`]) at or below
//! `OPERATOR_APPROVAL_ABOVE` runs at once; above it, it waits as a request until a second
//! admin approves it (never the one who asked) or rejects it. Every step is audited; each
//! request keeps who asked, why, who decided and what happened.
//!
//! Imports: the bank (use case), the store (port).

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::bank::Bank;
use crate::bank::corrections::{Correction, CorrectionRefusal};
use crate::store::operations::{NewRequest, RequestRow};
use crate::store::{NewAuditEvent, SqlStore, StoreError};

/// The longest reason kept.
pub const MAX_REASON: usize = 500;

/// What became of a correction asked for.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Asked {
    /// It ran: the request records what it did.
    Done {
        /// The request.
        request: RequestRow,
    },
    /// It is above the approval amount: it waits for a second admin.
    Waiting {
        /// The request.
        request: RequestRow,
    },
}

/// Why a correction or a decision was refused.
#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    /// The bank refused it, saying why.
    #[error(transparent)]
    Refused(#[from] CorrectionRefusal),
    /// No such request.
    #[error("no such request")]
    NotFound,
    /// Not allowed now, in words safe to show.
    #[error("{0}")]
    Conflict(String),
    /// The request is malformed, in words safe to show.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Asks for `correction` as `by` for `reason`: run now when at or below `approval_above`
/// (minor units), else kept for a second admin.
pub async fn ask(
    store: &dyn SqlStore,
    bank: &Bank,
    (by, email): (&str, &str),
    correction: &Correction,
    reason: &str,
    approval_above: i64,
    now: DateTime<Utc>,
) -> Result<Asked, OperationError> {
    let reason = checked_reason(reason)?;
    let amount = bank.correction_amount(correction).await??;
    let params = serde_json::to_string(correction).map_err(anyhow::Error::from)?;
    let (kind, subject) = (correction.kind(), correction.subject());
    if amount > approval_above {
        let mut tx = store.begin().await?;
        let request = NewRequest {
            kind,
            subject: &subject,
            params: &params,
            amount,
            reason,
            state: "pending",
            by,
            outcome: None,
            now,
        };
        let Some(id) = tx.operations().insert_request(&request).await? else {
            let waiting = tx.operations().pending_request(kind, &subject).await?.map_or(0, |r| r.id);
            return Err(OperationError::Conflict(format!(
                "request {waiting} for this is already waiting for a second admin's approval"
            )));
        };
        let detail = json!({ "request": id, "amount": amount, "reason": reason, "admin_email": email, "correction": correction });
        tx.append_audit(&NewAuditEvent::new(by, "operation.requested", &subject, now, detail)).await?;
        let request = tx.operations().request(id).await?.ok_or(OperationError::NotFound)?;
        tx.commit().await?;
        return Ok(Asked::Waiting { request });
    }
    let outcome = bank.correct(correction, by, reason).await??;
    let mut tx = store.begin().await?;
    let request = NewRequest {
        kind,
        subject: &subject,
        params: &params,
        amount,
        reason,
        state: "done",
        by,
        outcome: Some(&outcome),
        now,
    };
    // A request that ran is never refused (only waiting ones are one per subject).
    let id = tx.operations().insert_request(&request).await?.ok_or(OperationError::NotFound)?;
    let request = tx.operations().request(id).await?.ok_or(OperationError::NotFound)?;
    tx.commit().await?;
    Ok(Asked::Done { request })
}

/// Approves waiting request `id` as `by` (not the admin who asked): the correction runs now.
/// A correction the bank refuses by now (settled meanwhile) closes the request as `failed`.
pub async fn approve(
    store: &dyn SqlStore,
    bank: &Bank,
    id: i64,
    (by, email): (&str, &str),
    now: DateTime<Utc>,
) -> Result<RequestRow, OperationError> {
    let request = waiting(store, id, by).await?;
    let correction: Correction = serde_json::from_str(&request.params).map_err(anyhow::Error::from)?;
    let (state, outcome) = match bank.correct(&correction, by, &request.reason).await? {
        Ok(outcome) => ("done", outcome),
        Err(refusal) => ("failed", format!("not done: {refusal}")),
    };
    let mut tx = store.begin().await?;
    if !tx.operations().decide_request(id, state, by, &outcome, now).await? {
        return Err(OperationError::Conflict("that request was decided meanwhile".into()));
    }
    let detail = json!({ "request": id, "requested_by": request.requested_by, "outcome": outcome, "admin_email": email });
    tx.append_audit(&NewAuditEvent::new(by, "operation.approved", &request.subject, now, detail)).await?;
    let decided = tx.operations().request(id).await?.ok_or(OperationError::NotFound)?;
    tx.commit().await?;
    if state == "failed" {
        return Err(OperationError::Conflict(outcome));
    }
    Ok(decided)
}

/// Rejects waiting request `id` as `by`, for `reason`: nothing runs.
pub async fn reject(
    store: &dyn SqlStore,
    id: i64,
    (by, email): (&str, &str),
    reason: &str,
    now: DateTime<Utc>,
) -> Result<RequestRow, OperationError> {
    let reason = checked_reason(reason)?;
    let request = waiting(store, id, "").await?;
    let mut tx = store.begin().await?;
    let outcome = format!("rejected: {reason}");
    if !tx.operations().decide_request(id, "rejected", by, &outcome, now).await? {
        return Err(OperationError::Conflict("that request was decided meanwhile".into()));
    }
    let detail = json!({ "request": id, "requested_by": request.requested_by, "reason": reason, "admin_email": email });
    tx.append_audit(&NewAuditEvent::new(by, "operation.rejected", &request.subject, now, detail)).await?;
    let decided = tx.operations().request(id).await?.ok_or(OperationError::NotFound)?;
    tx.commit().await?;
    Ok(decided)
}

/// Requests, waiting ones first, then the newest.
pub async fn list(store: &dyn SqlStore, limit: i64) -> Result<Vec<RequestRow>, OperationError> {
    let mut tx = store.begin().await?;
    let rows = tx.operations().requests(limit).await?;
    tx.rollback().await?;
    Ok(rows)
}

/// Request `id`, still waiting, and not asked by `approver`.
async fn waiting(store: &dyn SqlStore, id: i64, approver: &str) -> Result<RequestRow, OperationError> {
    let mut tx = store.begin().await?;
    let request = tx.operations().request(id).await?;
    tx.rollback().await?;
    let request = request.ok_or(OperationError::NotFound)?;
    if request.state != "pending" {
        return Err(OperationError::Conflict(format!("that request is {} already", request.state)));
    }
    if request.requested_by == approver {
        return Err(OperationError::Conflict("you asked for this: a second admin must approve it".into()));
    }
    Ok(request)
}

fn checked_reason(reason: &str) -> Result<&str, OperationError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(OperationError::Invalid(format!("say why, in at most {MAX_REASON} characters")));
    }
    Ok(reason)
}
