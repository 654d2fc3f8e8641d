//! [`OperationsTx`] for both adapters at once, as `care_sql.rs` does for care.

use chrono::{DateTime, Utc};

use super::StoreError;
use super::backend::{Backend, RowsAffected};
use super::operations::*;

macro_rules! columns {
    () => {
        "id, kind, subject, params, amount, reason, state, requested_by, requested_at, decided_by, decided_at, outcome"
    };
}

#[async_trait::async_trait]
impl<T> OperationsTx for T
where
    T: Backend,
    for<'c> &'c mut <T::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = T::Db>,
    <T::Db as sqlx::Database>::Arguments: sqlx::IntoArguments<T::Db>,
    <T::Db as sqlx::Database>::QueryResult: RowsAffected,
    usize: sqlx::ColumnIndex<<T::Db as sqlx::Database>::Row>,
    for<'q> &'q str: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> i64: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> Option<DateTime<Utc>>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'r> i64: sqlx::Decode<'r, T::Db>,
    for<'r> RequestRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
{
    async fn insert_request(&mut self, request: &NewRequest<'_>) -> Result<Option<i64>, StoreError> {
        let decided = (request.state != "pending").then_some(request.now);
        let decided_by = (request.state != "pending").then_some(request.by);
        Ok(sqlx::query_scalar(
            "INSERT INTO operator_requests
                 (kind, subject, params, amount, reason, state, requested_by, requested_at, decided_by, decided_at, outcome)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (kind, subject) WHERE state = 'pending' DO NOTHING RETURNING id",
        )
        .bind(request.kind)
        .bind(request.subject)
        .bind(request.params)
        .bind(request.amount)
        .bind(request.reason)
        .bind(request.state)
        .bind(request.by)
        .bind(request.now)
        .bind(decided_by)
        .bind(decided)
        .bind(request.outcome)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn request(&mut self, id: i64) -> Result<Option<RequestRow>, StoreError> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM operator_requests WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.conn())
            .await?)
    }

    async fn pending_request(&mut self, kind: &str, subject: &str) -> Result<Option<RequestRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM operator_requests WHERE kind = $1 AND subject = $2 AND state = 'pending'"
        ))
        .bind(kind)
        .bind(subject)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn requests(&mut self, limit: i64) -> Result<Vec<RequestRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM operator_requests ORDER BY CASE WHEN state = 'pending' THEN 0 ELSE 1 END, id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(self.conn())
        .await?)
    }

    async fn decide_request(
        &mut self,
        id: i64,
        state: &str,
        by: &str,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE operator_requests SET state = $2, decided_by = $3, outcome = $4, decided_at = $5
             WHERE id = $1 AND state = 'pending'",
        )
        .bind(id)
        .bind(state)
        .bind(by)
        .bind(outcome)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }
}
