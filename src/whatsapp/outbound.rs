//! Typed outbound messages that cannot break Meta's limits.
//!
//! Every constructor checks the documented limits when the message is built, counting characters
//! as UTF-16 code units (what Meta's own clients count; the conservative choice where a code point
//! count would let an emoji-heavy title through). A message that exists is one Meta accepts, so
//! an over-long title is a bug reported where it was written, not error 131009 at send time.

use std::collections::HashSet;
use std::fmt;

use serde_json::value::RawValue;
use serde_json::{Value, json};

/// Text message body.
pub const TEXT_BODY_MAX: usize = 4096;
/// Interactive body. The list page allows 4096 but messages over 1024 fail in practice.
pub const INTERACTIVE_BODY_MAX: usize = 1024;
/// Header and footer text.
pub const HEADER_FOOTER_MAX: usize = 60;
/// Reply buttons per message.
pub const BUTTONS_MAX: usize = 3;
/// Reply button title.
pub const BUTTON_TITLE_MAX: usize = 20;
/// Reply button id.
pub const BUTTON_ID_MAX: usize = 256;
/// List sections per message.
pub const SECTIONS_MAX: usize = 10;
/// List rows per message, all sections together.
pub const ROWS_MAX: usize = 10;
/// The label of the button that opens a list.
pub const LIST_BUTTON_MAX: usize = 20;
/// List section title.
pub const SECTION_TITLE_MAX: usize = 24;
/// List row id.
pub const ROW_ID_MAX: usize = 200;
/// List row title.
pub const ROW_TITLE_MAX: usize = 24;
/// List row description.
pub const ROW_DESCRIPTION_MAX: usize = 72;
/// Template name.
pub const TEMPLATE_NAME_MAX: usize = 512;

/// Length as WhatsApp counts it: UTF-16 code units.
pub fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Why a message could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitError {
    /// A field is longer than Meta allows.
    TooLong {
        /// The field, e.g. `button title "Send money now please"`.
        field: String,
        /// Its length in UTF-16 units.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A required field is empty or only spaces.
    Empty(&'static str),
    /// Too many or too few items.
    Count {
        /// What was counted.
        what: &'static str,
        /// How many there were.
        count: usize,
        /// The fewest allowed.
        min: usize,
        /// The most allowed.
        max: usize,
    },
    /// Two buttons or rows share an id or a title.
    Duplicate {
        /// `button id`, `row title`…
        what: &'static str,
        /// The repeated value.
        value: String,
    },
    /// A field has characters Meta refuses there.
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitError::TooLong { field, len, max } => {
                write!(f, "{field} is {len} characters long; WhatsApp allows at most {max}")
            }
            LimitError::Empty(field) => write!(f, "{field} must not be empty"),
            LimitError::Count { what, count, min, max } => {
                write!(f, "{count} {what}; WhatsApp needs from {min} to {max}")
            }
            LimitError::Duplicate { what, value } => {
                write!(f, "two {what}s are both {value:?}; each must be unique")
            }
            LimitError::Invalid { field, reason } => write!(f, "{field} {reason}"),
        }
    }
}

impl std::error::Error for LimitError {}

fn check_len(field: impl FnOnce() -> String, value: &str, max: usize) -> Result<(), LimitError> {
    let len = utf16_len(value);
    if len > max {
        return Err(LimitError::TooLong { field: field(), len, max });
    }
    Ok(())
}

pub(super) fn required(field: &'static str, value: &str, max: usize) -> Result<(), LimitError> {
    if value.trim().is_empty() {
        return Err(LimitError::Empty(field));
    }
    check_len(|| field.to_owned(), value, max)
}

fn count(what: &'static str, n: usize, min: usize, max: usize) -> Result<(), LimitError> {
    if n < min || n > max {
        return Err(LimitError::Count { what, count: n, min, max });
    }
    Ok(())
}

fn unique<'a>(what: &'static str, values: impl Iterator<Item = &'a str>) -> Result<(), LimitError> {
    let mut seen = HashSet::new();
    for value in values {
        if !seen.insert(value) {
            return Err(LimitError::Duplicate { what, value: value.to_owned() });
        }
    }
    Ok(())
}

