//! The PostgreSQL adapter: production and the test suite.

use std::str::FromStr;
use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use log::LevelFilter;
use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Postgres, Transaction};

use super::audit::AuditRow;
use super::{
    AuditEvent, ClaimedMessage, ClaimedReply, DeliveryStatus, Finish, InboxCounts, InboxMessage,
    NewAuditEvent, NewInboxMessage, NewOutboxMessage, NewWebhookPayload, OutboxMessage, SchemaStatus,
    Settlement, SqlStore, SqlTx, StoreError, schema,
};
use crate::config::{DatabaseConfig, SqlBackend};

const RECENT_AUDIT: &str = super::shared::SELECT_AUDIT_EVENTS;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// The class of the per-customer advisory locks inbound claims take (two-key form: the
/// customer's key hashed is the second), a number no other lock uses.
const CLAIM_LOCK_CLASS: i32 = 0x7465_6c6c;

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
        // a claim first picks candidate customers, then takes a lock per customer (a
        // transaction-level advisory lock, skipped if another claim holds it), and only then,
        // in a statement whose snapshot postdates every claim that held those locks before,
        // leases heads: by then any lease another claim took is visible, and its customer is
        // skipped as busy. Claims for different customers never wait for each other.
        let mut tx = self.pool.begin().await?;
        let candidates: Vec<String> = sqlx::query_scalar(
            "WITH heads AS (
                 SELECT sender_key, seq,
                        ROW_NUMBER() OVER (PARTITION BY sender_key
                                           ORDER BY COALESCE(sent_at, received_at), seq) AS position,
                        MAX(CASE WHEN leased_until > $1 THEN 1 ELSE 0 END)
                            OVER (PARTITION BY sender_key) AS busy
                 FROM inbox_messages WHERE state = 'pending'
             )
             SELECT sender_key FROM heads WHERE position = 1 AND busy = 0 ORDER BY seq LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        if candidates.is_empty() {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let locked: Vec<String> = sqlx::query_scalar(
            "SELECT k FROM unnest($1::text[]) AS k WHERE pg_try_advisory_xact_lock($2, hashtext(k))",
        )
        .bind(&candidates)
        .bind(CLAIM_LOCK_CLASS)
        .fetch_all(&mut *tx)
        .await?;
        // Each locked customer's head, judged afresh: their earliest-sent pending message
        // (arrival breaks ties), and only if none of theirs is under a live lease. Rows another
        // transaction holds (a round being recorded) are skipped, not waited for. The picked
        // rows are a MATERIALIZED CTE, not an `IN (subquery)`: the planner may rescan a
        // subquery once per outer row, and each rescan skips the rows this statement just
        // updated and picks the next, so `LIMIT` stops limiting.
        let claimed = sqlx::query_as(
            "WITH heads AS (
                 SELECT seq,
                        ROW_NUMBER() OVER (PARTITION BY sender_key
                                           ORDER BY COALESCE(sent_at, received_at), seq) AS position,
                        MAX(CASE WHEN leased_until > $2 THEN 1 ELSE 0 END)
                            OVER (PARTITION BY sender_key) AS busy
                 FROM inbox_messages WHERE state = 'pending' AND sender_key = ANY($5)
             ),
             picked AS MATERIALIZED (
                 SELECT i.seq FROM inbox_messages i
                 WHERE i.seq IN (SELECT seq FROM heads WHERE position = 1 AND busy = 0)
                 ORDER BY i.seq LIMIT $4
                 FOR UPDATE SKIP LOCKED
             )
             UPDATE inbox_messages m
             SET lease_owner = $1, leased_until = $3, attempts = m.attempts + 1
             FROM picked
             WHERE m.seq = picked.seq
               AND m.state = 'pending' AND (m.leased_until IS NULL OR m.leased_until <= $2)
             RETURNING m.seq, m.message_id, m.sender_key, m.phone_number_id, m.message, m.attempts",
        )
        .bind(owner)
        .bind(now)
        .bind(until)
        .bind(i64::from(limit))
        .bind(&locked)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn release_inbound(&self, owner: &str, at: DateTime<Utc>) -> Result<u64, StoreError> {
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
        // Each recipient's head is their lowest pending id; it is a candidate only when due and
        // not leased. A head still named by a lease that ran out was being sent by a sender that
        // died: its outcome is unknown from now (`unknown_since`), which the sender resolves
        // before sending it again. The outer WHERE repeats the lease test for the same reason as in
        // `claim_inbound`: it is what is re-checked after waiting on another sender's row lock;
        // the picked rows are a MATERIALIZED CTE for the same reason too (a rescanned subquery
        // does not keep to its `LIMIT`).
        let claimed = sqlx::query_as(
            "WITH picked AS MATERIALIZED (
                 SELECT o.id FROM outbox_messages o
                 JOIN (SELECT min(id) AS id FROM outbox_messages
                       WHERE state = 'pending' GROUP BY recipient_key) heads ON heads.id = o.id
                 WHERE (o.leased_until IS NULL OR o.leased_until <= $2)
                   AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= $2)
                 ORDER BY o.id LIMIT $4
                 FOR UPDATE OF o SKIP LOCKED
             )
             UPDATE outbox_messages m
             SET lease_owner = $1, leased_until = $3, attempts = m.attempts + 1,
                 unknown_since = CASE WHEN m.lease_owner IS NOT NULL THEN COALESCE(m.unknown_since, $2)
                                      ELSE m.unknown_since END
             FROM picked
             WHERE m.id = picked.id
               AND m.state = 'pending' AND (m.leased_until IS NULL OR m.leased_until <= $2)
             RETURNING m.id, m.recipient_key, m.wa_id, m.bsuid, m.body, m.window_from, m.attempts,
                       m.unknown_since",
        )
        .bind(owner)
        .bind(now)
        .bind(until)
        .bind(i64::from(limit))
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
        sqlx::query(super::shared::INSERT_CUSTOMER_PREFERENCES)
            .bind(recipient_key)
            .bind(language)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

