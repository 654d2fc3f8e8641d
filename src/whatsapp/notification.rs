//! Meta's webhook notifications, read leniently into typed events.
//!
//! Meta batches at every level (entries, changes, messages, statuses), omits fields freely (no
//! `contacts` for system messages; no `from` for a customer behind a username) and keeps adding
//! message types. So: every field is optional, each message is parsed on its own (one odd message
//! cannot sink its batch), anything unknown is kept as JSON rather than dropped, and contacts are
//! matched to messages by id, never by position.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::account::{self, AccountEvent};
use super::ids::{Bsuid, MessageId, WaId};

/// One webhook body, split into what teller acts on.
#[derive(Debug, Default)]
pub struct Notification {
    /// Inbound customer messages, in payload order.
    pub messages: Vec<InboundMessage>,
    /// Delivery statuses of messages teller sent.
    pub statuses: Vec<StatusUpdate>,
    /// Errors Meta reported outside any message (`value.errors`).
    pub errors: Vec<GraphError>,
    /// What Meta said about the business account: templates, the number's quality.
    pub account: Vec<(AccountEvent, DateTime<Utc>)>,
    /// Parts that could not be used, each with the reason (kept for inspection).
    pub problems: Vec<String>,
}

/// A message a customer sent.
#[derive(Debug, Clone)]
pub struct InboundMessage {
    /// Meta's id for it: the deduplication key.
    pub id: MessageId,
    /// Who sent it.
    pub sender: Sender,
    /// The business number it was sent to.
    pub phone_number_id: Option<String>,
    /// When the customer sent it, per Meta.
    pub sent_at: Option<DateTime<Utc>>,
    /// The message it replies to (one of ours), if any.
    pub reply_to: Option<String>,
    /// What it says.
    pub content: Content,
    /// The message's own JSON with its matched contact, as received.
    pub raw: Value,
}

/// The sender of an inbound message: a `wa_id`, a BSUID, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// The WhatsApp user id, when Meta shares it.
    pub wa_id: Option<WaId>,
    /// The business-scoped user id, when present.
    pub bsuid: Option<Bsuid>,
    /// The profile name the customer chose (untrusted display text).
    pub name: Option<String>,
}

impl Sender {
    /// The key a customer's messages are ordered and routed by: the `wa_id` when known, else the
    /// BSUID, so a username customer's messages still stay in order.
    pub fn key(&self) -> String {
        match (&self.wa_id, &self.bsuid) {
            (Some(wa_id), _) => crate::phone::customer_key(wa_id.as_str()),
            (None, Some(bsuid)) => format!("bsuid:{}", bsuid.as_str()),
            // `InboundMessage`s are only built with one of the two.
            (None, None) => "unknown".to_owned(),
        }
    }
}

/// What an inbound message carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Typed text.
    Text {
        /// The text.
        body: String,
    },
    /// A reply button tapped.
    ButtonReply {
        /// The button's id (a stable option id).
        id: String,
        /// Its label.
        title: String,
    },
    /// A list row chosen.
    ListReply {
        /// The row's id.
        id: String,
        /// Its label.
        title: String,
    },
    /// A WhatsApp Flow submitted; `response` is `response_json` parsed a second time.
    FlowReply {
        /// The reply's name (`flow`, `address_message`).
        name: String,
        /// The submitted data.
        response: Value,
    },
    /// A template quick-reply button tapped.
    QuickReply {
        /// The payload set when the template was sent.
        payload: String,
        /// The button's label.
        text: String,
    },
    /// An image, video, audio clip, document or sticker.
    Media {
        /// `image`, `video`, `audio`, `document` or `sticker`.
        kind: String,
        /// Meta's media id, for download.
        media_id: String,
        /// Its caption, if any.
        caption: Option<String>,
    },
    /// A shared location. Coordinates stay as Meta wrote them: teller does no arithmetic on them.
    Location {
        /// Latitude, as written.
        latitude: String,
        /// Longitude, as written.
        longitude: String,
        /// A place name, if any.
        name: Option<String>,
    },
    /// Shared contact cards, as received.
    Contacts(Vec<Value>),
    /// A reaction to one of our messages; `emoji: None` removes it.
    Reaction {
        /// Our message reacted to.
        message_id: String,
        /// The emoji, or `None` for a removal.
        emoji: Option<String>,
    },
    /// A system event, such as `user_changed_number` (then `new_wa_id` is the new number).
    System {
        /// The event type.
        kind: String,
        /// Meta's description.
        body: Option<String>,
        /// The customer's new `wa_id`, for a number change.
        new_wa_id: Option<WaId>,
    },
    /// A type WhatsApp itself could not deliver to us (`unsupported`), with its inner type.
    Unsupported {
        /// What the customer tried to send, e.g. `poll_creation`.
        kind: Option<String>,
    },
    /// A type teller does not model yet; its JSON is in `InboundMessage::raw`.
    Other {
        /// The `type` field.
        kind: String,
    },
}