/// An id Meta echoes back in a reply: no surrounding spaces.
pub(super) fn id(field: &'static str, value: &str, max: usize) -> Result<(), LimitError> {
    required(field, value, max)?;
    if value.trim() != value {
        return Err(LimitError::Invalid { field, reason: "must not start or end with a space" });
    }
    Ok(())
}

/// A message teller can send: valid by construction.
#[derive(Debug, Clone, PartialEq)]
pub enum Outbound {
    /// Plain text.
    Text(Text),
    /// Body with up to three reply buttons.
    Buttons(Buttons),
    /// Body with a button that opens a list of up to ten rows.
    List(List),
    /// A pre-approved template, the only kind allowed outside the 24-hour window.
    Template(Template),
    /// Body with a button that opens a form (a WhatsApp Flow).
    Form(super::form::Form),
}

impl Outbound {
    /// The Graph API message object, without recipient (the sender adds it).
    pub fn to_body(&self) -> Value {
        match self {
            Outbound::Text(t) => t.to_body(),
            Outbound::Buttons(b) => b.to_body(),
            Outbound::List(l) => l.to_body(),
            Outbound::Template(t) => t.to_body(),
            Outbound::Form(f) => f.to_body(),
        }
    }
}

/// A JSON object of `entries`, moved in. (`json!` takes a `Value` it is given by reference and
/// copies it, by serializing it again: for nested parts built beforehand, that is every node.)
fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(entries.into_iter().map(|(key, value)| (key.to_owned(), value)).collect())
}

/// An interactive message's body around `interactive`.
fn interactive_body(interactive: Value) -> Value {
    object([("type", json!("interactive")), ("interactive", interactive)])
}

/// `body` as it is stored and sent.
pub fn raw(body: &Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(body).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// A text message.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    body: String,
    preview_url: bool,
}

impl Text {
    /// Up to 4096 characters; links are not previewed.
    pub fn new(body: impl Into<String>) -> Result<Self, LimitError> {
        let body = body.into();
        required("text body", &body, TEXT_BODY_MAX)?;
        Ok(Text { body, preview_url: false })
    }

    /// What it says.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// Ask WhatsApp to preview the first link.
    pub fn with_preview(mut self) -> Self {
        self.preview_url = true;
        self
    }

    fn to_body(&self) -> Value {
        json!({ "type": "text", "text": { "body": self.body, "preview_url": self.preview_url } })
    }
}

impl From<Text> for Outbound {
    fn from(t: Text) -> Self {
        Outbound::Text(t)
    }
}

/// A reply button: the id comes back when it is tapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// Stable id (at most 256 characters).
    pub id: String,
    /// What the customer sees (at most 20 characters).
    pub title: String,
}

impl Button {
    /// A button; checked when the message is built.
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Self {
        Button { id: id.into(), title: title.into() }
    }
}

/// A message with one to three reply buttons.
#[derive(Debug, Clone, PartialEq)]
pub struct Buttons {
    body: String,
    frame: Frame,
    buttons: Vec<Button>,
}

impl Buttons {
    /// `body` (at most 1024) with 1–3 buttons whose ids and titles are unique.
    pub fn new(body: impl Into<String>, buttons: Vec<Button>) -> Result<Self, LimitError> {
        let body = body.into();
        required("interactive body", &body, INTERACTIVE_BODY_MAX)?;
        count("reply buttons", buttons.len(), 1, BUTTONS_MAX)?;
        for b in &buttons {
            id("button id", &b.id, BUTTON_ID_MAX)?;
            if b.title.trim().is_empty() {
                return Err(LimitError::Empty("button title"));
            }
            check_len(|| format!("button title {:?}", b.title), &b.title, BUTTON_TITLE_MAX)?;
        }
        unique("button id", buttons.iter().map(|b| b.id.as_str()))?;
        unique("button title", buttons.iter().map(|b| b.title.as_str()))?;
        Ok(Buttons { body, frame: Frame::default(), buttons })
    }

    fn to_body(&self) -> Value {
        let buttons = self
            .buttons
            .iter()
            .map(|b| json!({ "type": "reply", "reply": { "id": b.id, "title": b.title } }))
            .collect();
        let interactive = object([
            ("type", json!("button")),
            ("body", json!({ "text": self.body })),
            ("action", object([("buttons", Value::Array(buttons))])),
        ]);
        interactive_body(self.frame.applied(interactive))
    }
}

