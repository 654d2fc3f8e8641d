//! A glance at a stored reply's body: what the sender needs to know of it (its type, the
//! template it sends), read without building its tree, since the body itself goes to Meta as it
//! was stored.

use serde::Deserialize;
use serde_json::value::RawValue;

/// What the sender needs to know of a stored message body, read without building its tree:
/// its type, and the template it sends, if any.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Glance {
    /// `text`, `interactive`, `template`…
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    /// The template's name and language, for a template.
    pub(super) template: Option<TemplateName>,
}

/// A template a body sends, by its name and language code.
#[derive(Debug, Deserialize)]
pub(super) struct TemplateName {
    /// Its name.
    pub(super) name: String,
    /// Its language.
    pub(super) language: TemplateLanguage,
}

/// A template's language, as Meta writes it.
#[derive(Debug, Deserialize)]
pub(super) struct TemplateLanguage {
    /// `en`, `en_US`…
    pub(super) code: String,
}

impl Glance {
    /// A glance at `body` (nothing, when it is not an object).
    pub(super) fn of(body: &RawValue) -> Glance {
        serde_json::from_str(body.get()).unwrap_or_default()
    }

    /// Whether the body is a template (which may go outside the 24-hour window).
    pub(super) fn is_template(&self) -> bool {
        self.kind.as_deref() == Some("template")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::whatsapp::outbound::{Outbound, Template, Text, raw};

    #[test]
    fn a_glance_sees_a_template_and_its_name_and_nothing_in_other_bodies() {
        let t = Template::new("reopen_chat", "en", vec!["Ada".into()]).unwrap();
        let glance = Glance::of(&raw(&Outbound::from(t).to_body()));
        assert!(glance.is_template());
        let name = glance.template.as_ref().map(|t| (t.name.as_str(), t.language.code.as_str()));
        assert_eq!(name, Some(("reopen_chat", "en")));
        let text = Glance::of(&raw(&Outbound::from(Text::new("hi").unwrap()).to_body()));
        assert!(!text.is_template() && text.template.is_none());
        assert_eq!(text.kind.as_deref(), Some("text"));
        assert!(!Glance::of(&raw(&json!("template"))).is_template(), "a body that is not an object");
    }
}
