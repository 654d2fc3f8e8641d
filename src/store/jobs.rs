//! The worker's part of the store: job leases and schedules, and retention.
//!
//! Like the bank's, the SQL is written once in the common dialect and implemented once for
//! both adapters, generically over `backend::Backend` (jobs.rs, below).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use super::backend::{Backend, RowsAffected};

/// A job's schedule and lease as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JobRow {
    /// The job's name.
    pub name: String,
    /// When it is next due.
    pub next_run_at: DateTime<Utc>,
    /// The worker holding it, while one does.
    pub lease_owner: Option<String>,
    /// Until when that worker holds it.
    pub leased_until: Option<DateTime<Utc>>,
    /// The last run's start.
    pub last_started_at: Option<DateTime<Utc>>,
    /// The last run's end.
    pub last_finished_at: Option<DateTime<Utc>>,
    /// The end of the last run that succeeded.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Why the last run failed, if it did.
    pub last_error: Option<String>,
    /// Runs finished.
    pub runs: i64,
    /// Runs that failed.
    pub failures: i64,
}

/// The worker's part of a unit of work.
#[async_trait]
pub trait WorkerTx: Send {
    /// Takes job `name` for `owner` until `until`, if no live lease holds it and (when
    /// `due_only`) it is due at `now`. A job never seen before is due at once. True when taken.
    async fn claim_job(
        &mut self,
        name: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        due_only: bool,
    ) -> Result<bool, StoreError>;

    /// Extends `owner`'s lease on `name` to `until`; false when `owner` no longer holds it.
    async fn renew_job(&mut self, name: &str, owner: &str, until: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Ends `owner`'s run of `name` at `now`: the lease is released, the job is next due at
    /// `next_run_at`, and `error` (if any) is recorded. False when `owner` no longer held it.
    async fn finish_job(
        &mut self,
        name: &str,
        owner: &str,
        now: DateTime<Utc>,
        next_run_at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<bool, StoreError>;

    /// Every job's row, by name.
    async fn jobs(&mut self) -> Result<Vec<JobRow>, StoreError>;

    /// Replaces the body of up to `limit` settled replies whose `scrub_after` passed by `now`
    /// (those that carried a one-time code).
    async fn scrub_outbox(&mut self, now: DateTime<Utc>, limit: i64) -> Result<u64, StoreError>;

    /// Deletes up to `limit` handled inbound messages received before `before`.
    async fn purge_inbox(&mut self, before: DateTime<Utc>, limit: i64) -> Result<u64, StoreError>;

    /// Deletes up to `limit` raw webhook bodies received before `before` that no inbound
    /// message refers to any more.
    async fn purge_payloads(&mut self, before: DateTime<Utc>, limit: i64) -> Result<u64, StoreError>;

    /// Deletes up to `limit` settled (sent, failed, outside-window) replies queued before `before`.
    async fn purge_outbox(&mut self, before: DateTime<Utc>, limit: i64) -> Result<u64, StoreError>;

    /// Deletes up to `limit` delivery statuses last updated before `before`.
    async fn purge_statuses(&mut self, before: DateTime<Utc>, limit: i64) -> Result<u64, StoreError>;

    /// Deletes up to `limit` loan eligibility decisions made before `before` that no offer or
    /// loan refers to.
    async fn purge_decisions(&mut self, before: DateTime<Utc>, limit: i64) -> Result<u64, StoreError>;
}

/// What a reply that carried a one-time code keeps once scrubbed.
pub fn scrubbed_body() -> serde_json::Value {
    serde_json::json!({ "type": "text", "text": { "body": "[a one-time code: not kept]" } })
}

/// Deletes handled inbound messages received before `$1`, at most `$2`.
pub(crate) const PURGE_INBOX: &str = "DELETE FROM inbox_messages WHERE seq IN (
     SELECT seq FROM inbox_messages WHERE state <> 'pending' AND received_at < $1
     ORDER BY received_at LIMIT $2)";

/// Deletes raw webhook bodies received before `$1` that no inbound message refers to, at most `$2`.
pub(crate) const PURGE_PAYLOADS: &str = "DELETE FROM webhook_payloads WHERE id IN (
     SELECT p.id FROM webhook_payloads p WHERE p.received_at < $1
       AND NOT EXISTS (SELECT 1 FROM inbox_messages i WHERE i.payload_id = p.id)
     ORDER BY p.received_at LIMIT $2)";

/// Deletes settled replies queued before `$1`, at most `$2`.
pub(crate) const PURGE_OUTBOX: &str = "DELETE FROM outbox_messages WHERE id IN (
     SELECT id FROM outbox_messages WHERE state <> 'pending' AND created_at < $1
     ORDER BY created_at LIMIT $2)";

/// Deletes delivery statuses last updated before `$1`, at most `$2`.
pub(crate) const PURGE_STATUSES: &str = "DELETE FROM delivery_statuses WHERE message_id IN (
     SELECT message_id FROM delivery_statuses WHERE updated_at < $1
     ORDER BY updated_at LIMIT $2)";

/// Deletes loan decisions made before `$1` that no loan refers to, at most `$2`.
pub(crate) const PURGE_DECISIONS: &str = "DELETE FROM loan_decisions WHERE id IN (
     SELECT d.id FROM loan_decisions d WHERE d.decided_at < $1
       AND NOT EXISTS (SELECT 1 FROM loans l WHERE l.decision_id = d.id)
     ORDER BY d.decided_at LIMIT $2)";