impl From<Buttons> for Outbound {
    fn from(b: Buttons) -> Self {
        Outbound::Buttons(b)
    }
}

/// The optional header and footer of an interactive message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    header: Option<String>,
    footer: Option<String>,
}

impl Frame {
    fn applied(&self, mut interactive: Value) -> Value {
        if let Some(header) = &self.header {
            interactive["header"] = json!({ "type": "text", "text": header });
        }
        if let Some(footer) = &self.footer {
            interactive["footer"] = json!({ "text": footer });
        }
        interactive
    }
}

/// Interactive messages that may carry a header and a footer.
pub trait Framed: Sized {
    /// Where the header and footer are kept.
    #[doc(hidden)]
    fn frame_mut(&mut self) -> &mut Frame;

    /// A text header (at most 60).
    fn with_header(mut self, header: impl Into<String>) -> Result<Self, LimitError> {
        let header = header.into();
        required("header", &header, HEADER_FOOTER_MAX)?;
        self.frame_mut().header = Some(header);
        Ok(self)
    }

    /// A footer (at most 60).
    fn with_footer(mut self, footer: impl Into<String>) -> Result<Self, LimitError> {
        let footer = footer.into();
        required("footer", &footer, HEADER_FOOTER_MAX)?;
        self.frame_mut().footer = Some(footer);
        Ok(self)
    }
}

impl Framed for Buttons {
    fn frame_mut(&mut self) -> &mut Frame {
        &mut self.frame
    }
}

impl Framed for List {
    fn frame_mut(&mut self) -> &mut Frame {
        &mut self.frame
    }
}

/// A list row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Stable id (at most 200).
    pub id: String,
    /// Title (at most 24).
    pub title: String,
    /// Optional description (at most 72).
    pub description: Option<String>,
}

impl Row {
    /// A row without description.
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Self {
        Row { id: id.into(), title: title.into(), description: None }
    }

    /// Adds a description.
    pub fn described(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

/// A titled group of rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Title (at most 24; required when there is more than one section).
    pub title: Option<String>,
    /// Its rows.
    pub rows: Vec<Row>,
}

/// A list message: a body and a button that opens up to ten rows.
#[derive(Debug, Clone, PartialEq)]
pub struct List {
    body: String,
    button: String,
    frame: Frame,
    sections: Vec<Section>,
}

impl List {
    /// `body` (at most 1024), the opening `button` label (at most 20) and 1–10 sections holding
    /// 1–10 rows in all, row ids unique across the message.
    pub fn new(
        body: impl Into<String>,
        button: impl Into<String>,
        sections: Vec<Section>,
    ) -> Result<Self, LimitError> {
        let (body, button) = (body.into(), button.into());
        required("interactive body", &body, INTERACTIVE_BODY_MAX)?;
        required("list button", &button, LIST_BUTTON_MAX)?;
        count("list sections", sections.len(), 1, SECTIONS_MAX)?;
        let rows = sections.iter().map(|s| s.rows.len()).sum();
        count("list rows", rows, 1, ROWS_MAX)?;
        for section in &sections {
            match &section.title {
                Some(title) => required("section title", title, SECTION_TITLE_MAX)?,
                None if sections.len() > 1 => return Err(LimitError::Empty("section title")),
                None => {}
            }
            if section.rows.is_empty() {
                return Err(LimitError::Count { what: "rows in a section", count: 0, min: 1, max: ROWS_MAX });
            }
            for row in &section.rows {
                id("row id", &row.id, ROW_ID_MAX)?;
                if row.title.trim().is_empty() {
                    return Err(LimitError::Empty("row title"));
                }
                check_len(|| format!("row title {:?}", row.title), &row.title, ROW_TITLE_MAX)?;
                if let Some(d) = &row.description {
                    check_len(|| format!("row description {d:?}"), d, ROW_DESCRIPTION_MAX)?;
                }
            }
        }
        unique("row id", sections.iter().flat_map(|s| s.rows.iter().map(|r| r.id.as_str())))?;
        Ok(List { body, button, frame: Frame::default(), sections })
    }

