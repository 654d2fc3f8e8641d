//! The SQLite adapter: the embedded default, one file and nothing to install.
//!
//! SQLite allows one writer at a time. Writers take turns at it in order of arrival
//! ([`WriteTurns`]), and every unit of work starts with `BEGIN IMMEDIATE`, which takes the
//! write lock up front instead of failing later when a read transaction tries to upgrade. WAL
//! lets readers run beside the writer, and `synchronous=FULL` makes a commit durable before it
//! returns, which is what "answered 200 means never lost" needs. Only a lease on a message and
//! a round's record are committed without waiting for the disk (`SqliteStore`'s `unsynced` connection).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use log::LevelFilter;
use secrecy::ExposeSecret;
use sqlx::ConnectOptions;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::audit::AuditRow;
use super::{
    AuditEvent, ClaimedMessage, ClaimedReply, DeliveryStatus, InboxCounts, InboxMessage, NewInboxMessage,
    NewWebhookPayload, OutboxMessage, RoundRecord, SchemaStatus, SqlStore, SqlTx, StoreError, schema,
};
use crate::config::{DatabaseConfig, SqlBackend};

const RECENT_AUDIT: &str = super::shared::SELECT_AUDIT_EVENTS;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a writer waits for the write lock before the store reports itself unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQL store on a SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
    /// One connection whose commits do not wait for the disk (`synchronous=NORMAL`), for the
    /// writes that may be lost with the machine, as on PostgreSQL (`synchronous_commit` off
    /// for the inbox's claim and a round's record). A lease or a round lost with the machine is
    /// one whose dispatcher died: the message is handled again, which handling is built for.
    /// Nothing of a round reaches a customer before its replies are claimed to be sent, and
    /// that claim is a commit that waits for the disk. In WAL mode that syncs the log up to its
    /// own end, so every commit before it, on any connection, is durable with it.
    unsynced: SqlitePool,
    writer: WriteTurns,
}

