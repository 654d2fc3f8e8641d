//! A form (a WhatsApp Flow message) that Meta will not send, say because the Flow is throttled
//! or blocked for the endpoint's health, or unpublished: its question goes as text instead, so
//! the customer is never left without it (the typed answer is taken, and removed from the inbox
//! once handled). The Flow's health raises its own alert.

use serde_json::{Value, json};

/// The text message that asks what the form `body` asks, when `body` is a form.
pub(super) fn as_text(body: &Value) -> Option<Value> {
    let interactive = body.get("interactive").filter(|i| i["type"] == "flow")?;
    let text = interactive.pointer("/body/text")?.as_str()?;
    Some(json!({ "type": "text", "text": { "body": text, "preview_url": false } }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_becomes_its_question_as_text_and_nothing_else_changes() {
        let form = json!({"type": "interactive", "interactive": {"type": "flow",
            "body": {"text": "Enter your PIN to send ₦5,000.00"}, "action": {"name": "flow"}}});
        assert_eq!(
            as_text(&form),
            Some(
                json!({"type": "text", "text": {"body": "Enter your PIN to send ₦5,000.00", "preview_url": false}})
            )
        );
        let buttons =
            json!({"type": "interactive", "interactive": {"type": "button", "body": {"text": "Pick"}}});
        assert_eq!(as_text(&buttons), None);
        assert_eq!(as_text(&json!({"type": "text", "text": {"body": "hi"}})), None);
    }
}