    fn to_body(&self) -> Value {
        let sections = self
            .sections
            .iter()
            .map(|s| {
                let rows = s
                    .rows
                    .iter()
                    .map(|r| {
                        let mut row = json!({ "id": r.id, "title": r.title });
                        if let Some(d) = &r.description {
                            row["description"] = json!(d);
                        }
                        row
                    })
                    .collect();
                let mut section = object([("rows", Value::Array(rows))]);
                if let Some(t) = &s.title {
                    section["title"] = json!(t);
                }
                section
            })
            .collect();
        let interactive = object([
            ("type", json!("list")),
            ("body", json!({ "text": self.body })),
            ("action", object([("button", json!(self.button)), ("sections", Value::Array(sections))])),
        ]);
        interactive_body(self.frame.applied(interactive))
    }
}

impl From<List> for Outbound {
    fn from(l: List) -> Self {
        Outbound::List(l)
    }
}

/// A pre-approved template with positional body parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    name: String,
    language: String,
    body_parameters: Vec<String>,
    /// The copy-code button's parameter of an authentication template.
    code_button: Option<String>,
}

impl Template {
    /// Template `name` (lowercase letters, digits and `_`, as Meta names them) in `language`
    /// (e.g. `en` or `en_US`), with `{{1}}`, `{{2}}`… filled from `body_parameters`.
    pub fn new(
        name: impl Into<String>,
        language: impl Into<String>,
        body_parameters: Vec<String>,
    ) -> Result<Self, LimitError> {
        let (name, language) = (name.into(), language.into());
        required("template name", &name, TEMPLATE_NAME_MAX)?;
        required("template language", &language, 16)?;
        if let Some(reason) = crate::config::template_name_problem(&name, &language) {
            return Err(LimitError::Invalid { field: "template", reason });
        }
        for p in &body_parameters {
            required("template parameter", p, INTERACTIVE_BODY_MAX)?;
        }
        Ok(Template { name, language, body_parameters, code_button: None })
    }

    /// An authentication template in Meta's preset format ("<code> is your verification
    /// code." with a copy-code button): the code goes both as the body's parameter and as the
    /// button's, so a code reaches the customer outside the 24-hour window too.
    pub fn authentication(
        name: impl Into<String>,
        language: impl Into<String>,
        code: impl Into<String>,
    ) -> Result<Self, LimitError> {
        let code = code.into();
        if code.is_empty() || code.len() > 15 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(LimitError::Invalid {
                field: "one-time code",
                reason: "must be 1 to 15 letters or digits",
            });
        }
        let mut template = Template::new(name, language, vec![code.clone()])?;
        template.code_button = Some(code);
        Ok(template)
    }

    fn to_body(&self) -> Value {
        let mut template = json!({ "name": self.name, "language": { "code": self.language } });
        if !self.body_parameters.is_empty() {
            let parameters =
                self.body_parameters.iter().map(|p| json!({ "type": "text", "text": p })).collect();
            let body = object([("type", json!("body")), ("parameters", Value::Array(parameters))]);
            template["components"] = Value::Array(vec![body]);
        }
        if let (Some(code), Some(components)) = (&self.code_button, template["components"].as_array_mut()) {
            // Meta stores the copy-code button as a URL button: it is sent as one.
            components.push(json!({ "type": "button", "sub_type": "url", "index": "0",
                                    "parameters": [{ "type": "text", "text": code }] }));
        }
        object([("type", json!("template")), ("template", template)])
    }
}

impl From<Template> for Outbound {
    fn from(t: Template) -> Self {
        Outbound::Template(t)
    }
}

/// The request that marks `message_id` (and the thread before it) read, with a typing
/// indicator when `typing` — which WhatsApp shows until the reply or for 25 seconds.
pub fn read_receipt(message_id: &str, typing: bool) -> Value {
    let mut body = json!({ "messaging_product": "whatsapp", "status": "read", "message_id": message_id });
    if typing {
        body["typing_indicator"] = json!({ "type": "text" });
    }
    body
}

#[cfg(test)]
#[path = "outbound_tests.rs"]
mod tests;
