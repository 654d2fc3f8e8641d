//! The seam between dispatch and conversation: a handler turns one inbound message into replies.

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::whatsapp::notification::InboundMessage;

/// Turns one inbound message into the replies to queue (Graph API message objects without a
/// recipient). It must not write anything itself: its replies are queued in the same
/// transaction that marks the message handled, which is what makes handling exactly-once.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// The replies to `message`; an error leaves it to be retried.
    async fn handle(&self, message: &InboundMessage) -> anyhow::Result<Vec<Value>>;
}

/// The fixed welcome every message gets until the flow engine takes this seam over.
pub struct Welcome;

/// What [`Welcome`] says.
pub const WELCOME_TEXT: &str =
    "Welcome to your bank on WhatsApp. We are getting things ready here; please check back soon.";

#[async_trait]
impl Handler for Welcome {
    async fn handle(&self, _message: &InboundMessage) -> anyhow::Result<Vec<Value>> {
        Ok(vec![json!({ "type": "text", "text": { "body": WELCOME_TEXT } })])
    }
}