struct PostgresTx {
    tx: Transaction<'static, Postgres>,
}

#[async_trait]
impl SqlTx for PostgresTx {
    fn bank(&mut self) -> &mut dyn super::BankTx {
        self
    }

    fn worker(&mut self) -> &mut dyn super::WorkerTx {
        self
    }

    fn admin(&mut self) -> &mut dyn super::AdminTx {
        self
    }

    fn loans(&mut self) -> &mut dyn super::LoanTx {
        self
    }

    async fn append_audit(&mut self, event: &NewAuditEvent) -> Result<i64, StoreError> {
        let id = sqlx::query_scalar(super::shared::INSERT_AUDIT_EVENTS)
            .bind(event.occurred_at)
            .bind(&event.actor)
            .bind(&event.action)
            .bind(&event.subject)
            .bind(sqlx::types::Json(&event.detail))
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(id)
    }

    async fn recent_audit(&mut self, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        let rows: Vec<AuditRow> =
            sqlx::query_as(RECENT_AUDIT).bind(i64::from(limit)).fetch_all(&mut *self.tx).await?;
        Ok(rows.into_iter().map(AuditEvent::from).collect())
    }

    async fn record_webhook(&mut self, payload: &NewWebhookPayload<'_>) -> Result<i64, StoreError> {
        let id = sqlx::query_scalar(super::shared::INSERT_WEBHOOK_PAYLOADS)
            .bind(payload.received_at)
            .bind(payload.body)
            .bind(payload.problems.as_deref())
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(id)
    }

