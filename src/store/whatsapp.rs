//! The business account's health as stored: templates' review status and quality, and the
//! phone numbers' quality rating and messaging limit, from Meta's account webhooks; and the
//! screens each published Flow holds, from `teller whatsapp flows push`.
//!
//! [`WhatsAppTx`] is implemented once for both adapters in `whatsapp_sql.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// A template as last reported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct TemplateRow {
    /// Its name.
    pub name: String,
    /// Its language, e.g. `en_US`.
    pub language: String,
    /// Meta's id.
    pub template_id: Option<String>,
    /// `APPROVED`, `PAUSED`, `DISABLED`, `REJECTED`… (`UNKNOWN` until Meta says).
    pub status: String,
    /// Why, when Meta said.
    pub status_reason: Option<String>,
    /// When the status was reported.
    pub status_at: Option<DateTime<Utc>>,
    /// `GREEN`, `YELLOW`, `RED` or `UNKNOWN`.
    pub quality: String,
    /// When the quality was reported.
    pub quality_at: Option<DateTime<Utc>>,
}

/// A phone number as last reported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct NumberRow {
    /// The number as displayed.
    pub display_phone_number: String,
    /// The last event: `FLAGGED`, `UNFLAGGED`, `UPGRADE`, `DOWNGRADE`…
    pub event: String,
    /// The messaging limit, e.g. `TIER_2K`.
    pub tier: Option<String>,
    /// When it was reported.
    pub updated_at: DateTime<Utc>,
}

/// When Meta reported something: its time, and the event's place in its payload (which orders
/// events of the same second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reported {
    /// Meta's time for it.
    pub at: DateTime<Utc>,
    /// Its place in the payload.
    pub seq: i64,
}

/// A template's name and language, and Meta's id for it.
#[derive(Debug, Clone, Copy)]
pub struct TemplateKey<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its language.
    pub language: &'a str,
    /// Meta's id, when known.
    pub id: Option<&'a str>,
}

/// The account's health in a unit of work.
#[async_trait]
pub trait WhatsAppTx: Send {
    /// Records `template`'s `status` as `reported`; false when the same or a newer report is
    /// already kept.
    async fn set_template_status(
        &mut self,
        template: TemplateKey<'_>,
        status: &str,
        reason: Option<&str>,
        reported: Reported,
    ) -> Result<bool, StoreError>;

    /// Records `template`'s quality score as `reported`; false when the same or a newer one
    /// is kept.
    async fn set_template_quality(
        &mut self,
        template: TemplateKey<'_>,
        quality: &str,
        reported: Reported,
    ) -> Result<bool, StoreError>;

    /// Records a number's quality event and limit as `reported`; false when the same or a
    /// newer one is kept.
    async fn set_number_quality(
        &mut self,
        number: &str,
        event: &str,
        tier: Option<&str>,
        reported: Reported,
    ) -> Result<bool, StoreError>;

    /// Every template reported, by name and language.
    async fn templates(&mut self) -> Result<Vec<TemplateRow>, StoreError>;

    /// Every number reported.
    async fn numbers(&mut self) -> Result<Vec<NumberRow>, StoreError>;

    /// Makes every pending send that waits for a later time due at `now` (a template approved
    /// again: the sends held for it go at once rather than at their next look); how many.
    async fn release_held_sends(&mut self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Records that the Flow `name` (Meta's `flow_id`) was published holding `screens`.
    async fn set_flow_screens(
        &mut self,
        name: &str,
        flow_id: &str,
        screens: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The screens the Flow `name` was recorded with when it was published, if it was.
    async fn flow_screens(&mut self, name: &str) -> Result<Option<Vec<String>>, StoreError>;

    /// Template `name` in `language`, if Meta reported on it.
    async fn templates_named(
        &mut self,
        name: &str,
        language: &str,
    ) -> Result<Option<TemplateRow>, StoreError>;
}
