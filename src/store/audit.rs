//! The audit trail: an append-only record of who did what, kept in the same transaction as the
//! change it describes. Details never hold a secret (PIN, OTP, token) or an unmasked number.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// An audit event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    /// When it happened, from the caller's clock (so tests and replays are deterministic).
    pub occurred_at: DateTime<Utc>,
    /// Who did it: `admin:<id>`, `customer:<id>`, `system:<job>`.
    pub actor: String,
    /// What was done, as a dotted verb: `flow.published`, `customer.locked`.
    pub action: String,
    /// What it was done to, if anything: `flow:transfer@7`.
    pub subject: String,
    /// Structured detail, safe to show to an admin.
    pub detail: Value,
}

impl NewAuditEvent {
    /// `actor` did `action` to `subject` at `now`, with `detail`.
    pub fn new(actor: &str, action: &str, subject: &str, now: DateTime<Utc>, detail: Value) -> NewAuditEvent {
        NewAuditEvent {
            occurred_at: now,
            actor: actor.to_owned(),
            action: action.to_owned(),
            subject: subject.to_owned(),
            detail,
        }
    }
}

/// A recorded audit event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Its position in the trail; increases with every event.
    pub id: i64,
    /// What was recorded.
    pub event: NewAuditEvent,
}

/// The row shape both adapters read audit events into.
#[derive(sqlx::FromRow)]
pub(super) struct AuditRow {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: sqlx::types::Json<Value>,
}

impl From<AuditRow> for AuditEvent {
    fn from(row: AuditRow) -> Self {
        AuditEvent {
            id: row.id,
            event: NewAuditEvent {
                occurred_at: row.occurred_at,
                actor: row.actor,
                action: row.action,
                subject: row.subject,
                detail: row.detail.0,
            },
        }
    }
}