impl SqliteStore {
    /// Opens (and creates, if missing) the database file.
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(config.url.expose_secret())
            .map_err(|e| StoreError::Unexpected(anyhow!("DATABASE_URL is not a usable sqlite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .log_statements(LevelFilter::Trace)
            .log_slow_statements(LevelFilter::Warn, Duration::from_secs(1));
        let pool_options = SqlitePoolOptions::new()
            .acquire_timeout(BUSY_TIMEOUT + Duration::from_secs(1))
            // A file has no link to drop, so sqlx's ping on every acquire only costs a trip to
            // the connection's thread.
            .test_before_acquire(false);
        let unsynced = pool_options
            .clone()
            .max_connections(1)
            .connect_with(options.clone().synchronous(SqliteSynchronous::Normal))
            .await?;
        let pool = pool_options.max_connections(config.max_connections).connect_with(options).await?;
        Ok(SqliteStore { pool, unsynced, writer: WriteTurns::default() })
    }

    /// Moves the day customer `customer_id`'s account was opened to `opened`. Only the console's
    /// preview bank (a private file of test customers) calls it, so an admin can try a loan that
    /// needs an older account; it is not part of [`SqlStore`], so no real customer's history can
    /// be rewritten through it.
    pub async fn backdate_customer(
        &self,
        customer_id: i64,
        opened: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _turn = self.writer.take().await?;
        let done = sqlx::query("UPDATE customers SET created_at = $1 WHERE id = $2")
            .bind(opened)
            .bind(customer_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A unit of work on one of `pool`'s connections: waits for this store's turn at the write
    /// lock, then takes the lock.
    async fn begin_immediate(&self, pool: &SqlitePool) -> Result<SqliteTx, StoreError> {
        let turn = self.writer.take().await?;
        Ok(SqliteTx { tx: pool.begin_with("BEGIN IMMEDIATE").await?, _turn: turn })
    }
}

/// Turns at SQLite's one write lock, given in order of arrival.
///
/// Left to SQLite, a writer that finds the lock taken sleeps in `busy_timeout`'s handler for
/// up to 100 ms at a time and tries again, while writers arriving meanwhile take the lock the
/// moment it is free. Under load one writer can lose every try for a second or more (and, past
/// `busy_timeout`, fail). Every write through this store therefore waits here first, in a fair
/// queue, so that the lock passes straight to the writer that has waited longest. A writer
/// waits without holding a connection, which leaves the pool's connections to readers.
/// SQLite's own handler still settles contention with other processes on the same file.
#[derive(Default)]
struct WriteTurns(Arc<Mutex<()>>);

impl WriteTurns {
    /// This writer's turn, once every writer that asked before it is done; unavailable after
    /// the same wait SQLite would have given.
    async fn take(&self) -> Result<OwnedMutexGuard<()>, StoreError> {
        tokio::time::timeout(BUSY_TIMEOUT, Arc::clone(&self.0).lock_owned())
            .await
            .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))
    }
}

#[async_trait]
impl SqlStore for SqliteStore {
    fn backend(&self) -> SqlBackend {
        SqlBackend::Sqlite
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let pending = self.schema_status().await?.pending;
        let _turn = self.writer.take().await?;
        MIGRATOR.run(&self.pool).await?;
        Ok(pending)
    }

    async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        let mut conn = self.pool.acquire().await?;
        schema::status(&mut *conn, &MIGRATOR).await
    }

    async fn begin(&self) -> Result<Box<dyn SqlTx>, StoreError> {
        Ok(Box::new(self.begin_immediate(&self.pool).await?))
    }

    async fn enqueue_new_webhooks(
        &self,
        payloads: &[NewWebhookPayload<'_>],
        messages: &[NewInboxMessage<'_>],
    ) -> Result<bool, StoreError> {
        // In process, a unit of work costs no round trips: the two inserts run in one, undone
        // if a message turns out to be a repeat.
        let mut tx = self.begin_immediate(&self.pool).await?;
        let ids = super::queue_sql::insert_webhooks(&mut tx, payloads).await?;
        let mut rows = messages.to_vec();
        for row in &mut rows {
            let place = usize::try_from(row.payload_id).ok().and_then(|i| ids.get(i));
            row.payload_id =
                *place.ok_or_else(|| StoreError::Unexpected(anyhow!("a message names no payload")))?;
        }
        if super::queue_sql::insert_inbound(&mut tx, &rows).await?.contains(&false) {
            tx.tx.rollback().await?;
            return Ok(false);
        }
        tx.tx.commit().await?;
        Ok(true)
    }

    async fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        let rows: Vec<AuditRow> =
            sqlx::query_as(RECENT_AUDIT).bind(i64::from(limit)).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(AuditEvent::from).collect())
    }

    async fn inbox_counts(&self) -> Result<InboxCounts, StoreError> {
        let (payloads, payloads_with_problems, messages, statuses): (i64, i64, i64, i64) =
            sqlx::query_as(super::shared::SELECT_WEBHOOK_PAYLOADS).fetch_one(&self.pool).await?;
        Ok(InboxCounts { payloads, payloads_with_problems, messages, statuses })
    }

    async fn inbox_for_sender(&self, sender_key: &str) -> Result<Vec<InboxMessage>, StoreError> {
        let rows = sqlx::query_as(super::shared::SELECT_INBOX_MESSAGES_3)
            .bind(sender_key)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows)
    }