/// Where a message teller sent has got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Delivery {
    /// Accepted by WhatsApp's servers.
    Sent,
    /// On the customer's phone.
    Delivered,
    /// Read (or a voice message played).
    Read,
    /// Not delivered; final.
    Failed,
}

impl Delivery {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Sent => "sent",
            Delivery::Delivered => "delivered",
            Delivery::Read => "read",
            Delivery::Failed => "failed",
        }
    }

    /// Progress order: a status only ever moves to a higher rank; `failed` is final.
    pub fn rank(self) -> i32 {
        match self {
            Delivery::Sent => 1,
            Delivery::Delivered => 2,
            Delivery::Read => 3,
            Delivery::Failed => 4,
        }
    }
}

/// A status webhook for one of teller's messages.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    /// Our message's id.
    pub message_id: MessageId,
    /// Its new state.
    pub delivery: Delivery,
    /// When, per Meta.
    pub at: Option<DateTime<Utc>>,
    /// The first error, for `failed`.
    pub error: Option<GraphError>,
    /// What we put in `biz_opaque_callback_data` when sending (our outbox id).
    pub callback_data: Option<String>,
}

/// An error object as Meta writes them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GraphError {
    /// Meta's numeric code, e.g. 131047.
    #[serde(default)]
    pub code: i64,
    /// Its title.
    #[serde(default)]
    pub title: Option<String>,
    /// Its message.
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    entry: Vec<WireEntry>,
}

#[derive(Deserialize)]
struct WireEntry {
    /// Unix seconds; read leniently (a string or an odd value must not sink the batch).
    #[serde(default)]
    time: Value,
    #[serde(default)]
    changes: Vec<WireChange>,
}

#[derive(Deserialize)]
struct WireChange {
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize, Default)]
struct WireValue {
    metadata: Option<WireMetadata>,
    #[serde(default)]
    contacts: Vec<Value>,
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    statuses: Vec<Value>,
    #[serde(default)]
    errors: Vec<GraphError>,
}

#[derive(Deserialize)]
struct WireMetadata {
    phone_number_id: Option<String>,
}

/// Why a body is not a notification at all.
#[derive(Debug, thiserror::Error)]
#[error("not a WhatsApp notification: {0}")]
pub struct NotANotification(String);

impl Notification {
    /// Reads a webhook body. Fails only when the body is not a JSON object with an `entry` list;
    /// anything wrong inside is listed in [`Notification::problems`] and the rest is kept.
    pub fn parse(body: &[u8]) -> Result<Notification, NotANotification> {
        // serde would also read a struct from a JSON array; a notification is an object.
        if body.trim_ascii_start().first() != Some(&b'{') {
            return Err(NotANotification("expected a JSON object".to_owned()));
        }
        let wire: Wire = serde_json::from_slice(body).map_err(|e| NotANotification(e.to_string()))?;
        let mut out = Notification::default();
        for (time, change) in wire.entry.into_iter().flat_map(|e| {
            let time = e.time.as_i64().or_else(|| e.time.as_str().and_then(|t| t.parse().ok()));
            e.changes.into_iter().map(move |c| (time, c))
        }) {
            if account::FIELDS.contains(&change.field.as_str()) {
                match account::read(&change.field, &change.value) {
                    Ok(event) => out.account.push((event, account::when(time))),
                    Err(problem) => out.problems.push(problem),
                }
                continue;
            }
            if change.field != "messages" {
                out.problems.push(format!("change field {:?} is not handled", change.field));
                continue;
            }
            match serde_json::from_value::<WireValue>(change.value) {
                Ok(value) => out.read_value(value),
                Err(e) => out.problems.push(format!("unreadable change value: {e}")),
            }
        }
        Ok(out)
    }

    fn read_value(&mut self, value: WireValue) {
        let phone_number_id = value.metadata.and_then(|m| m.phone_number_id);
        for raw in value.messages {
            match read_message(raw, &value.contacts, phone_number_id.as_deref()) {
                Ok(message) => self.messages.push(message),
                Err(problem) => self.problems.push(problem),
            }
        }
        for raw in value.statuses {
            match read_status(&raw) {
                Ok(status) => self.statuses.push(status),
                Err(problem) => self.problems.push(problem),
            }
        }
        self.errors.extend(value.errors);
    }
}

