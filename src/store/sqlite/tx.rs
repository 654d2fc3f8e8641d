//! The SQLite unit of work: `SqlTx` on a transaction begun with `BEGIN IMMEDIATE`, holding
//! its writer's turn ([`super::WriteTurns`]) until it ends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Sqlite, Transaction};
use tokio::sync::OwnedMutexGuard;

use super::RECENT_AUDIT;
use crate::store::audit::AuditRow;
use crate::store::{
    AuditEvent, DeliveryStatus, Finish, NewAuditEvent, NewInboxMessage, NewOutboxMessage, NewWebhookPayload,
    Settlement, SqlTx, StoreError,
};

/// A unit of work: it holds the write lock from `BEGIN IMMEDIATE` to its end, and its turn at it
/// until then. The turn is declared after the transaction so that it is given up only once the
/// transaction has been (or, dropped unfinished, is queued to be) rolled back.
pub(super) struct SqliteTx {
    pub(super) tx: Transaction<'static, Sqlite>,
    pub(super) _turn: OwnedMutexGuard<()>,
}

#[async_trait]
impl SqlTx for SqliteTx {
    fn customers(&mut self) -> &mut dyn crate::store::CustomersTx {
        self
    }

    fn care(&mut self) -> &mut dyn crate::store::CareTx {
        self
    }

    fn providers(&mut self) -> &mut dyn crate::store::ProvidersTx {
        self
    }

    fn operations(&mut self) -> &mut dyn crate::store::OperationsTx {
        self
    }

    fn whatsapp(&mut self) -> &mut dyn crate::store::WhatsAppTx {
        self
    }

    fn bank(&mut self) -> &mut dyn crate::store::BankTx {
        self
    }

    fn worker(&mut self) -> &mut dyn crate::store::WorkerTx {
        self
    }

    fn admin(&mut self) -> &mut dyn crate::store::AdminTx {
        self
    }

    fn loans(&mut self) -> &mut dyn crate::store::LoanTx {
        self
    }

    async fn append_audit(&mut self, event: &NewAuditEvent) -> Result<i64, StoreError> {
        let id = sqlx::query_scalar(crate::store::shared::INSERT_AUDIT_EVENTS)
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

    async fn record_webhooks(&mut self, payloads: &[NewWebhookPayload<'_>]) -> Result<Vec<i64>, StoreError> {
        crate::store::queue_sql::insert_webhooks(self, payloads).await
    }

    async fn drop_webhook(&mut self, id: i64) -> Result<(), StoreError> {
        sqlx::query(crate::store::inbox::DROP_WEBHOOK).bind(id).execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn replace_webhook_body(&mut self, id: i64, body: &[u8]) -> Result<(), StoreError> {
        sqlx::query(crate::store::inbox::REPLACE_WEBHOOK_BODY)
            .bind(id)
            .bind(body)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn enqueue_inbound_all(
        &mut self,
        messages: &[NewInboxMessage<'_>],
    ) -> Result<Vec<bool>, StoreError> {
        crate::store::queue_sql::insert_inbound(self, messages).await
    }

    async fn apply_delivery_status(&mut self, status: &DeliveryStatus) -> Result<bool, StoreError> {
        // Only a higher rank replaces the stored status: statuses never move backwards.
        let changed: Option<String> = sqlx::query_scalar(crate::store::shared::INSERT_DELIVERY_STATUSES)
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
        let result = sqlx::query(crate::store::shared::UPDATE_INBOX_MESSAGES_2)
            .bind(seq)
            .bind(owner)
            .bind(finish.as_str())
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn retry_inbound_at(
        &mut self,
        seq: i64,
        owner: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(crate::store::dispatch::RETRY_INBOUND_AT)
            .bind(seq)
            .bind(owner)
            .bind(at)
            .execute(&mut *self.tx)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn redact_inbound(&mut self, seq: i64, message: &serde_json::Value) -> Result<(), StoreError> {
        sqlx::query(crate::store::shared::UPDATE_INBOX_MESSAGES)
            .bind(seq)
            .bind(sqlx::types::Json(message))
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(crate::store::shared::UPDATE_WEBHOOK_PAYLOADS)
            .bind(seq)
            .bind(crate::store::REDACTED_PAYLOAD)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn enqueue_outbound_all(
        &mut self,
        messages: &[NewOutboxMessage<'_>],
    ) -> Result<Vec<i64>, StoreError> {
        crate::store::queue_sql::insert_outbound(self, messages).await
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
                sqlx::query(crate::store::shared::UPDATE_OUTBOX_MESSAGES_5)
                    .bind(id)
                    .bind(owner)
                    .bind(provider_message_id)
                    .bind(*via_template)
                    .bind(now)
            }
            Settlement::Failed { outside_window, code, message } => {
                sqlx::query(crate::store::shared::UPDATE_OUTBOX_MESSAGES_3)
                    .bind(id)
                    .bind(owner)
                    .bind(if *outside_window { "outside_window" } else { "failed" })
                    .bind(code)
                    .bind(message)
                    .bind(now)
            }
            Settlement::Retry { at, code, message } => {
                sqlx::query(crate::store::shared::UPDATE_OUTBOX_MESSAGES_2)
                    .bind(id)
                    .bind(owner)
                    .bind(at)
                    .bind(code)
                    .bind(message)
            }
            Settlement::Postpone { at } => {
                sqlx::query(crate::store::shared::UPDATE_OUTBOX_MESSAGES).bind(id).bind(owner).bind(at)
            }
        };
        let result = query.execute(&mut *self.tx).await?;
        Ok(result.rows_affected() == 1)
    }

    async fn outbound_outside_window(&mut self, id: i64, code: i64) -> Result<bool, StoreError> {
        let result = sqlx::query(crate::store::shared::UPDATE_OUTBOX_MESSAGES_4)
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

impl crate::store::backend::Backend for SqliteTx {
    const POSTGRES: bool = false;
    type Db = Sqlite;

    fn conn(&mut self) -> &mut <Sqlite as sqlx::Database>::Connection {
        &mut self.tx
    }
}
