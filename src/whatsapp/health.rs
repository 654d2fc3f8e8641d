//! The business account's health, kept from Meta's account webhooks: each event recorded
//! (a late, older one never overwrites a newer), and each warning raised as an alert: a log
//! line at error level and a count in `teller_whatsapp_alerts_total{outcome=<kind>}`.

use chrono::{DateTime, Utc};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use super::account::{AccountEvent, sendable};
use crate::metrics::OutcomeLabels;
use crate::store::whatsapp::{Reported, TemplateKey};
use crate::store::{SqlStore, StoreError};

/// What applying a batch of events changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Events recorded (older ones than those kept are not).
    pub recorded: usize,
    /// A template can be sent again: deferred sends may go.
    pub resumed: bool,
}

/// The alert an event raises, if any.
fn alert(event: &AccountEvent) -> Option<&'static str> {
    match event {
        AccountEvent::TemplateStatus { status, .. } => match status.as_str() {
            "PAUSED" => Some("template_paused"),
            "DISABLED" => Some("template_disabled"),
            "REJECTED" => Some("template_rejected"),
            _ => None,
        },
        AccountEvent::TemplateQuality { quality, .. } => (quality == "RED").then_some("template_quality_red"),
        AccountEvent::NumberQuality { event, .. } => match event.as_str() {
            "FLAGGED" => Some("number_flagged"),
            "DOWNGRADE" => Some("number_downgraded"),
            _ => None,
        },
        AccountEvent::Other { field, .. } => match field.as_str() {
            "account_update" => Some("account_update"),
            // The Flows endpoint's health as Meta sees it (error rate, latency, a Flow throttled
            // or blocked): forms may stop opening.
            "flows" => Some("flow_health"),
            _ => None,
        },
    }
}

/// Records `events` (each with the time Meta gave it) in one unit of work, received `now`, then
/// raises their alerts.
pub async fn apply(
    store: &dyn SqlStore,
    events: &[(AccountEvent, DateTime<Utc>)],
    alerts: &Family<OutcomeLabels, Counter>,
    now: DateTime<Utc>,
) -> Result<Applied, StoreError> {
    let mut applied = Applied::default();
    if events.is_empty() {
        return Ok(applied);
    }
    let mut tx = store.begin().await?;
    let mut raised = Vec::new();
    for (seq, (event, at)) in (0_i64..).zip(events) {
        let reported = Reported { at: *at, seq };
        let recorded = match event {
            AccountEvent::TemplateStatus { template, status, reason } => {
                let key = TemplateKey {
                    name: &template.name,
                    language: &template.language,
                    id: template.id.as_deref(),
                };
                let recorded =
                    tx.whatsapp().set_template_status(key, status, reason.as_deref(), reported).await?;
                applied.resumed |= recorded && sendable(status);
                recorded
            }
            AccountEvent::TemplateQuality { template, quality } => {
                let key = TemplateKey {
                    name: &template.name,
                    language: &template.language,
                    id: template.id.as_deref(),
                };
                tx.whatsapp().set_template_quality(key, quality, reported).await?
            }
            AccountEvent::NumberQuality { number, event, tier } => {
                tx.whatsapp().set_number_quality(number, event, tier.as_deref(), reported).await?
            }
            AccountEvent::Other { field, event } => {
                tracing::info!(field, event = ?event, "an account event from Meta was recorded in the inbox");
                false
            }
        };
        applied.recorded += usize::from(recorded);
        if let Some(kind) = alert(event).filter(|_| recorded || matches!(event, AccountEvent::Other { .. })) {
            raised.push((kind, event));
        }
    }
    if applied.resumed {
        let released = tx.whatsapp().release_held_sends(now).await?;
        tracing::info!(released, "a template is approved again: the sends held for it go now");
    }
    tx.commit().await?;
    for (kind, event) in raised {
        alerts.get_or_create(&OutcomeLabels { outcome: kind }).inc();
        tracing::error!(
            alert = kind,
            ?event,
            "WhatsApp warns about the business account: see the console's WhatsApp page"
        );
    }
    Ok(applied)
}
