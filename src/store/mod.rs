//! The SQL storage port and its two adapters.
//!
//! [`SqlStore`] is everything the rest of teller may ask of the database; [`postgres`] and
//! [`sqlite`] implement it, each with its own dialect and its own migrations
//! (`migrations/postgres/`, `migrations/sqlite/`, embedded in the binary). One behaviour suite
//! (`tests/sql_store.rs`) runs against both, so an adapter cannot drift from the other.
//!
//! Units of work are explicit: [`SqlStore::begin`] hands out a [`SqlTx`]; repository operations
//! take it, and the use case decides when it commits. Dropping a transaction without committing
//! rolls it back, so an early return or an error never half-applies a change.
//!
//! Imports: the leaves only.

pub mod admin;
mod admin_sql;
mod audit;
mod backend;
pub mod bank;
mod bank_sql;
pub mod care;
mod care_sql;
pub mod customers;
mod customers_sql;
mod dispatch;
mod error;
mod inbox;
pub mod jobs;
pub mod loans;
mod loans_sql;
pub mod operations;
mod operations_sql;
pub mod postgres;
pub mod providers;
mod providers_sql;
mod queue_sql;
mod round;
mod schema;
mod shared;
pub mod sqlite;
pub mod whatsapp;
mod whatsapp_sql;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use admin::{AdminRow, AdminTx, DraftRow, NewDraft, NewRelease, ReleaseRow, SetupRow};
pub use audit::{AuditEvent, NewAuditEvent};
pub use bank::{
    AccountRow, BankTx, CustomerRow, IdentityTry, LedgerTotals, MonthlyFeeRow, NewCustomer, NewTransaction,
    PinTry, TransactionRow,
};
pub use care::CareTx;
pub use customers::CustomersTx;
pub use dispatch::{
    ClaimedMessage, ClaimedReply, Finish, NewOutboxMessage, OutboxMessage, Settlement, Standing,
};
pub use error::{StoreError, is_outage};
pub use inbox::{DeliveryStatus, InboxCounts, InboxMessage, NewInboxMessage, NewWebhookPayload};
pub use jobs::{JobRow, WorkerTx};
pub use loans::LoanTx;
pub use operations::OperationsTx;
pub use providers::ProvidersTx;
pub use round::{Finishing, RoundRecord};
pub use schema::SchemaStatus;
pub use whatsapp::WhatsAppTx;

use crate::config::{DatabaseConfig, SqlBackend};

/// What a raw webhook body becomes once a secret it carried (a PIN, a one-time code, an
/// identity number) was handled: the rest of it is in the inbox, without the secret.
pub const REDACTED_PAYLOAD: &[u8] =
    br#"{"redacted":"this body carried a PIN, a one-time code or an identity number"}"#;

