//! The business account's own webhooks (not customers' messages): a template's review status
//! and quality, and the phone number's quality rating and messaging limit. Meta treats their
//! values as open sets, so they are kept as the words Meta sent, upper case, bounded in length.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The webhook fields read here; `account_update` and `flows` are logged and kept raw.
pub const FIELDS: [&str; 5] = [
    "message_template_status_update",
    "message_template_quality_update",
    "phone_number_quality_update",
    "account_update",
    "flows",
];

/// The longest value kept from one of these fields (Meta's are short words).
const MAX_VALUE: usize = 64;

/// Something Meta said about the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountEvent {
    /// A template's review status changed (`APPROVED`, `PAUSED`, `DISABLED`, `REJECTED`…).
    TemplateStatus {
        /// The template.
        template: TemplateRef,
        /// The new status.
        status: String,
        /// Why, when Meta says (a rejection reason, a pause's title).
        reason: Option<String>,
    },
    /// A template's quality score changed (`GREEN`, `YELLOW`, `RED`, `UNKNOWN`).
    TemplateQuality {
        /// The template.
        template: TemplateRef,
        /// The new score.
        quality: String,
    },
    /// The phone number's rating or messaging limit changed.
    NumberQuality {
        /// The number as displayed.
        number: String,
        /// `FLAGGED`, `UNFLAGGED`, `UPGRADE`, `DOWNGRADE`, `ONBOARDING`…
        event: String,
        /// The messaging limit now (`TIER_2K`…), when given.
        tier: Option<String>,
    },
    /// An account or Flows event teller only records and reports.
    Other {
        /// The webhook field.
        field: String,
        /// Its `event`, when it has one.
        event: Option<String>,
    },
}

/// A template as Meta names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRef {
    /// Meta's id (a number on the wire).
    pub id: Option<String>,
    /// Its name.
    pub name: String,
    /// Its language, e.g. `en_US`.
    pub language: String,
}

/// When the entry says the change happened (`entry.time`), else now.
pub fn when(time: Option<i64>) -> DateTime<Utc> {
    time.and_then(|t| DateTime::from_timestamp(t, 0)).unwrap_or_else(Utc::now)
}

fn word(value: &Value, key: &str) -> Option<String> {
    let text = value.get(key).and_then(Value::as_str)?.trim();
    (!text.is_empty() && text.len() <= MAX_VALUE).then(|| text.to_uppercase())
}

fn template(value: &Value) -> Result<TemplateRef, String> {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty());
    let name =
        text("message_template_name").filter(|n| n.len() <= 512).ok_or("a template event without a name")?;
    let language = text("message_template_language")
        .filter(|l| l.len() <= 16)
        .ok_or("a template event without a language")?;
    let id = match value.get("message_template_id") {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) if s.len() <= 32 => Some(s.clone()),
        _ => None,
    };
    Ok(TemplateRef { id, name: name.to_owned(), language: language.to_owned() })
}

/// Reads the `value` of a change on `field` (one of [`FIELDS`]).
pub fn read(field: &str, value: &Value) -> Result<AccountEvent, String> {
    match field {
        "message_template_status_update" => {
            let status = word(value, "event").ok_or("a template status event without its event")?;
            let reason = word(value, "reason")
                .filter(|r| r != "NONE")
                .or_else(|| value.get("other_info").and_then(|info| word(info, "title")));
            Ok(AccountEvent::TemplateStatus { template: template(value)?, status, reason })
        }
        "message_template_quality_update" => {
            let quality =
                word(value, "new_quality_score").ok_or("a template quality event without its score")?;
            Ok(AccountEvent::TemplateQuality { template: template(value)?, quality })
        }
        "phone_number_quality_update" => {
            let number = value
                .get("display_phone_number")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty() && n.len() <= 20)
                .ok_or("a number quality event without its number")?;
            let event = word(value, "event").ok_or("a number quality event without its event")?;
            // `current_limit` is going away; the shared limit replaces it.
            let tier =
                word(value, "max_daily_conversations_per_business").or_else(|| word(value, "current_limit"));
            Ok(AccountEvent::NumberQuality { number: number.to_owned(), event, tier })
        }
        other => Ok(AccountEvent::Other { field: other.to_owned(), event: word(value, "event") }),
    }
}

/// Whether a template in `status` can be sent: only an approved one (a new one is unknown,
/// and counts as sendable until Meta says otherwise).
pub fn sendable(status: &str) -> bool {
    matches!(status, "APPROVED" | "UNKNOWN")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn template_and_number_events_read_as_meta_sends_them() {
        let fixture: Value = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/whatsapp/13_template_status_and_quality.json"
        )))
        .unwrap();
        let changes = fixture["entry"][0]["changes"].as_array().unwrap();
        let template = TemplateRef {
            id: Some("804417730052213".into()),
            name: "teller_low_balance_alert".into(),
            language: "en_US".into(),
        };
        assert_eq!(
            read("message_template_status_update", &changes[0]["value"]),
            Ok(AccountEvent::TemplateStatus {
                template: template.clone(),
                status: "PAUSED".into(),
                reason: Some("FIRST_PAUSE".into())
            })
        );
        assert_eq!(
            read("message_template_quality_update", &changes[1]["value"]),
            Ok(AccountEvent::TemplateQuality { template, quality: "RED".into() })
        );
        let downgrade = json!({"display_phone_number": "15550123456", "event": "DOWNGRADE",
                               "old_limit": "TIER_10K", "current_limit": "TIER_2K"});
        assert_eq!(
            read("phone_number_quality_update", &downgrade),
            Ok(AccountEvent::NumberQuality {
                number: "15550123456".into(),
                event: "DOWNGRADE".into(),
                tier: Some("TIER_2K".into())
            })
        );
    }

    #[test]
    fn events_missing_what_identifies_them_are_problems_not_guesses() {
        assert!(read("message_template_status_update", &json!({"event": "PAUSED"})).is_err());
        assert!(read("message_template_quality_update", &json!({"message_template_name": "x"})).is_err());
        assert!(read("phone_number_quality_update", &json!({"event": "FLAGGED"})).is_err());
        let long = "X".repeat(100);
        let event = json!({"event": long, "message_template_name": "a", "message_template_language": "en"});
        assert!(read("message_template_status_update", &event).is_err(), "an over-long word is not kept");
        assert!(sendable("APPROVED") && !sendable("PAUSED") && !sendable("DISABLED"));
    }
}
