//! Template sends held while Meta has the template paused or disabled: deferred, looked at
//! again every [`RECHECK`], and sent once Meta reports it approved (the account webhook wakes
//! the sender), never sent into Meta's refusal again and again. A refusal Meta gives at send
//! time (132015 paused, 132016 disabled) is recorded as the template's status, so the next
//! sends wait without asking. Meta's longest pause is 6 hours: a pause only teller saw, older
//! than that, is tried once more, in case the approval's webhook was lost.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::whatsapp::{Reported, TemplateKey};
use crate::store::{SqlStore, StoreError};
use crate::whatsapp::account::sendable;

use super::glance::Glance;

/// How often a held send looks at its template again.
pub(super) const RECHECK: Duration = Duration::from_secs(15 * 60);
/// Meta's error for a paused template.
const PAUSED: i64 = 132_015;
/// Meta's error for a disabled template.
const DISABLED: i64 = 132_016;
/// The reason recorded when the refusal came from a send, not a webhook.
const SEEN_AT_SEND: &str = "REFUSED_AT_SEND";
/// Meta's longest pause.
const LONGEST_PAUSE: chrono::TimeDelta = chrono::TimeDelta::hours(6);

/// The template a message body sends: its name and language code.
fn template_of(body: &Glance) -> Option<(&str, &str)> {
    let template = body.template.as_ref()?;
    Some((template.name.as_str(), template.language.code.as_str()))
}

/// Whether `body` is a template Meta has paused or disabled as of `now`: then it waits.
pub(super) async fn held(
    store: &dyn SqlStore,
    body: &Glance,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some((name, language)) = template_of(body) else { return Ok(false) };
    let mut tx = store.begin().await?;
    let row = tx.whatsapp().templates_named(name, language).await?;
    tx.rollback().await?;
    let Some(row) = row else { return Ok(false) };
    if sendable(&row.status) {
        return Ok(false);
    }
    let seen_only_by_us = row.status == "PAUSED" && row.status_reason.as_deref() == Some(SEEN_AT_SEND);
    let long_ago = row.status_at.is_some_and(|at| now - at > LONGEST_PAUSE);
    if seen_only_by_us && long_ago {
        return Ok(false);
    }
    tracing::info!(
        template = name,
        status = row.status,
        "a template send waits until Meta approves the template again"
    );
    Ok(true)
}

/// Whether `code` is Meta refusing a paused or disabled template.
pub(super) fn refused(code: Option<i64>) -> bool {
    matches!(code, Some(PAUSED | DISABLED))
}

/// Records Meta's send-time refusal `code` of `body`'s template as its status.
pub(super) async fn record_refusal(
    store: &dyn SqlStore,
    body: &Glance,
    code: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some((name, language)) = template_of(body) else { return Ok(()) };
    let status = if code == Some(DISABLED) { "DISABLED" } else { "PAUSED" };
    tracing::error!(
        template = name,
        status,
        "Meta refused a template send: its sends wait until it is approved again"
    );
    let mut tx = store.begin().await?;
    let key = TemplateKey { name, language, id: None };
    tx.whatsapp().set_template_status(key, status, Some(SEEN_AT_SEND), Reported { at: now, seq: 0 }).await?;
    tx.commit().await
}
