//! Releases as the people who run the bank read them: who published (their email, not
//! `admin:1`), the draft's title, and when, in the bank's time zone with the zone named.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::store_error;
use crate::http::{ApiError, AppState};
use crate::store::ReleaseRow;

/// `at` in `timezone` (an IANA name), with the zone named: "5 Dec 2026, 10:21 WAT (Africa/Lagos)".
pub(crate) fn local_time(timezone: &str, at: DateTime<Utc>) -> String {
    match timezone.parse::<chrono_tz::Tz>() {
        Ok(zone) => format!("{} ({timezone})", at.with_timezone(&zone).format("%-d %b %Y, %H:%M %Z")),
        Err(_) => format!("{} (UTC)", at.format("%-d %b %Y, %H:%M")),
    }
}

/// The people behind actors such as `admin:3`: their emails, for those that are admins
/// ("teller (from the flows folder)" for the baseline; others as they are).
pub(super) async fn people(
    state: &AppState,
    actors: Vec<String>,
) -> Result<HashMap<String, String>, ApiError> {
    let mut tx = state.store.begin().await.map_err(store_error)?;
    let mut named = HashMap::new();
    for actor in actors {
        let actor = actor.as_str();
        if named.contains_key(actor) {
            continue;
        }
        let name = match actor.strip_prefix("admin:").and_then(|id| id.parse::<i64>().ok()) {
            Some(id) => tx.admin().admin_by_id(id).await.map_err(store_error)?.map(|a| a.email),
            None if actor == crate::releases::SYSTEM_FILES => {
                Some("teller (from the flows folder)".to_owned())
            }
            None => None,
        };
        named.insert(actor.to_owned(), name.unwrap_or_else(|| actor.to_owned()));
    }
    tx.rollback().await.map_err(store_error)?;
    Ok(named)
}

/// `releases`, each with `by` (the publisher's email, or "teller" for the baseline), `title`
/// (its draft's) and `at` (local time), beside the stored fields.
pub(super) async fn described(state: &AppState, releases: Vec<ReleaseRow>) -> Result<Vec<Value>, ApiError> {
    let people = people(state, releases.iter().map(|r| r.published_by.clone()).collect()).await?;
    let mut tx = state.store.begin().await.map_err(store_error)?;
    let mut titles: HashMap<i64, Option<String>> = HashMap::new();
    let mut described = Vec::with_capacity(releases.len());
    for release in releases {
        if let Some(id) = release.draft_id.filter(|id| !titles.contains_key(id)) {
            let title = tx.admin().draft(id).await.map_err(store_error)?.map(|d| d.title);
            titles.insert(id, title);
        }
        let title = release.draft_id.and_then(|id| titles.get(&id).cloned().flatten());
        let mut row = serde_json::to_value(&release).map_err(|e| ApiError::Internal(e.into()))?;
        row["by"] = json!(people.get(&release.published_by));
        row["title"] = json!(title);
        row["at"] = json!(local_time(&state.config.bank.timezone, release.published_at));
        described.push(row);
    }
    tx.rollback().await.map_err(store_error)?;
    Ok(described)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_is_shown_in_the_banks_zone_with_the_zone_named() {
        let at = DateTime::parse_from_rfc3339("2026-12-05T09:21:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(local_time("Africa/Lagos", at), "5 Dec 2026, 10:21 WAT (Africa/Lagos)");
        assert_eq!(local_time("Nowhere/Else", at), "5 Dec 2026, 09:21 (UTC)");
    }
}