impl InboundMessage {
    /// Reads back a message stored by the inbox (its raw JSON with the matched contact under
    /// `contact`); `None` if it no longer parses, which only a hand-edited row would cause.
    pub fn from_stored(raw: &Value, phone_number_id: Option<&str>) -> Option<InboundMessage> {
        let contacts: Vec<Value> = raw.get("contact").cloned().into_iter().collect();
        read_message(raw.clone(), &contacts, phone_number_id).ok()
    }
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Meta writes timestamps as strings of Unix seconds; numbers are accepted too.
fn timestamp(value: &Value) -> Option<DateTime<Utc>> {
    let secs = match value.get("timestamp")? {
        Value::String(s) => s.parse().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    DateTime::from_timestamp(secs, 0)
}

fn read_message(
    mut raw: Value,
    contacts: &[Value],
    phone_number_id: Option<&str>,
) -> Result<InboundMessage, String> {
    let id = text(&raw, "id").and_then(|id| MessageId::parse(&id)).ok_or("a message without a usable id")?;
    let wa_id = text(&raw, "from").and_then(|s| WaId::parse(&s));
    let bsuid = text(&raw, "from_user_id").and_then(|s| Bsuid::parse(&s));
    if wa_id.is_none() && bsuid.is_none() {
        return Err(format!("message {id} has no usable sender (from / from_user_id)"));
    }
    // Matched by identity, not by array position: a batch may list contacts in any order.
    let contact = contacts.iter().find(|c| {
        let same_wa = wa_id.as_ref().is_some_and(|w| text(c, "wa_id").as_deref() == Some(w.as_str()));
        let same_user = bsuid.as_ref().is_some_and(|b| text(c, "user_id").as_deref() == Some(b.as_str()));
        same_wa || same_user
    });
    let name = contact.and_then(|c| c.pointer("/profile/name")).and_then(Value::as_str).map(str::to_owned);
    let sender = Sender { wa_id, bsuid, name };
    let kind = text(&raw, "type").unwrap_or_default();
    let content = read_content(&kind, &raw);
    let reply_to = raw.pointer("/context/id").and_then(Value::as_str).map(str::to_owned);
    let sent_at = timestamp(&raw);
    if let (Some(contact), Some(object)) = (contact, raw.as_object_mut()) {
        object.insert("contact".to_owned(), contact.clone());
    }
    Ok(InboundMessage {
        id,
        sender,
        phone_number_id: phone_number_id.map(str::to_owned),
        sent_at,
        reply_to,
        content,
        raw,
    })
}

fn read_content(kind: &str, raw: &Value) -> Content {
    let body = raw.get(kind).cloned().unwrap_or(Value::Null);
    let field = |key: &str| text(&body, key);
    let other = || Content::Other { kind: kind.to_owned() };
    match kind {
        "text" => field("body").map_or_else(other, |body| Content::Text { body }),
        "interactive" => read_interactive(&body).unwrap_or_else(other),
        "button" => Content::QuickReply {
            payload: field("payload").unwrap_or_default(),
            text: field("text").unwrap_or_default(),
        },
        "image" | "video" | "audio" | "document" | "sticker" => match field("id") {
            Some(media_id) => Content::Media { kind: kind.to_owned(), media_id, caption: field("caption") },
            None => other(),
        },
        "location" => {
            let coordinate =
                |key: &str| body.get(key).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
            match (coordinate("latitude"), coordinate("longitude")) {
                (Some(latitude), Some(longitude)) => {
                    Content::Location { latitude, longitude, name: field("name") }
                }
                _ => other(),
            }
        }
        "contacts" => body.as_array().map_or_else(other, |cards| Content::Contacts(cards.clone())),
        "reaction" => match field("message_id") {
            Some(message_id) => {
                Content::Reaction { message_id, emoji: field("emoji").filter(|e| !e.is_empty()) }
            }
            None => other(),
        },
        "system" => Content::System {
            kind: field("type").unwrap_or_default(),
            body: field("body"),
            new_wa_id: field("wa_id").and_then(|w| WaId::parse(&w)),
        },
        "unsupported" => Content::Unsupported { kind: field("type") },
        _ => other(),
    }
}

fn read_interactive(body: &Value) -> Option<Content> {
    let kind = text(body, "type")?;
    let reply = body.get(&kind)?;
    match kind.as_str() {
        "button_reply" => Some(Content::ButtonReply { id: text(reply, "id")?, title: text(reply, "title")? }),
        "list_reply" => Some(Content::ListReply { id: text(reply, "id")?, title: text(reply, "title")? }),
        "nfm_reply" => {
            // `response_json` is JSON inside a string: parsed a second time.
            let response = text(reply, "response_json").and_then(|s| serde_json::from_str(&s).ok())?;
            Some(Content::FlowReply { name: text(reply, "name").unwrap_or_default(), response })
        }
        _ => None,
    }
}

fn read_status(raw: &Value) -> Result<StatusUpdate, String> {
    let message_id =
        text(raw, "id").and_then(|id| MessageId::parse(&id)).ok_or("a status without a usable message id")?;
    let delivery = match text(raw, "status").as_deref() {
        Some("sent") => Delivery::Sent,
        Some("delivered") => Delivery::Delivered,
        Some("read" | "played") => Delivery::Read,
        Some("failed") => Delivery::Failed,
        other => return Err(format!("status {other:?} for {message_id} is not handled")),
    };
    let error = raw
        .get("errors")
        .and_then(Value::as_array)
        .and_then(|errors| errors.first())
        .and_then(|e| serde_json::from_value(e.clone()).ok());
    Ok(StatusUpdate {
        message_id,
        delivery,
        at: timestamp(raw),
        error,
        callback_data: text(raw, "biz_opaque_callback_data"),
    })
}

#[cfg(test)]
#[path = "notification_tests.rs"]
mod tests;
