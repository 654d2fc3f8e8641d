//! The PostgreSQL adapter: production and the test suite.
//!
//! # Queue rows by key, whatever the statistics say
//!
//! Each queue has a small partial index of its pending rows in order (migration 23), which the
//! front of the queue is read from. A queue is often vacuumed while nothing is pending, and the
//! statistics then say that index is empty, however many rows it later holds. To a planner
//! believing that, reading every pending row looks free, and a statement that picks a few rows
//! by key (`m.seq = f.seq AND m.state = 'pending'`) was planned as a scan of them all: under a
//! backlog the statistics had not seen (an outage's, a flood's), a claim or a round's record read
//! the whole backlog, 400 ms a claim at 50,000 pending (BENCHMARKS.md, 2026-12-06). So wherever
//! a statement takes queue rows by key, it compares the state as `(state || '') = 'pending'`,
//! which no partial index matches: it reads its rows through the primary key, and only those
//! (`tests/integration/queue_history.rs` holds it). The reads of the front keep
//! `state = 'pending'`, and the small index.
//!
//! A connection that runs one of these statements six times while its table is tiny (a new
//! database's first minute) may keep a plan that reads the table sequentially, until the next
//! analyze; so the tables are analyzed as soon as they outgrow their statistics (see
//! `statistics`). Functions planned without sequential scans were tried instead, and made the
//! backlog's drain slower by turns (BENCHMARKS.md, ninth session).

use std::str::FromStr;
use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use log::LevelFilter;
use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};

use super::audit::AuditRow;
use super::{
    AuditEvent, ClaimedMessage, ClaimedReply, DeliveryStatus, InboxCounts, InboxMessage, NewInboxMessage,
    NewOutboxMessage, NewWebhookPayload, OutboxMessage, RoundRecord, SchemaStatus, Settlement, SqlStore,
    SqlTx, StoreError, schema,
};
use crate::config::{DatabaseConfig, SqlBackend};
use crate::store::dispatch::CLAIM_WINDOW;

pub(super) const RECENT_AUDIT: &str = crate::store::shared::SELECT_AUDIT_EVENTS;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// The class of the per-customer advisory locks inbound claims take (two-key form: the
/// customer's key hashed is the second), a number no other lock uses.
const CLAIM_LOCK_CLASS: i32 = 0x7465_6c6c;

/// How long a pooled connection may sit unused before it is pinged on its next acquire.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// The SQL store on PostgreSQL.
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Builds a lazily connecting pool; nothing is dialled until the first query.
    pub fn connect(config: &DatabaseConfig) -> Result<Self, StoreError> {
        // The parse error may quote the URL, password included, so it is not passed on.
        let options = PgConnectOptions::from_str(config.url.expose_secret())
            .map_err(|_| StoreError::Unexpected(anyhow!("DATABASE_URL is not a usable postgres URL")))?
            .application_name("teller")
            .log_statements(LevelFilter::Trace)
            .log_slow_statements(LevelFilter::Warn, Duration::from_secs(1));
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .min_connections(0)
            // Bounds how long a request waits when PostgreSQL is down or the pool is exhausted:
            // a webhook then answers 503 (Meta retries) instead of holding the connection open.
            .acquire_timeout(Duration::from_secs(3))
            .idle_timeout(Duration::from_secs(300))
            // sqlx's default pings every connection on every acquire: a round trip per query
            // under load. A connection that was busy a moment ago is used as it is; one that
            // sat idle (where a restarted server or a dropped link would show) is pinged first.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_WHEN_IDLE_FOR {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(options);
        Ok(PostgresStore { pool })
    }
}

#[async_trait]
impl SqlStore for PostgresStore {
    fn backend(&self) -> SqlBackend {
        SqlBackend::Postgres
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let pending = self.schema_status().await?.pending;
        // Takes a PostgreSQL advisory lock, so two deploys migrating at once run one after the other.
        MIGRATOR.run(&self.pool).await?;
        Ok(pending)
    }

