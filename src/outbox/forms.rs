//! A form (a WhatsApp Flow message) that Meta will not send, say because the Flow is throttled
//! or blocked for the endpoint's health, or unpublished: its question goes as text instead, so
//! the customer is never left without it (the typed answer is taken, and removed from the inbox
//! once handled). The Flow's health raises its own alert.

use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::whatsapp::outbound::raw;

/// The text message that asks what the form `body` asks, when `body` is a form.
pub(super) fn as_text(body: &RawValue) -> Option<Box<RawValue>> {
    let body: Value = serde_json::from_str(body.get()).ok()?;
    let interactive = body.get("interactive").filter(|i| i["type"] == "flow")?;
    let text = interactive.pointer("/body/text")?.as_str()?;
    Some(raw(&json!({ "type": "text", "text": { "body": text, "preview_url": false } })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_becomes_its_question_as_text_and_nothing_else_changes() {
        let form = json!({"type": "interactive", "interactive": {"type": "flow",
            "body": {"text": "Enter your PIN to send ₦5,000.00"}, "action": {"name": "flow"}}});
        let text =
            |body: &Value| as_text(&raw(body)).map(|t| serde_json::from_str::<Value>(t.get()).unwrap());
        assert_eq!(
            text(&form),
            Some(
                json!({"type": "text", "text": {"body": "Enter your PIN to send ₦5,000.00", "preview_url": false}})
            )
        );
        let buttons =
            json!({"type": "interactive", "interactive": {"type": "button", "body": {"text": "Pick"}}});
        assert_eq!(text(&buttons), None);
        assert_eq!(text(&json!({"type": "text", "text": {"body": "hi"}})), None);
    }
}
