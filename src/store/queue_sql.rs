//! The queues' multi-row inserts (webhook payloads, inbound messages, replies), written once
//! for both adapters as `customers_sql.rs` writes its port: one statement text and one binding
//! per column, whatever the backend. Each adapter's `SqlTx` calls these.
//!
//! None is kept prepared (`persistent(false)`): their text changes with their row count, and a
//! prepared statement per count on every connection cost megabytes.

use chrono::{DateTime, Utc};

use super::backend::Backend;
use super::{NewInboxMessage, NewOutboxMessage, NewWebhookPayload, StoreError};

/// Runs `insert`'s one-column `RETURNING` on `tx`.
macro_rules! returning {
    ($tx:expr, $insert:expr) => {
        $insert.build_query_scalar().persistent(false).fetch_all($tx.conn()).await?
    };
}

/// `SqlTx::record_webhooks`: the payloads' ids, in their order.
pub(super) async fn insert_webhooks<T>(
    tx: &mut T,
    payloads: &[NewWebhookPayload<'_>],
) -> Result<Vec<i64>, StoreError>
where
    T: Backend,
    T::Db: sqlx::database::HasStatementCache,
    for<'c> &'c mut <T::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = T::Db>,
    <T::Db as sqlx::Database>::Arguments: Default + sqlx::IntoArguments<T::Db>,
    for<'q> &'q [u8]: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    (i64,): for<'r> sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
{
    if payloads.is_empty() {
        return Ok(Vec::new());
    }
    let mut insert =
        sqlx::QueryBuilder::<T::Db>::new("INSERT INTO webhook_payloads (received_at, body, problems) ");
    insert.push_values(payloads, |mut row, payload| {
        row.push_bind(payload.received_at).push_bind(payload.body).push_bind(payload.problems.as_deref());
    });
    insert.push(" RETURNING id");
    Ok(super::shared::in_given_order(returning!(tx, insert)))
}

/// `SqlTx::enqueue_inbound_all`: for each message, whether it was new.
pub(super) async fn insert_inbound<T>(
    tx: &mut T,
    messages: &[NewInboxMessage<'_>],
) -> Result<Vec<bool>, StoreError>
where
    T: Backend,
    T::Db: sqlx::database::HasStatementCache,
    for<'c> &'c mut <T::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = T::Db>,
    <T::Db as sqlx::Database>::Arguments: Default + sqlx::IntoArguments<T::Db>,
    for<'q> &'q str: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> i64: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> Option<DateTime<Utc>>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> sqlx::types::Json<&'q serde_json::Value>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    (String,): for<'r> sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
{
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    // The unique message id makes a redelivery a no-op, even racing another instance.
    let mut insert = sqlx::QueryBuilder::<T::Db>::new(
        "INSERT INTO inbox_messages
             (message_id, payload_id, sender_key, phone_number_id, kind, sent_at, received_at, message) ",
    );
    insert.push_values(messages, |mut row, m| {
        row.push_bind(m.message_id)
            .push_bind(m.payload_id)
            .push_bind(m.sender_key)
            .push_bind(m.phone_number_id)
            .push_bind(m.kind)
            .push_bind(m.sent_at)
            .push_bind(m.received_at)
            .push_bind(sqlx::types::Json(m.message));
    });
    insert.push(" ON CONFLICT (message_id) DO NOTHING RETURNING message_id");
    let inserted: Vec<String> = returning!(tx, insert);
    Ok(super::inbox::first_of_each_inserted(messages, &inserted))
}

/// `SqlTx::enqueue_outbound_all`: the replies' ids, in their order.
pub(super) async fn insert_outbound<T>(
    tx: &mut T,
    messages: &[NewOutboxMessage<'_>],
) -> Result<Vec<i64>, StoreError>
where
    T: Backend,
    T::Db: sqlx::database::HasStatementCache,
    for<'c> &'c mut <T::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = T::Db>,
    <T::Db as sqlx::Database>::Arguments: Default + sqlx::IntoArguments<T::Db>,
    for<'q> &'q str: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> Option<DateTime<Utc>>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    for<'q> sqlx::types::Json<&'q serde_json::Value>: sqlx::Encode<'q, T::Db> + sqlx::Type<T::Db>,
    (i64,): for<'r> sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
{
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let mut insert = sqlx::QueryBuilder::<T::Db>::new(
        "INSERT INTO outbox_messages (recipient_key, wa_id, bsuid, in_reply_to, body, window_from,
                                      created_at, scrub_after, question) ",
    );
    insert.push_values(messages, |mut row, m| {
        row.push_bind(m.recipient_key)
            .push_bind(m.wa_id)
            .push_bind(m.bsuid)
            .push_bind(m.in_reply_to)
            .push_bind(sqlx::types::Json(m.body))
            .push_bind(m.window_from)
            .push_bind(m.created_at)
            .push_bind(m.scrub_after)
            .push_bind(m.question);
    });
    insert.push(" RETURNING id");
    Ok(super::shared::in_given_order(returning!(tx, insert)))
}