    async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        let mut conn = self.pool.acquire().await?;
        schema::status(&mut *conn, &MIGRATOR).await
    }

    async fn begin(&self) -> Result<Box<dyn SqlTx>, StoreError> {
        Ok(Box::new(PostgresTx { tx: self.pool.begin().await? }))
    }

    async fn enqueue_new_webhooks(
        &self,
        payloads: &[NewWebhookPayload<'_>],
        messages: &[NewInboxMessage<'_>],
    ) -> Result<bool, StoreError> {
        if messages.iter().any(|m| usize::try_from(m.payload_id).map_or(true, |i| i >= payloads.len())) {
            return Err(StoreError::Unexpected(anyhow!("a message names no payload")));
        }
        // The place of each message's payload, 1-based as `WITH ORDINALITY` counts.
        let places: Vec<i64> = messages.iter().map(|m| m.payload_id + 1).collect();
        let inserted = sqlx::query(crate::store::inbox::ENQUEUE_NEW_WEBHOOKS)
            .bind(payloads.iter().map(|p| p.received_at).collect::<Vec<_>>())
            .bind(payloads.iter().map(|p| p.body).collect::<Vec<_>>())
            .bind(payloads.iter().map(|p| p.problems.as_deref()).collect::<Vec<_>>())
            .bind(places)
            .bind(messages.iter().map(|m| m.message_id).collect::<Vec<_>>())
            .bind(messages.iter().map(|m| m.sender_key).collect::<Vec<_>>())
            .bind(messages.iter().map(|m| m.phone_number_id).collect::<Vec<_>>())
            .bind(messages.iter().map(|m| m.kind).collect::<Vec<_>>())
            .bind(messages.iter().map(|m| m.sent_at).collect::<Vec<_>>())
            .bind(messages.iter().map(|m| m.received_at).collect::<Vec<_>>())
            .bind(messages.iter().map(|m| sqlx::types::Json(m.message)).collect::<Vec<_>>())
            .execute(&self.pool)
            .await;
        match inserted {
            Ok(done) => Ok(done.rows_affected() == messages.len() as u64),
            // A message the inbox has (a redelivery): nothing of this statement was kept.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        let rows: Vec<AuditRow> =
            sqlx::query_as(RECENT_AUDIT).bind(i64::from(limit)).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(AuditEvent::from).collect())
    }

    async fn inbox_counts(&self) -> Result<InboxCounts, StoreError> {
        let (payloads, payloads_with_problems, messages, statuses): (i64, i64, i64, i64) =
            sqlx::query_as(crate::store::shared::SELECT_WEBHOOK_PAYLOADS).fetch_one(&self.pool).await?;
        Ok(InboxCounts { payloads, payloads_with_problems, messages, statuses })
    }

    async fn inbox_for_sender(&self, sender_key: &str) -> Result<Vec<InboxMessage>, StoreError> {
        let rows = sqlx::query_as(crate::store::shared::SELECT_INBOX_MESSAGES_3)
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
            sqlx::query_as(crate::store::shared::SELECT_INBOX_MESSAGES)
                .bind(message_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(message, body)| (message.0, body)))
    }

    async fn delivery_status(&self, message_id: &str) -> Result<Option<DeliveryStatus>, StoreError> {
        let row = sqlx::query_as(crate::store::shared::SELECT_DELIVERY_STATUSES_2)
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row)
    }

    async fn claim_inbound(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        let until = now + chrono::Duration::from_std(lease).map_err(|e| StoreError::Unexpected(e.into()))?;
        // A customer is never handled twice at once, even by two claims racing: a claim that
        // began while another was leasing a customer's message must not lease a message of
        // theirs that arrived meanwhile (with an earlier `sent_at`, it is their new head). So
        // a claim first picks candidate customers from the front of the queue and takes a lock
        // per customer (a transaction-level advisory lock, skipped if another claim holds it),
        // and only then, in a statement whose snapshot postdates every claim that held those
        // locks before, leases heads: by then any lease another claim took is visible, and its
        // customer is skipped as busy. Claims for different customers never wait for each
        // other. Both statements run in the database, in one call: the function
        // `claim_inbound` (migration `claim_in_one_call`).
        //
        // The claim only takes leases, so its commit does not wait for the disk. A lease lost
        // in a crash of the database server is as if it had run out: the message is claimed
        // and handled again, as after a dispatcher's own crash, and handling is built to be
        // repeated (the session kept in the KV remembers the message it last answered; a
        // repeated read receipt changes nothing). The round's record does not wait either
        // (see `RECORD_ROUND`). Every effect that must not be repeated waits for a commit that
        // does reach the disk (moving money, claiming the reply to send), and that commit makes
        // every earlier one durable with it, the lease and the round included.
        let claimed = sqlx::query_as("SELECT * FROM claim_inbound($1, $2, $3, $4, $5, $6)")
            .bind(owner)
            .bind(now)
            .bind(until)
            .bind(i64::from(limit))
            .bind(i64::from(limit.saturating_mul(CLAIM_WINDOW)))
            .bind(CLAIM_LOCK_CLASS)
            .fetch_all(&self.pool)
            .await?;
        Ok(claimed)
    }

    async fn release_inbound(&self, owner: &str, at: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = sqlx::query(crate::store::dispatch::RELEASE_INBOUND)
            .bind(owner)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }

    async fn record_round(&self, round: &RoundRecord<'_>) -> Result<Vec<bool>, StoreError> {
        if round.finishing.is_empty() && round.retries.is_empty() {
            return Ok(Vec::new());
        }
        let finishing = &round.finishing;
        let seqs: Vec<i64> = finishing.iter().map(|f| f.seq).collect();
        let replies: Vec<(i64, &NewOutboxMessage<'_>)> =
            finishing.iter().flat_map(|f| f.replies.iter().map(move |r| (f.seq, r))).collect();
        let column = |pick| column(&replies, pick);
        let held: Vec<i64> = sqlx::query_scalar(super::round::RECORD_ROUND)
            .bind(&seqs)
            .bind(finishing.iter().map(|f| f.finish.as_str()).collect::<Vec<_>>())
            .bind(finishing.iter().map(|f| f.redacted.map(sqlx::types::Json)).collect::<Vec<_>>())
            .bind(round.owner)
            .bind(round.now)
            .bind(super::REDACTED_PAYLOAD)
            .bind(round.retries.iter().map(|(seq, _)| *seq).collect::<Vec<_>>())
            .bind(round.retries.iter().map(|(_, at)| *at).collect::<Vec<_>>())
            .bind(replies.iter().map(|(seq, _)| *seq).collect::<Vec<_>>())
            .bind(column(|r| Some(r.recipient_key)))
            .bind(column(|r| r.wa_id))
            .bind(column(|r| r.bsuid))
            .bind(column(|r| r.in_reply_to))
            .bind(replies.iter().map(|(_, r)| sqlx::types::Json(r.body)).collect::<Vec<_>>())
            .bind(replies.iter().map(|(_, r)| r.window_from).collect::<Vec<_>>())
            .bind(replies.iter().map(|(_, r)| r.created_at).collect::<Vec<_>>())
            .bind(replies.iter().map(|(_, r)| r.scrub_after).collect::<Vec<_>>())
            .bind(column(|r| r.question))
            .fetch_all(&self.pool)
            .await?;
        Ok(seqs.iter().map(|seq| held.contains(seq)).collect())
    }

    async fn settle_outbound_all(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        settled: &[(i64, Settlement)],
    ) -> Result<Vec<bool>, StoreError> {
        tx::settle_all(&self.pool, owner, now, settled).await
    }

    async fn outbox_for_recipient(&self, recipient_key: &str) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = sqlx::query_as(crate::store::shared::SELECT_OUTBOX_MESSAGES)
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
        // Each recipient's head is their lowest pending id; it is a candidate only when due and
        // not leased. A head still named by a lease that ran out was being sent by a sender that
        // died: its outcome is unknown from now (`unknown_since`), which the sender resolves
        // before sending it again. The outer WHERE repeats the lease test for the same reason as in
        // `claim_inbound`: it is what is re-checked after waiting on another sender's row lock;
        // the picked rows are a MATERIALIZED CTE for the same reason too (a rescanned subquery
        // does not keep to its `LIMIT`). The heads are picked as one array of keys, found through
        // the primary key in order: joined to the outbox, with a backlog pending behind the
        // history, the planner merged them with the whole primary key from its first row,
        // expecting to meet 64 heads early, and read the history at every claim (50,074 rows
        // under the test's backlog). The lease is taken by key (see "queue rows by key" above).
        // Whether a recipient has more behind their head comes from the heads, joined once by
        // key: looked up for each leased reply instead, it made a claim at full speed cost
        // PostgreSQL 70% more.
        let claimed = sqlx::query_as(concat!(
            "WITH heads AS MATERIALIZED (",
            crate::store::dispatch::outbox_heads!("$5"),
            "),
             picked AS MATERIALIZED (
                 SELECT o.id FROM outbox_messages o
                 WHERE o.id = ANY (ARRAY(SELECT id FROM heads))
                   AND (o.leased_until IS NULL OR o.leased_until <= $2)
                   AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= $2)
                 ORDER BY o.id LIMIT $4
                 FOR UPDATE OF o SKIP LOCKED
             )
             UPDATE outbox_messages m
             SET lease_owner = $1, leased_until = $3, attempts = m.attempts + 1,
                 unknown_since = CASE WHEN m.lease_owner IS NOT NULL THEN COALESCE(m.unknown_since, $2)
                                      ELSE m.unknown_since END
             FROM picked JOIN heads h ON h.id = picked.id
             WHERE m.id = picked.id
               AND (m.state || '') = 'pending' AND (m.leased_until IS NULL OR m.leased_until <= $2)
             RETURNING m.id, m.recipient_key, m.in_reply_to, m.wa_id, m.bsuid, m.body, m.window_from,
                       m.attempts, m.unknown_since, h.queued > 1 AS more",
        ))
        .bind(owner)
        .bind(now)
        .bind(until)
        .bind(i64::from(limit))
        .bind(i64::from(limit.saturating_mul(CLAIM_WINDOW)))
        .fetch_all(&self.pool)
        .await?;
        Ok(claimed)
    }

    async fn last_inbound_at(&self, sender_key: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        // The latest few by arrival are enough: Meta redelivers late, not years late.
        let at = sqlx::query_scalar(crate::store::shared::SELECT_INBOX_MESSAGES_2)
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
        let at = sqlx::query_scalar(crate::store::dispatch::INBOUND_BEFORE)
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
        let row: Option<(Option<String>,)> = sqlx::query_as(crate::store::dispatch::REPLY_QUESTION)
            .bind(provider_message_id)
            .bind(outbox_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(question,)| question))
    }

    async fn accepted_by_callback(&self, callback: &str) -> Result<Option<String>, StoreError> {
        let id = sqlx::query_scalar(crate::store::shared::SELECT_DELIVERY_STATUSES)
            .bind(callback)
            .fetch_optional(&self.pool)
            .await?;
        Ok(id)
    }

    async fn flow_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(crate::store::shared::SELECT_FLOW_RELEASES).fetch_optional(&self.pool).await?)
    }

    async fn is_customer(&self, alias: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(crate::store::shared::SELECT_CUSTOMER_ALIASES)
            .bind(alias)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    async fn customer_language(&self, recipient_key: &str) -> Result<Option<String>, StoreError> {
        let language = sqlx::query_scalar(crate::store::shared::SELECT_CUSTOMER_PREFERENCES)
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
        sqlx::query(crate::store::shared::INSERT_CUSTOMER_PREFERENCES)
            .bind(recipient_key)
            .bind(language)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn refresh_queue_statistics(&self) -> Result<Vec<&'static str>, StoreError> {
        statistics::refresh(&self.pool).await
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

mod statistics;
mod tx;
use tx::PostgresTx;

/// One text column of a round's replies, as an array to bind.
fn column<'a>(
    replies: &[(i64, &NewOutboxMessage<'a>)],
    pick: fn(&NewOutboxMessage<'a>) -> Option<&'a str>,
) -> Vec<Option<&'a str>> {
    replies.iter().map(|(_, reply)| pick(reply)).collect()
}