/// The SQL store: what teller keeps durably.
#[async_trait]
pub trait SqlStore: Send + Sync + 'static {
    /// Which adapter this is.
    fn backend(&self) -> SqlBackend;

    /// Proves the store answers a query now (used by `/health`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Applies every embedded migration not yet applied, under the adapter's migration lock, and
    /// returns the versions it applied (none when the schema was current).
    async fn migrate(&self) -> Result<Vec<i64>, StoreError>;

    /// Compares the applied migrations with the ones embedded in this binary, without changing
    /// the schema.
    async fn schema_status(&self) -> Result<SchemaStatus, StoreError>;

    /// Starts a unit of work. It holds a pooled connection until committed or dropped.
    async fn begin(&self) -> Result<Box<dyn SqlTx>, StoreError>;

    /// Keeps webhook `payloads` and enqueues `messages`, all or nothing, if every message is new:
    /// `true`. `false`, with nothing stored, when one of them is in the inbox already (a
    /// redelivery, which [`SqlTx::record_webhooks`] and [`SqlTx::enqueue_inbound_all`] in a
    /// unit of work sort out). Here each message's `payload_id` is the index in `payloads` of
    /// the payload it came in. On PostgreSQL this is one statement, with no unit of work around
    /// it: a quarter of the round trips of the unit of work, for the webhooks Meta delivers
    /// once.
    async fn enqueue_new_webhooks(
        &self,
        payloads: &[NewWebhookPayload<'_>],
        messages: &[NewInboxMessage<'_>],
    ) -> Result<bool, StoreError>;

    /// The newest audit events, newest first.
    async fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEvent>, StoreError>;

    /// How much the inbox holds.
    async fn inbox_counts(&self) -> Result<InboxCounts, StoreError>;

    /// One sender's queued messages, in arrival order.
    async fn inbox_for_sender(&self, sender_key: &str) -> Result<Vec<InboxMessage>, StoreError>;

    /// Inbound message `message_id` as kept: its JSON, and the raw webhook body it came in
    /// (for inspection, and to prove what is not kept).
    async fn inbound_as_stored(
        &self,
        message_id: &str,
    ) -> Result<Option<(serde_json::Value, Vec<u8>)>, StoreError>;

    /// The stored delivery status of one of teller's messages.
    async fn delivery_status(&self, message_id: &str) -> Result<Option<DeliveryStatus>, StoreError>;

    /// Brings the end of every lease `owner` holds on pending messages forward to `at`; returns
    /// how many. A dispatcher names each round's leases apart, so this ends the leases of one
    /// round whose claim or record was cut off (its answer lost, it may have leased rows).
    async fn release_inbound(&self, owner: &str, at: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Leases up to `limit` messages to `owner` until `now + lease`: for each sender, only their
    /// oldest pending message, and only if no live lease holds it. So one customer's messages
    /// are handled one at a time in arrival order, while different customers run in parallel.
    /// Two dispatchers claiming at once never get the same message.
    async fn claim_inbound(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedMessage>, StoreError>;

    /// Records a dispatcher round (see [`RoundRecord`]): for each message it finishes, in
    /// order, whether the round's lease still held it, and so whether it was finished and its
    /// replies queued. One statement on PostgreSQL.
    async fn record_round(&self, round: &RoundRecord<'_>) -> Result<Vec<bool>, StoreError> {
        round::in_unit_of_work(self, round).await
    }

    /// Records how a round of leased replies ended ([`SqlTx::settle_outbound_all`]) on its
    /// own: one statement on PostgreSQL, with no unit of work around it.
    async fn settle_outbound_all(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        settled: &[(i64, Settlement)],
    ) -> Result<Vec<bool>, StoreError> {
        let mut tx = self.begin().await?;
        let held = tx.settle_outbound_all(owner, now, settled).await?;
        tx.commit().await?;
        Ok(held)
    }

    /// One customer's queued replies, in queue order.
    async fn outbox_for_recipient(&self, recipient_key: &str) -> Result<Vec<OutboxMessage>, StoreError>;

    /// Leases up to `limit` replies to `owner` until `now + lease`: for each recipient, only
    /// their oldest pending reply, and only if it is due (`next_attempt_at`) and no live lease
    /// holds it. A recipient's next reply is not a candidate until the one before it settled.
    async fn claim_outbound(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedReply>, StoreError>;

    /// When the customer behind `sender_key` last wrote to us (Meta's time), system events
    /// aside: the start of their 24-hour window.
    async fn last_inbound_at(&self, sender_key: &str) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// When the customer behind `sender_key` last wrote to us before the inbound message
    /// `message_id` (system events aside); `None` when they had not, or that message is not in
    /// the inbox. A customer who wrote minutes ago but has no session lost it (the KV was
    /// restarted or flushed), and is told so.
    async fn inbound_before(
        &self,
        sender_key: &str,
        message_id: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// What a tap on the reply Meta knows as `provider_message_id` answers: `None` when no such
    /// reply is known (never sent, or purged), `Some(None)` for a reply that asked nothing (a
    /// notice), `Some(Some(question))` for one that put `question` on screen. A reply whose send
    /// was not recorded yet is found by the outbox id its status webhook echoed.
    async fn question_of(&self, provider_message_id: &str) -> Result<Option<Option<String>>, StoreError> {
        let echoed =
            self.delivery_status(provider_message_id).await?.and_then(|s| s.callback_data?.parse().ok());
        self.reply_question(provider_message_id, echoed).await
    }

    /// The question of the reply Meta knows as `provider_message_id`, else of outbox row
    /// `outbox_id` (see [`SqlStore::question_of`]).
    async fn reply_question(
        &self,
        provider_message_id: &str,
        outbox_id: Option<i64>,
    ) -> Result<Option<Option<String>>, StoreError>;

    /// The message id of a send whose status webhook echoed `callback` as
    /// `biz_opaque_callback_data`: proof Meta accepted it, even if its answer was lost.
    async fn accepted_by_callback(&self, callback: &str) -> Result<Option<String>, StoreError>;

    /// Keeps the sources of flow bundle `version` (a JSON array of `{"file", "text"}`); a
    /// version already kept is left as it is. Versions are never deleted: sessions pin them.
    async fn save_flow_version(
        &self,
        version: &str,
        sources: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.admin().save_flow_version(version, sources, now).await?;
        tx.commit().await
    }

    /// The sources kept for `version` (read rarely: compiled versions are cached).
    async fn flow_version(&self, version: &str) -> Result<Option<String>, StoreError> {
        let mut tx = self.begin().await?;
        tx.admin().flow_version(version).await
    }

    /// The newest flow release's number and version: what every instance polls to serve a
    /// publication within seconds.
    async fn flow_head(&self) -> Result<Option<(i64, String)>, StoreError>;

    /// Whether `alias` (`wa:…`, `bsuid:…`) belongs to a registered customer: one statement on
    /// the pool, as every message asks it.
    async fn is_customer(&self, alias: &str) -> Result<bool, StoreError>;

    /// The language the customer chose, if they did.
    async fn customer_language(&self, recipient_key: &str) -> Result<Option<String>, StoreError>;

    /// Records the customer's language.
    async fn set_customer_language(
        &self,
        recipient_key: &str,
        language: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Brings the planner's statistics of the tables every message grows (the webhook
    /// payloads, both queues, the delivery statuses) up to date where one has outgrown them, so
    /// that no statement keeps a plan made for a table a fraction of its size; returns the
    /// tables refreshed. Called every [`QUEUE_STATISTICS_EVERY`] beside the dispatcher; a
    /// no-op where plans do not depend on table sizes.
    async fn refresh_queue_statistics(&self) -> Result<Vec<&'static str>, StoreError>;

    /// Closes the pool: waits for checked-out connections to come back, then disconnects.
    async fn close(&self);
}

/// How often [`SqlStore::refresh_queue_statistics`] looks: a table it refreshes has grown at
/// most this long past twice the size its plans were made for.
pub const QUEUE_STATISTICS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// One unit of work on the SQL store. Dropped without [`SqlTx::commit`], it rolls back.
#[async_trait]
pub trait SqlTx: Send {
    /// The bank's operations in this unit of work.
    fn bank(&mut self) -> &mut dyn BankTx;

    /// The customers' part.
    fn customers(&mut self) -> &mut dyn CustomersTx;

    /// Customer care: freezes and tickets.
    fn care(&mut self) -> &mut dyn CareTx;

    /// The business account's health: templates and numbers, as Meta reports them.
    fn whatsapp(&mut self) -> &mut dyn WhatsAppTx;

    /// Operator requests: money corrections and their approvals.
    fn operations(&mut self) -> &mut dyn OperationsTx;

    /// A payment provider's side of customers: funding accounts and payout recipients.
    fn providers(&mut self) -> &mut dyn ProvidersTx;

    /// The worker's operations (job leases, retention) in this unit of work.
    fn worker(&mut self) -> &mut dyn WorkerTx;

    /// The admin console's operations (admins, flow releases and drafts) in this unit of work.
    fn admin(&mut self) -> &mut dyn AdminTx;

    /// Loans: decisions, offers, installments and the worker's events, in this unit of work.
    fn loans(&mut self) -> &mut dyn LoanTx;

    /// Records an audit event as part of this unit of work; returns its id.
    async fn append_audit(&mut self, event: &NewAuditEvent) -> Result<i64, StoreError>;

    /// The newest audit events as this unit of work sees them (its own writes included).
    async fn recent_audit(&mut self, limit: u32) -> Result<Vec<AuditEvent>, StoreError>;

    /// Keeps a verified webhook body; returns its id.
    async fn record_webhook(&mut self, payload: &NewWebhookPayload<'_>) -> Result<i64, StoreError> {
        let ids = self.record_webhooks(std::slice::from_ref(payload)).await?;
        ids.first().copied().ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("no webhook id returned")))
    }

    /// Keeps verified webhook bodies in one statement; returns their ids, in the same order.
    async fn record_webhooks(&mut self, payloads: &[NewWebhookPayload<'_>]) -> Result<Vec<i64>, StoreError>;

    /// Forgets webhook payload `id`, kept earlier in this unit of work: it brought nothing new
    /// (a redelivery), and a second copy of a message is a second copy of whatever secret it
    /// carried.
    async fn drop_webhook(&mut self, id: i64) -> Result<(), StoreError>;

    /// Replaces webhook payload `id`'s body (kept earlier in this unit of work) with `body`.
    async fn replace_webhook_body(&mut self, id: i64, body: &[u8]) -> Result<(), StoreError>;

    /// Queues an inbound message unless its message id is already queued (atomically, whatever
    /// else runs at the same time); true when it was new.
    async fn enqueue_inbound(&mut self, message: &NewInboxMessage<'_>) -> Result<bool, StoreError> {
        Ok(self.enqueue_inbound_all(std::slice::from_ref(message)).await?.first() == Some(&true))
    }

    /// [`SqlTx::enqueue_inbound`] for each of `messages`, in one statement and in their order;
    /// for each, whether it was new (of two with one message id, only the first can be).
    async fn enqueue_inbound_all(
        &mut self,
        messages: &[NewInboxMessage<'_>],
    ) -> Result<Vec<bool>, StoreError>;

    /// Stores a delivery status if it moves the message forward (a higher rank than the stored
    /// one, which `failed` always is and nothing beats); true when it changed anything.
    async fn apply_delivery_status(&mut self, status: &DeliveryStatus) -> Result<bool, StoreError>;

    /// Ends `owner`'s lease on message `seq` with `finish`; false (and nothing changed) when the
    /// lease is no longer `owner`'s, because it expired and another dispatcher took the message
    /// over. The caller then rolls back, so the message's replies are queued once.
    async fn finish_inbound(
        &mut self,
        seq: i64,
        owner: &str,
        finish: Finish,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// [`SqlTx::finish_inbound`] for a round's messages at once: for each, in order, whether
    /// `owner` still held its lease (and so finished it).
    async fn finish_inbound_all(
        &mut self,
        owner: &str,
        now: DateTime<Utc>,
        finished: &[(i64, Finish)],
    ) -> Result<Vec<bool>, StoreError> {
        let mut held = Vec::with_capacity(finished.len());
        for (seq, finish) in finished {
            held.push(self.finish_inbound(*seq, owner, *finish, now).await?);
        }
        Ok(held)
    }

    /// Brings the end of `owner`'s lease on message `seq` forward to `at`, so that it is tried
    /// again then rather than when the lease would have run out; false (and nothing changed)
    /// when the lease is no longer `owner`'s.
    async fn retry_inbound_at(
        &mut self,
        seq: i64,
        owner: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Replaces inbound message `seq`'s stored form with `message` (its secret text removed),
    /// and the raw webhook body it came in with a marker saying why it is gone.
    async fn redact_inbound(&mut self, seq: i64, message: &serde_json::Value) -> Result<(), StoreError>;

    /// Queues a reply; returns its id.
    async fn enqueue_outbound(&mut self, message: &NewOutboxMessage<'_>) -> Result<i64, StoreError> {
        let ids = self.enqueue_outbound_all(std::slice::from_ref(message)).await?;
        ids.first().copied().ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("no outbox id returned")))
    }

    /// Queues replies in one statement, in their order (which is their queue order); returns
    /// their ids in the same order.
    async fn enqueue_outbound_all(
        &mut self,
        messages: &[NewOutboxMessage<'_>],
    ) -> Result<Vec<i64>, StoreError>;

    /// Records how a leased reply ended; `false` (and nothing changed) if `owner` no longer
    /// holds its lease.
    async fn settle_outbound(
        &mut self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        settlement: &Settlement,
    ) -> Result<bool, StoreError>;

    /// [`SqlTx::settle_outbound`] for a round's replies at once: for each, in order, whether
    /// `owner` still held its lease (and so recorded it).
    async fn settle_outbound_all(
        &mut self,
        owner: &str,
        now: DateTime<Utc>,
        settled: &[(i64, Settlement)],
    ) -> Result<Vec<bool>, StoreError> {
        let mut held = Vec::with_capacity(settled.len());
        for (id, settlement) in settled {
            held.push(self.settle_outbound(*id, owner, now, settlement).await?);
        }
        Ok(held)
    }

    /// Meta reported (in a failed status, error 131047) that the sent reply `id` fell outside the
    /// 24-hour window after all: it is recorded `outside_window`. `false` if it was not `sent`.
    async fn outbound_outside_window(&mut self, id: i64, code: i64) -> Result<bool, StoreError>;

    /// Makes every change in this unit of work durable and visible, or none of them.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;

    /// Discards every change in this unit of work.
    async fn rollback(self: Box<Self>) -> Result<(), StoreError>;
}

/// Opens the adapter that `config` names. The pool connects lazily: an unreachable database is
/// reported by the first query (and by `/health`), and the pool recovers when it comes back.
pub async fn connect(config: &DatabaseConfig) -> Result<Arc<dyn SqlStore>, StoreError> {
    Ok(match config.backend {
        SqlBackend::Postgres => Arc::new(postgres::PostgresStore::connect(config)?),
        SqlBackend::Sqlite => Arc::new(sqlite::SqliteStore::connect(config).await?),
    })
}