/// The columns of [`JobRow`].
macro_rules! job_columns {
    () => {
        "name, next_run_at, lease_owner, leased_until, last_started_at, last_finished_at, last_success_at,
         last_error, runs, failures"
    };
}

#[async_trait::async_trait]
impl<T> WorkerTx for T
where
    T: Backend,
    for<'c> &'c mut <T::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = T::Db>,
    <T::Db as sqlx::Database>::Arguments: sqlx::IntoArguments<T::Db>,
    for<'q> &'q str: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> i32: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> i64: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> sqlx::types::Json<serde_json::Value>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'r> String: sqlx::Decode<'r, T::Db> + sqlx::Type<T::Db>,
    for<'r> JobRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    usize: sqlx::ColumnIndex<<T::Db as sqlx::Database>::Row>,
    <T::Db as sqlx::Database>::QueryResult: RowsAffected,
{
    async fn claim_job(
        &mut self,
        name: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        due_only: bool,
    ) -> Result<bool, StoreError> {
        let taken: Option<String> = sqlx::query_scalar(
            "INSERT INTO jobs (name, next_run_at, lease_owner, leased_until, last_started_at)
                     VALUES ($1, $3, $2, $4, $3)
                     ON CONFLICT (name) DO UPDATE
                         SET lease_owner = $2, leased_until = $4, last_started_at = $3
                         WHERE (jobs.leased_until IS NULL OR jobs.leased_until <= $3)
                           AND ($5 = 0 OR jobs.next_run_at <= $3)
                     RETURNING name",
        )
        .bind(name)
        .bind(owner)
        .bind(now)
        .bind(until)
        .bind(i32::from(due_only))
        .fetch_optional(self.conn())
        .await?;
        Ok(taken.is_some())
    }

    async fn renew_job(&mut self, name: &str, owner: &str, until: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE jobs SET leased_until = $3 WHERE name = $1 AND lease_owner = $2")
            .bind(name)
            .bind(owner)
            .bind(until)
            .execute(self.conn())
            .await?;
        Ok(done.rows() == 1)
    }

    async fn finish_job(
        &mut self,
        name: &str,
        owner: &str,
        now: DateTime<Utc>,
        next_run_at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs
                     SET lease_owner = NULL, leased_until = NULL, last_finished_at = $3, next_run_at = $4,
                         last_success_at = CASE WHEN $5 IS NULL THEN $3 ELSE last_success_at END,
                         last_error = $5, runs = runs + 1,
                         failures = failures + CASE WHEN $5 IS NULL THEN 0 ELSE 1 END
                     WHERE name = $1 AND lease_owner = $2",
        )
        .bind(name)
        .bind(owner)
        .bind(now)
        .bind(next_run_at)
        .bind(error)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn jobs(&mut self) -> Result<Vec<JobRow>, StoreError> {
        Ok(sqlx::query_as(concat!("SELECT ", job_columns!(), " FROM jobs ORDER BY name"))
            .fetch_all(self.conn())
            .await?)
    }

    async fn scrub_outbox(&mut self, now: DateTime<Utc>, limit: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox_messages SET body = $3, scrub_after = NULL WHERE id IN (
                         SELECT id FROM outbox_messages
                         WHERE scrub_after IS NOT NULL AND scrub_after <= $1 AND state <> 'pending'
                         ORDER BY scrub_after LIMIT $2)",
        )
        .bind(now)
        .bind(limit)
        .bind(sqlx::types::Json(scrubbed_body()))
        .execute(self.conn())
        .await?;
        Ok(done.rows())
    }

    async fn purge_inbox(&mut self, before: DateTime<Utc>, limit: i64) -> Result<u64, StoreError> {
        purge_rows(self, PURGE_INBOX, before, limit).await
    }

    async fn purge_payloads(&mut self, before: DateTime<Utc>, limit: i64) -> Result<u64, StoreError> {
        purge_rows(self, PURGE_PAYLOADS, before, limit).await
    }

    async fn purge_outbox(&mut self, before: DateTime<Utc>, limit: i64) -> Result<u64, StoreError> {
        purge_rows(self, PURGE_OUTBOX, before, limit).await
    }

    async fn purge_statuses(&mut self, before: DateTime<Utc>, limit: i64) -> Result<u64, StoreError> {
        purge_rows(self, PURGE_STATUSES, before, limit).await
    }

    async fn purge_decisions(&mut self, before: DateTime<Utc>, limit: i64) -> Result<u64, StoreError> {
        purge_rows(self, PURGE_DECISIONS, before, limit).await
    }
}

/// Runs one of the retention deletes: `$1` the cut-off, `$2` the most rows.
async fn purge_rows<T>(
    tx: &mut T,
    sql: &'static str,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<u64, StoreError>
where
    T: Backend,
    for<'c> &'c mut <T::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = T::Db>,
    <T::Db as sqlx::Database>::Arguments: sqlx::IntoArguments<T::Db>,
    for<'q> i64: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    <T::Db as sqlx::Database>::QueryResult: RowsAffected,
{
    let done = sqlx::query(sql).bind(before).bind(limit).execute(tx.conn()).await?;
    Ok(done.rows())
}
