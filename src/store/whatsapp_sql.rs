//! [`WhatsAppTx`] for both adapters at once, as `care_sql.rs` does for care.

use chrono::{DateTime, Utc};

use super::StoreError;
use super::backend::{Backend, RowsAffected};
use super::whatsapp::*;

#[async_trait::async_trait]
impl<T> WhatsAppTx for T
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
    for<'r> TemplateRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> NumberRow: sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
    for<'r> (String,): sqlx::FromRow<'r, <T::Db as sqlx::Database>::Row>,
{
    async fn set_template_status(
        &mut self,
        template: TemplateKey<'_>,
        status: &str,
        reason: Option<&str>,
        reported: Reported,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO whatsapp_templates
                 (name, language, template_id, status, status_reason, status_at, status_seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (name, language) DO UPDATE SET
                 status = excluded.status, status_reason = excluded.status_reason,
                 status_at = excluded.status_at, status_seq = excluded.status_seq,
                 template_id = COALESCE(excluded.template_id, whatsapp_templates.template_id)
             WHERE whatsapp_templates.status_at IS NULL
                OR whatsapp_templates.status_at < excluded.status_at
                OR (whatsapp_templates.status_at = excluded.status_at
                    AND whatsapp_templates.status_seq < excluded.status_seq)",
        )
        .bind(template.name)
        .bind(template.language)
        .bind(template.id)
        .bind(status)
        .bind(reason)
        .bind(reported.at)
        .bind(reported.seq)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn set_template_quality(
        &mut self,
        template: TemplateKey<'_>,
        quality: &str,
        reported: Reported,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO whatsapp_templates (name, language, template_id, quality, quality_at, quality_seq)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (name, language) DO UPDATE SET
                 quality = excluded.quality, quality_at = excluded.quality_at,
                 quality_seq = excluded.quality_seq,
                 template_id = COALESCE(excluded.template_id, whatsapp_templates.template_id)
             WHERE whatsapp_templates.quality_at IS NULL
                OR whatsapp_templates.quality_at < excluded.quality_at
                OR (whatsapp_templates.quality_at = excluded.quality_at
                    AND whatsapp_templates.quality_seq < excluded.quality_seq)",
        )
        .bind(template.name)
        .bind(template.language)
        .bind(template.id)
        .bind(quality)
        .bind(reported.at)
        .bind(reported.seq)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn set_number_quality(
        &mut self,
        number: &str,
        event: &str,
        tier: Option<&str>,
        reported: Reported,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO whatsapp_numbers (display_phone_number, event, tier, updated_at, seq)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (display_phone_number) DO UPDATE SET
                 event = excluded.event, tier = COALESCE(excluded.tier, whatsapp_numbers.tier),
                 updated_at = excluded.updated_at, seq = excluded.seq
             WHERE whatsapp_numbers.updated_at < excluded.updated_at
                OR (whatsapp_numbers.updated_at = excluded.updated_at AND whatsapp_numbers.seq < excluded.seq)",
        )
        .bind(number)
        .bind(event)
        .bind(tier)
        .bind(reported.at)
        .bind(reported.seq)
        .execute(self.conn())
        .await?;
        Ok(done.rows() == 1)
    }

    async fn templates(&mut self) -> Result<Vec<TemplateRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT name, language, template_id, status, status_reason, status_at, quality, quality_at
             FROM whatsapp_templates ORDER BY name, language LIMIT 500",
        )
        .fetch_all(self.conn())
        .await?)
    }

    async fn numbers(&mut self) -> Result<Vec<NumberRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT display_phone_number, event, tier, updated_at FROM whatsapp_numbers
             ORDER BY display_phone_number LIMIT 100",
        )
        .fetch_all(self.conn())
        .await?)
    }

    async fn release_held_sends(&mut self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox_messages SET next_attempt_at = $1
             WHERE state = 'pending' AND lease_owner IS NULL AND next_attempt_at > $1",
        )
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows())
    }

    async fn set_flow_screens(
        &mut self,
        name: &str,
        flow_id: &str,
        screens: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let screens = screens.join(" ");
        sqlx::query(
            "INSERT INTO whatsapp_flows (name, flow_id, screens, recorded_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE SET flow_id = excluded.flow_id, screens = excluded.screens,
                 recorded_at = excluded.recorded_at",
        )
        .bind(name)
        .bind(flow_id)
        .bind(screens.as_str())
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn flow_screens(&mut self, name: &str) -> Result<Option<Vec<String>>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT screens FROM whatsapp_flows WHERE name = $1")
            .bind(name)
            .fetch_optional(self.conn())
            .await?;
        Ok(row.map(|(screens,)| screens.split_whitespace().map(str::to_owned).collect()))
    }

    async fn templates_named(
        &mut self,
        name: &str,
        language: &str,
    ) -> Result<Option<TemplateRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT name, language, template_id, status, status_reason, status_at, quality, quality_at
             FROM whatsapp_templates WHERE name = $1 AND language = $2",
        )
        .bind(name)
        .bind(language)
        .fetch_optional(self.conn())
        .await?)
    }
}
