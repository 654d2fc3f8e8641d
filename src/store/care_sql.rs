//! [`CareTx`] for both adapters at once, as `customers_sql.rs` does for customers.

use chrono::{DateTime, Utc};

use super::StoreError;
use super::backend::{Backend, RowsAffected};
use super::care::*;

#[async_trait::async_trait]
impl<T> CareTx for T
where
    T: Backend,
    for<'c> &'c mut <T::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = T::Db>,
    <T::Db as sqlx::Database>::Arguments: sqlx::IntoArguments<T::Db>,
    <T::Db as sqlx::Database>::QueryResult: RowsAffected,
    usize: sqlx::ColumnIndex<<T::Db as sqlx::Database>::Row>,
    for<'q> &'q str: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> String: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> i32: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> Option<i32>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> i64: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> Option<i64>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'r> i64: sqlx::Decode<'r, T::Db> + sqlx::Type<T::Db>,
    for<'r> TicketRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> TicketMessageRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
{
    async fn freeze(&mut self, customer: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE customers SET frozen_at = $2 WHERE id = $1 AND frozen_at IS NULL")
            .bind(customer)
            .bind(now)
            .execute(self.conn())
            .await?;
        Ok(done.rows() == 1)
    }

    async fn unfreeze(&mut self, customer: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE customers SET frozen_at = NULL WHERE id = $1 AND frozen_at IS NOT NULL")
                .bind(customer)
                .execute(self.conn())
                .await?;
        Ok(done.rows() == 1)
    }

    async fn open_ticket(&mut self, new: &NewTicket<'_>, day: &str) -> Result<(TicketRow, bool), StoreError> {
        // The tracking number needs the id: the row is made with a placeholder that cannot be
        // a tracking number, then named, in the same unit of work.
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO tickets (reference, opened_key, customer_id, category, transaction_id, status,
                 with_person, created_at)
             VALUES ($1, $1, $2, $3, $4, 'open', $5, $6)
             ON CONFLICT (opened_key) DO NOTHING RETURNING id",
        )
        .bind(new.opened_key)
        .bind(new.customer_id)
        .bind(new.category)
        .bind(new.transaction_id)
        .bind(i32::from(new.with_person))
        .bind(new.now)
        .fetch_optional(self.conn())
        .await?;
        let created = id.is_some();
        if let Some(id) = id {
            sqlx::query("UPDATE tickets SET reference = $2 WHERE id = $1")
                .bind(id)
                .bind(format!("TCK-{day}-{:04}", id))
                .execute(self.conn())
                .await?;
        }
        let row =
            sqlx::query_as(concat!("SELECT ", ticket_columns!(), " FROM tickets WHERE opened_key = $1"))
                .bind(new.opened_key)
                .fetch_one(self.conn())
                .await?;
        Ok((row, created))
    }

    async fn ticket(&mut self, id: i64) -> Result<Option<TicketRow>, StoreError> {
        Ok(sqlx::query_as(concat!("SELECT ", ticket_columns!(), " FROM tickets WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.conn())
            .await?)
    }

    async fn ticket_by_reference(
        &mut self,
        customer: i64,
        reference: &str,
    ) -> Result<Option<TicketRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE customer_id = $1 AND reference = $2"
        ))
        .bind(customer)
        .bind(reference)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn tickets(&mut self, status: &str, limit: u32) -> Result<Vec<TicketRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE status = $1 ORDER BY created_at, id LIMIT $2"
        ))
        .bind(status)
        .bind(i64::from(limit))
        .fetch_all(self.conn())
        .await?)
    }

    async fn customer_tickets(&mut self, customer: i64, limit: u32) -> Result<Vec<TicketRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE customer_id = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(customer)
        .bind(i64::from(limit))
        .fetch_all(self.conn())
        .await?)
    }

    async fn with_person(&mut self, customer: i64) -> Result<Option<TicketRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE customer_id = $1 AND status = 'open' AND with_person = 1
             ORDER BY id DESC LIMIT 1"
        ))
        .bind(customer)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn set_with_person(&mut self, id: i64, on: bool) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE tickets SET with_person = $2 WHERE id = $1 AND status = 'open'")
            .bind(id)
            .bind(i32::from(on))
            .execute(self.conn())
            .await?;
        Ok(done.rows() == 1)
    }

    async fn claim(&mut self, id: i64, agent: i64, take_over: bool) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE tickets SET agent_id = $2
             WHERE id = $1 AND status = 'open' AND (agent_id IS NULL OR $3 = 1)",
        )
        .bind(id)
        .bind(agent)
        .bind(i32::from(take_over))
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn add_message(&mut self, id: i64, m: &NewTicketMessage<'_>) -> Result<Option<i64>, StoreError> {
        let added: Option<i64> = sqlx::query_scalar(
            "INSERT INTO ticket_messages (ticket_id, author, admin_id, body, source, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source) DO NOTHING RETURNING id",
        )
        .bind(id)
        .bind(m.author)
        .bind(m.admin)
        .bind(m.body)
        .bind(m.source)
        .bind(m.now)
        .fetch_optional(self.conn())
        .await?;
        if added.is_some() && m.author == "agent" {
            sqlx::query(
                "UPDATE tickets SET first_response_at = $2 WHERE id = $1 AND first_response_at IS NULL",
            )
            .bind(id)
            .bind(m.now)
            .execute(self.conn())
            .await?;
        }
        Ok(added)
    }

    async fn messages(&mut self, id: i64, limit: u32) -> Result<Vec<TicketMessageRow>, StoreError> {
        let mut rows: Vec<TicketMessageRow> = sqlx::query_as(
            "SELECT id, author, admin_id, body, created_at FROM ticket_messages
             WHERE ticket_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(self.conn())
        .await?;
        rows.reverse();
        Ok(rows)
    }

    async fn close(&mut self, id: i64, resolution: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE tickets SET status = 'closed', with_person = 0, closed_at = $2, resolution = $3,
                 rating_asked = 1
             WHERE id = $1 AND status = 'open'",
        )
        .bind(id)
        .bind(now)
        .bind(resolution)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn tickets_since(
        &mut self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<TicketRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE created_at >= $1 OR closed_at >= $1 ORDER BY id LIMIT $2"
        ))
        .bind(since)
        .bind(i64::from(limit))
        .fetch_all(self.conn())
        .await?)
    }

    async fn waiting_untold(
        &mut self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<TicketRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE status = 'open' AND with_person = 1 AND first_response_at IS NULL
                  AND waiting_told_at IS NULL AND created_at <= $1 ORDER BY created_at, id LIMIT $2"
        ))
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(self.conn())
        .await?)
    }

    async fn mark_told(&mut self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE tickets SET waiting_told_at = $2 WHERE id = $1 AND waiting_told_at IS NULL")
                .bind(id)
                .bind(now)
                .execute(self.conn())
                .await?;
        Ok(done.rows() == 1)
    }

    async fn mark_breached(&mut self, id: i64, resolution: bool) -> Result<bool, StoreError> {
        let sql = if resolution {
            "UPDATE tickets SET resolution_breached = 1 WHERE id = $1 AND resolution_breached = 0"
        } else {
            "UPDATE tickets SET response_breached = 1 WHERE id = $1 AND response_breached = 0"
        };
        let done = sqlx::query(sql).bind(id).execute(self.conn()).await?;
        Ok(done.rows() == 1)
    }

    async fn awaiting_rating(&mut self, customer: i64) -> Result<Option<TicketRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE customer_id = $1 AND status = 'closed' AND rating_asked = 1
                  AND rating IS NULL ORDER BY id DESC LIMIT 1"
        ))
        .bind(customer)
        .fetch_optional(self.conn())
        .await?)
    }

    async fn rate(&mut self, id: i64, rating: Option<i32>) -> Result<bool, StoreError> {
        // No rating: asked, and not to be asked again.
        let done = sqlx::query(
            "UPDATE tickets SET rating = $2, rating_asked = CASE WHEN $2 IS NULL THEN 0 ELSE 1 END
             WHERE id = $1 AND rating_asked = 1 AND rating IS NULL",
        )
        .bind(id)
        .bind(rating)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }
}