    async fn drop_webhook(&mut self, id: i64) -> Result<(), StoreError> {
        sqlx::query(super::inbox::DROP_WEBHOOK).bind(id).execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn replace_webhook_body(&mut self, id: i64, body: &[u8]) -> Result<(), StoreError> {
        sqlx::query(super::inbox::REPLACE_WEBHOOK_BODY).bind(id).bind(body).execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn enqueue_inbound(&mut self, message: &NewInboxMessage<'_>) -> Result<bool, StoreError> {
        // The unique message id makes a redelivery a no-op, even racing another instance.
        let inserted: Option<i64> = sqlx::query_scalar(super::shared::INSERT_INBOX_MESSAGES)
            .bind(message.message_id)
            .bind(message.payload_id)
            .bind(message.sender_key)
            .bind(message.phone_number_id)
            .bind(message.kind)
            .bind(message.sent_at)
            .bind(message.received_at)
            .bind(sqlx::types::Json(message.message))
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(inserted.is_some())
    }

    async fn apply_delivery_status(&mut self, status: &DeliveryStatus) -> Result<bool, StoreError> {
        // Only a higher rank replaces the stored status: statuses never move backwards.
        let changed: Option<String> = sqlx::query_scalar(super::shared::INSERT_DELIVERY_STATUSES)
            .bind(&status.message_id)
            .bind(&status.status)
            .bind(status.rank)
            .bind(status.status_at)
            .bind(status.error_code)
            .bind(status.error_title.as_deref())
            .bind(status.callback_data.as_deref())
            .bind(status.updated_at)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(changed.is_some())
    }

    async fn finish_inbound(
        &mut self,
        seq: i64,
        owner: &str,
        finish: Finish,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(super::shared::UPDATE_INBOX_MESSAGES_2)
            .bind(seq)
            .bind(owner)
            .bind(finish.as_str())
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn finish_inbound_all(
        &mut self,
        owner: &str,
        now: DateTime<Utc>,
        finished: &[(i64, Finish)],
    ) -> Result<Vec<bool>, StoreError> {
        if finished.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for the round, not one per message: the same fence, row by row.
        let seqs: Vec<i64> = finished.iter().map(|(seq, _)| *seq).collect();
        let states: Vec<&str> = finished.iter().map(|(_, finish)| finish.as_str()).collect();
        let done: Vec<i64> = sqlx::query_scalar(
            "UPDATE inbox_messages m
             SET state = f.state, processed_at = $3, lease_owner = NULL, leased_until = NULL
             FROM unnest($1::bigint[], $2::text[]) AS f(seq, state)
             WHERE m.seq = f.seq AND m.lease_owner = $4 AND m.state = 'pending'
             RETURNING m.seq",
        )
        .bind(&seqs)
        .bind(&states)
        .bind(now)
        .bind(owner)
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(seqs.iter().map(|seq| done.contains(seq)).collect())
    }

    async fn retry_inbound_at(
        &mut self,
        seq: i64,
        owner: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(super::dispatch::RETRY_INBOUND_AT)
            .bind(seq)
            .bind(owner)
            .bind(at)
            .execute(&mut *self.tx)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn redact_inbound(&mut self, seq: i64, message: &serde_json::Value) -> Result<(), StoreError> {
        sqlx::query(super::shared::UPDATE_INBOX_MESSAGES)
            .bind(seq)
            .bind(sqlx::types::Json(message))
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(super::shared::UPDATE_WEBHOOK_PAYLOADS)
            .bind(seq)
            .bind(super::REDACTED_PAYLOAD)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn enqueue_outbound(&mut self, message: &NewOutboxMessage<'_>) -> Result<i64, StoreError> {
        let id = sqlx::query_scalar(super::shared::INSERT_OUTBOX_MESSAGES)
            .bind(message.recipient_key)
            .bind(message.wa_id)
            .bind(message.bsuid)
            .bind(message.in_reply_to)
            .bind(sqlx::types::Json(message.body))
            .bind(message.window_from)
            .bind(message.created_at)
            .bind(message.scrub_after)
            .bind(message.question)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(id)
    }

    async fn settle_outbound(
        &mut self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        settlement: &Settlement,
    ) -> Result<bool, StoreError> {
        let query = match settlement {
            Settlement::Sent { provider_message_id, via_template } => {
                sqlx::query(super::shared::UPDATE_OUTBOX_MESSAGES_5)
                    .bind(id)
                    .bind(owner)
                    .bind(provider_message_id)
                    .bind(*via_template)
                    .bind(now)
            }
            Settlement::Failed { outside_window, code, message } => {
                sqlx::query(super::shared::UPDATE_OUTBOX_MESSAGES_3)
                    .bind(id)
                    .bind(owner)
                    .bind(if *outside_window { "outside_window" } else { "failed" })
                    .bind(code)
                    .bind(message)
                    .bind(now)
            }
            Settlement::Retry { at, code, message } => sqlx::query(super::shared::UPDATE_OUTBOX_MESSAGES_2)
                .bind(id)
                .bind(owner)
                .bind(at)
                .bind(code)
                .bind(message),
            Settlement::Postpone { at } => {
                sqlx::query(super::shared::UPDATE_OUTBOX_MESSAGES).bind(id).bind(owner).bind(at)
            }
        };
        let result = query.execute(&mut *self.tx).await?;
        Ok(result.rows_affected() == 1)
    }

    async fn settle_outbound_all(
        &mut self,
        owner: &str,
        now: DateTime<Utc>,
        settled: &[(i64, Settlement)],
    ) -> Result<Vec<bool>, StoreError> {
        // One statement for the round: each settlement's columns as parallel arrays, and the
        // same changes `settle_outbound` makes for its kind, fenced by the lease row by row.
        let mut rows = OutboxSettlements::default();
        for (id, settlement) in settled {
            rows.push(*id, settlement);
        }
        let recorded: Vec<i64> = sqlx::query_scalar(
            "UPDATE outbox_messages o
             SET state = s.state,
                 provider_message_id =
                     CASE WHEN s.kind = 'sent' THEN s.provider_message_id ELSE o.provider_message_id END,
                 via_template = CASE WHEN s.kind = 'sent' THEN s.via_template ELSE o.via_template END,
                 settled_at = CASE WHEN s.state = 'pending' THEN o.settled_at ELSE $9 END,
                 next_attempt_at = CASE WHEN s.state = 'pending' THEN s.at ELSE o.next_attempt_at END,
                 error_code = CASE WHEN s.kind IN ('failed', 'retry') THEN s.code ELSE o.error_code END,
                 error_message =
                     CASE WHEN s.kind IN ('failed', 'retry') THEN s.message ELSE o.error_message END,
                 attempts = o.attempts - CASE WHEN s.kind = 'postpone' THEN 1 ELSE 0 END,
                 lease_owner = NULL, leased_until = NULL
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bool[],
                         $6::timestamptz[], $7::bigint[], $8::text[])
                  AS s(id, kind, state, provider_message_id, via_template, at, code, message)
             WHERE o.id = s.id AND o.lease_owner = $10 AND o.state = 'pending'
             RETURNING o.id",
        )
        .bind(&rows.ids)
        .bind(&rows.kinds)
        .bind(&rows.states)
        .bind(&rows.provider_message_ids)
        .bind(&rows.via_templates)
        .bind(&rows.ats)
        .bind(&rows.codes)
        .bind(&rows.messages)
        .bind(now)
        .bind(owner)
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(rows.ids.iter().map(|id| recorded.contains(id)).collect())
    }

    async fn outbound_outside_window(&mut self, id: i64, code: i64) -> Result<bool, StoreError> {
        let result = sqlx::query(super::shared::UPDATE_OUTBOX_MESSAGES_4)
            .bind(id)
            .bind(code)
            .execute(&mut *self.tx)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        Ok(self.tx.commit().await?)
    }

    async fn rollback(self: Box<Self>) -> Result<(), StoreError> {
        Ok(self.tx.rollback().await?)
    }
}

/// A round's settlements as the parallel arrays `settle_outbound_all` binds.
#[derive(Default)]
struct OutboxSettlements<'a> {
    ids: Vec<i64>,
    /// `sent`, `failed`, `retry` or `postpone`.
    kinds: Vec<&'static str>,
    /// The state the reply is left in.
    states: Vec<&'static str>,
    provider_message_ids: Vec<Option<&'a str>>,
    via_templates: Vec<bool>,
    /// When to try again (retries and postponements).
    ats: Vec<Option<DateTime<Utc>>>,
    codes: Vec<Option<i64>>,
    messages: Vec<Option<&'a str>>,
}

impl<'a> OutboxSettlements<'a> {
    fn push(&mut self, id: i64, settlement: &'a Settlement) {
        let (kind, state, provider_message_id, via_template, at, code, message) = match settlement {
            Settlement::Sent { provider_message_id, via_template } => {
                ("sent", "sent", Some(provider_message_id.as_str()), *via_template, None, None, None)
            }
            Settlement::Failed { outside_window, code, message } => {
                let state = if *outside_window { "outside_window" } else { "failed" };
                ("failed", state, None, false, None, *code, Some(message.as_str()))
            }
            Settlement::Retry { at, code, message } => {
                ("retry", "pending", None, false, Some(*at), *code, Some(message.as_str()))
            }
            Settlement::Postpone { at } => ("postpone", "pending", None, false, Some(*at), None, None),
        };
        self.ids.push(id);
        self.kinds.push(kind);
        self.states.push(state);
        self.provider_message_ids.push(provider_message_id);
        self.via_templates.push(via_template);
        self.ats.push(at);
        self.codes.push(code);
        self.messages.push(message);
    }
}

impl super::backend::Backend for PostgresTx {
    const POSTGRES: bool = true;
    type Db = Postgres;

    fn conn(&mut self) -> &mut <Postgres as sqlx::Database>::Connection {
        &mut self.tx
    }
}