    async fn inbound_as_stored(
        &self,
        message_id: &str,
    ) -> Result<Option<(serde_json::Value, Vec<u8>)>, StoreError> {
        let row: Option<(sqlx::types::Json<serde_json::Value>, Vec<u8>)> =
            sqlx::query_as(super::shared::SELECT_INBOX_MESSAGES)
                .bind(message_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(message, body)| (message.0, body)))
    }

    async fn delivery_status(&self, message_id: &str) -> Result<Option<DeliveryStatus>, StoreError> {
        let row = sqlx::query_as(super::shared::SELECT_DELIVERY_STATUSES_2)
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row)
    }

    async fn record_round(&self, round: &RoundRecord<'_>) -> Result<Vec<bool>, StoreError> {
        super::round::record(Box::new(self.begin_immediate(&self.unsynced).await?), round).await
    }

    async fn claim_inbound(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        let until = now + chrono::Duration::from_std(lease).map_err(|e| StoreError::Unexpected(e.into()))?;
        let _turn = self.writer.take().await?;
        // Each sender's head: their earliest-sent pending message (arrival breaks ties), and
        // only for a sender none of whose pending messages is under a live lease (one that
        // arrived late with an earlier `sent_at` waits for the one being handled). SQLite has
        // one writer, so a claim sees every lease taken before it. Only the senders at the front
        // of the queue are looked at (`free_senders`). The outer WHERE repeats the
        // lease test against the row as it is now.
        let claimed = sqlx::query_as(concat!(
            "WITH free AS MATERIALIZED (",
            super::dispatch::free_senders!("$2", "$4", "$5"),
            "),
             heads AS (
                 SELECT seq,
                        ROW_NUMBER() OVER (PARTITION BY sender_key
                                           ORDER BY COALESCE(sent_at, received_at), seq) AS position,
                        MAX(CASE WHEN leased_until > $2 THEN 1 ELSE 0 END)
                            OVER (PARTITION BY sender_key) AS busy,
                        COUNT(*) OVER (PARTITION BY sender_key) AS pending
                 FROM inbox_messages
                 WHERE state = 'pending' AND sender_key IN (SELECT sender_key FROM free)
             )
             UPDATE inbox_messages
             SET lease_owner = $1, leased_until = $3, attempts = attempts + 1
             WHERE seq IN (SELECT seq FROM heads WHERE position = 1 AND busy = 0 ORDER BY seq LIMIT $4)
               AND state = 'pending' AND (leased_until IS NULL OR leased_until <= $2)
             RETURNING seq, message_id, sender_key, phone_number_id, message, attempts, ",
            super::dispatch::sender_standing!("inbox_messages.sender_key", "inbox_messages.seq"),
            ", (SELECT pending > 1 FROM heads WHERE heads.seq = inbox_messages.seq) AS more",
        ))
        .bind(owner)
        .bind(now)
        .bind(until)
        .bind(i64::from(limit))
        .bind(i64::from(limit.saturating_mul(super::dispatch::CLAIM_WINDOW)))
        .fetch_all(&self.unsynced)
        .await?;
        Ok(claimed)
    }

    async fn release_inbound(&self, owner: &str, at: DateTime<Utc>) -> Result<u64, StoreError> {
        let _turn = self.writer.take().await?;
        let result =
            sqlx::query(super::dispatch::RELEASE_INBOUND).bind(owner).bind(at).execute(&self.pool).await?;
        Ok(result.rows_affected())
    }

    async fn outbox_for_recipient(&self, recipient_key: &str) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = sqlx::query_as(super::shared::SELECT_OUTBOX_MESSAGES)
            .bind(recipient_key)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows)
    }

    async fn claim_outbound(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedReply>, StoreError> {
        let until = now + chrono::Duration::from_std(lease).map_err(|e| StoreError::Unexpected(e.into()))?;
        let _turn = self.writer.take().await?;
        // Each recipient's head is their lowest pending id; it is a candidate only when due and
        // not leased. A head still named by a lease that ran out was being sent by a sender that
        // died: its outcome is unknown from now (`unknown_since`), which the sender resolves
        // before sending it again. The outer WHERE repeats the lease test for the same reason as
        // in `claim_inbound`: it is what is re-checked after waiting on another sender's row lock.
        let claimed = sqlx::query_as(concat!(
            "WITH heads AS MATERIALIZED (",
            super::dispatch::outbox_heads!("$5"),
            ")
             UPDATE outbox_messages
             SET lease_owner = $1, leased_until = $3, attempts = attempts + 1,
                 unknown_since = CASE WHEN lease_owner IS NOT NULL THEN COALESCE(unknown_since, $2)
                                      ELSE unknown_since END
             WHERE id IN (SELECT o.id FROM outbox_messages o JOIN heads ON heads.id = o.id
                          WHERE (o.leased_until IS NULL OR o.leased_until <= $2)
                            AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= $2)
                          ORDER BY o.id LIMIT $4)
               AND state = 'pending' AND (leased_until IS NULL OR leased_until <= $2)
             RETURNING id, recipient_key, in_reply_to, wa_id, bsuid, body, window_from, attempts, unknown_since,
                       (SELECT queued > 1 FROM heads WHERE heads.id = outbox_messages.id) AS more",
        ))
        .bind(owner)
        .bind(now)
        .bind(until)
        .bind(i64::from(limit))
        .bind(i64::from(limit.saturating_mul(super::dispatch::CLAIM_WINDOW)))
        .fetch_all(&self.pool)
        .await?;
        Ok(claimed)
    }

    async fn last_inbound_at(&self, sender_key: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        // The latest few by arrival are enough: Meta redelivers late, not years late.
        let at = sqlx::query_scalar(super::shared::SELECT_INBOX_MESSAGES_2)
            .bind(sender_key)
            .fetch_one(&self.pool)
            .await?;
        Ok(at)
    }

    async fn inbound_before(
        &self,
        sender_key: &str,
        message_id: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let at = sqlx::query_scalar(super::dispatch::INBOUND_BEFORE)
            .bind(sender_key)
            .bind(message_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(at)
    }

    async fn reply_question(
        &self,
        provider_message_id: &str,
        outbox_id: Option<i64>,
    ) -> Result<Option<Option<String>>, StoreError> {
        let row: Option<(Option<String>,)> = sqlx::query_as(super::dispatch::REPLY_QUESTION)
            .bind(provider_message_id)
            .bind(outbox_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(question,)| question))
    }

    async fn accepted_by_callback(&self, callback: &str) -> Result<Option<String>, StoreError> {
        let id = sqlx::query_scalar(super::shared::SELECT_DELIVERY_STATUSES)
            .bind(callback)
            .fetch_optional(&self.pool)
            .await?;
        Ok(id)
    }

    async fn flow_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(super::shared::SELECT_FLOW_RELEASES).fetch_optional(&self.pool).await?)
    }

    async fn is_customer(&self, alias: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(super::shared::SELECT_CUSTOMER_ALIASES)
            .bind(alias)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    async fn customer_language(&self, recipient_key: &str) -> Result<Option<String>, StoreError> {
        let language = sqlx::query_scalar(super::shared::SELECT_CUSTOMER_PREFERENCES)
            .bind(recipient_key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(language)
    }

    async fn set_customer_language(
        &self,
        recipient_key: &str,
        language: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _turn = self.writer.take().await?;
        sqlx::query(super::shared::INSERT_CUSTOMER_PREFERENCES)
            .bind(recipient_key)
            .bind(language)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn refresh_queue_statistics(&self) -> Result<Vec<&'static str>, StoreError> {
        // SQLite plans a statement from its schema alone until ANALYZE stores statistics, which
        // teller never runs: no plan here depends on a table's size, so none goes stale.
        Ok(Vec::new())
    }

    async fn close(&self) {
        self.unsynced.close().await;
        self.pool.close().await;
    }
}

mod tx;
use tx::SqliteTx;

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    #[tokio::test]
    async fn only_the_connection_for_leases_and_rounds_commits_without_waiting_for_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("teller.db").display());
        let config =
            DatabaseConfig { url: SecretString::from(url), backend: SqlBackend::Sqlite, max_connections: 2 };
        let store = SqliteStore::connect(&config).await.unwrap();
        let synchronous = async |pool: &SqlitePool| -> i64 {
            sqlx::query_scalar("PRAGMA synchronous").fetch_one(pool).await.unwrap()
        };
        // FULL is 2, NORMAL 1.
        assert_eq!(synchronous(&store.pool).await, 2, "every other write waits for the disk");
        assert_eq!(synchronous(&store.unsynced).await, 1);
        assert_eq!(store.unsynced.options().get_max_connections(), 1, "its writers take turns anyway");
    }
}
