//! A message whose button opens a form (a WhatsApp Flow), within Meta's limits like every
//! other outbound message.

use serde_json::{Value, json};

use super::outbound::{
    BUTTON_ID_MAX, INTERACTIVE_BODY_MAX, LimitError, Outbound, ROW_ID_MAX, TEMPLATE_NAME_MAX, id, required,
};

/// The label of the button that opens a form.
pub const FORM_CTA_MAX: usize = 20;

/// A message whose button opens a form (a WhatsApp Flow) on `screen`, given `data`; the form's
/// answers go to teller's Flows endpoint under `token`, never into the chat.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    body: String,
    cta: String,
    flow_name: String,
    token: String,
    screen: String,
    data: Value,
}

impl Form {
    /// `body` (at most 1024) and the button's label `cta` (at most 20, no emoji) opening the
    /// published Flow `flow_name` on `screen` with `data` (a JSON object).
    pub fn new(
        body: impl Into<String>,
        cta: impl Into<String>,
        flow_name: impl Into<String>,
        token: impl Into<String>,
        screen: impl Into<String>,
        data: Value,
    ) -> Result<Self, LimitError> {
        let (body, cta, flow_name, token, screen) =
            (body.into(), cta.into(), flow_name.into(), token.into(), screen.into());
        required("interactive body", &body, INTERACTIVE_BODY_MAX)?;
        required("form button", &cta, FORM_CTA_MAX)?;
        if cta.chars().any(|c| u32::from(c) > 0x2000) {
            return Err(LimitError::Invalid {
                field: "form button",
                reason: "must not hold emoji or symbols",
            });
        }
        id("flow name", &flow_name, TEMPLATE_NAME_MAX)?;
        id("flow token", &token, BUTTON_ID_MAX)?;
        id("form screen", &screen, ROW_ID_MAX)?;
        if data.as_object().is_none_or(serde_json::Map::is_empty) {
            return Err(LimitError::Invalid { field: "form data", reason: "must be a non-empty object" });
        }
        Ok(Form { body, cta, flow_name, token, screen, data })
    }

    /// The token the form's answers come back under.
    pub fn token(&self) -> &str {
        &self.token
    }

    pub(super) fn to_body(&self) -> Value {
        let mut body = json!({ "type": "interactive", "interactive": {
            "type": "flow",
            "body": { "text": self.body },
            "action": { "name": "flow", "parameters": {
                "flow_message_version": "3",
                "flow_token": self.token,
                "flow_name": self.flow_name,
                "flow_cta": self.cta,
                "flow_action": "navigate",
                "flow_action_payload": { "screen": self.screen },
            } },
        } });
        // Cloned, not given to `json!`, which would copy it by serializing it again.
        body["interactive"]["action"]["parameters"]["flow_action_payload"]["data"] = self.data.clone();
        body
    }
}

impl From<Form> for Outbound {
    fn from(f: Form) -> Self {
        Outbound::Form(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_opens_its_flow_on_its_screen_and_keeps_to_the_limits() {
        let data = json!({ "prompt": "Enter your PIN", "error_message": "" });
        let form = Form::new(
            "Enter your PIN to send ₦5,000",
            "Enter PIN",
            "teller_forms",
            "ft_1",
            "PIN_ENTRY",
            data.clone(),
        )
        .unwrap();
        let body = Outbound::from(form).to_body();
        assert_eq!(body["interactive"]["type"], "flow");
        let parameters = &body["interactive"]["action"]["parameters"];
        assert_eq!(parameters["flow_message_version"], "3");
        assert_eq!(parameters["flow_token"], "ft_1");
        assert_eq!(parameters["flow_name"], "teller_forms");
        assert_eq!(parameters["flow_action_payload"]["screen"], "PIN_ENTRY");
        assert_eq!(parameters["flow_action_payload"]["data"], data);
        let long = Form::new("b", "Enter your PIN right now", "f", "t", "S", data.clone());
        assert!(matches!(long, Err(LimitError::TooLong { .. })), "{long:?}");
        assert!(Form::new("b", "PIN 🔒", "f", "t", "S", data.clone()).is_err(), "no emoji on the button");
        assert!(Form::new("b", "PIN", "f", "t", "S", json!({})).is_err(), "data must not be empty");
    }
}
