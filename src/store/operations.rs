//! Operator requests: money corrections an operator asked for, waiting for a second admin's
//! approval when above the configured amount, and what became of them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// An operator request as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RequestRow {
    /// Id.
    pub id: i64,
    /// `resolve_transfer`, `waive_late_fee`, `restructure_loan` or `write_off_loan`.
    pub kind: String,
    /// What it is about (a transfer's or loan's reference).
    pub subject: String,
    /// Its parameters, as JSON.
    pub params: String,
    /// The money it moves or forgives, minor units.
    pub amount: i64,
    /// Why, in the operator's words.
    pub reason: String,
    /// `pending`, `done`, `rejected` or `failed`.
    pub state: String,
    /// Who asked (`admin:<id>`).
    pub requested_by: String,
    /// When.
    pub requested_at: DateTime<Utc>,
    /// Who approved or rejected it.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// What happened, in words.
    pub outcome: Option<String>,
}

/// A request to record.
#[derive(Debug, Clone)]
pub struct NewRequest<'a> {
    /// Its kind.
    pub kind: &'a str,
    /// Its subject.
    pub subject: &'a str,
    /// Its parameters, as JSON.
    pub params: &'a str,
    /// The money at stake.
    pub amount: i64,
    /// Why.
    pub reason: &'a str,
    /// `pending` (waiting for approval) or `done` (ran at once).
    pub state: &'a str,
    /// Who asked.
    pub by: &'a str,
    /// What happened, when it ran at once.
    pub outcome: Option<&'a str>,
    /// When.
    pub now: DateTime<Utc>,
}

/// The operator requests' part of a unit of work.
#[async_trait]
pub trait OperationsTx: Send {
    /// Records a request; `None` when one of the same kind and subject is pending already.
    async fn insert_request(&mut self, request: &NewRequest<'_>) -> Result<Option<i64>, StoreError>;

    /// One request.
    async fn request(&mut self, id: i64) -> Result<Option<RequestRow>, StoreError>;

    /// The pending request of `kind` about `subject`.
    async fn pending_request(&mut self, kind: &str, subject: &str) -> Result<Option<RequestRow>, StoreError>;

    /// Requests, pending first, then the newest.
    async fn requests(&mut self, limit: i64) -> Result<Vec<RequestRow>, StoreError>;

    /// Closes pending request `id` as `state` with `outcome`; false when it was not pending.
    async fn decide_request(
        &mut self,
        id: i64,
        state: &str,
        by: &str,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}
