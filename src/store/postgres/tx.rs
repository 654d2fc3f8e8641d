//! The PostgreSQL unit of work: `SqlTx` with the claims and settlements that take
//! PostgreSQL's own SQL (advisory locks, `SKIP LOCKED`, `UPDATE … FROM unnest`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::RECENT_AUDIT;
use crate::store::audit::AuditRow;
use crate::store::{
    AuditEvent, DeliveryStatus, Finish, NewAuditEvent, NewInboxMessage, NewOutboxMessage, NewWebhookPayload,
    Settlement, SqlTx, StoreError,
};
use sqlx::{Postgres, Transaction};

pub(super) struct PostgresTx {
    pub(super) tx: Transaction<'static, Postgres>,
}

#[async_trait]
impl SqlTx for PostgresTx {
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

    async fn finish_inbound_all(
        &mut self,
        owner: &str,
        now: DateTime<Utc>,
        finished: &[(i64, Finish)],
    ) -> Result<Vec<bool>, StoreError> {
        if finished.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for the round, not one per message: the same fence, row by row, its
        // rows taken by key (see the module `postgres` on queue rows by key).
        let seqs: Vec<i64> = finished.iter().map(|(seq, _)| *seq).collect();
        let states: Vec<&str> = finished.iter().map(|(_, finish)| finish.as_str()).collect();
        let done: Vec<i64> = sqlx::query_scalar(
            "UPDATE inbox_messages m
             SET state = f.state, processed_at = $3, lease_owner = NULL, leased_until = NULL
             FROM unnest($1::bigint[], $2::text[]) AS f(seq, state)
             WHERE m.seq = f.seq AND m.lease_owner = $4 AND (m.state || '') = 'pending'
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

    async fn settle_outbound_all(
        &mut self,
        owner: &str,
        now: DateTime<Utc>,
        settled: &[(i64, Settlement)],
    ) -> Result<Vec<bool>, StoreError> {
        settle_all(&mut *self.tx, owner, now, settled).await
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

/// Records a round of sends' outcomes in one statement (`SqlTx::settle_outbound_all`), in a
/// unit of work or on its own (`SqlStore::settle_outbound_all`): each settlement's columns as
/// parallel arrays, and the same changes `settle_outbound` makes for its kind, fenced by the
/// lease row by row, its rows taken by key (see the module `postgres` on queue rows by key).
pub(super) async fn settle_all<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    owner: &str,
    now: DateTime<Utc>,
    settled: &[(i64, Settlement)],
) -> Result<Vec<bool>, StoreError> {
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
         WHERE o.id = s.id AND o.lease_owner = $10 AND (o.state || '') = 'pending'
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
    .fetch_all(executor)
    .await?;
    Ok(rows.ids.iter().map(|id| recorded.contains(id)).collect())
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

impl crate::store::backend::Backend for PostgresTx {
    const POSTGRES: bool = true;
    type Db = Postgres;

    fn conn(&mut self) -> &mut <Postgres as sqlx::Database>::Connection {
        &mut self.tx
    }
}
