//! Customer care in the conversation: while a ticket takes the customer's messages (they asked
//! for a person, or an agent answered them), what they write goes to the ticket rather than the
//! bot, until they say "menu"; after an agent closes a ticket, the next message may be its
//! rating. A PIN typed to an agent is never passed on: the bot handles it as any PIN out of turn;
//! nor is "block my account", which freezes the account at once as anywhere else.
//!
//! Both are decided again, the same way, when a message is handled twice: the ticket keeps one
//! copy per WhatsApp message, and a rating given is remembered under the message's id.

use std::time::Duration;

use super::{Conversations, Handled, text_replies};
use crate::flows::engine::Event;
use crate::flows::phrases::{self, Global, Phrase};

/// How long the answer to a rating is remembered for a redelivery of its message.
const REMEMBERED: Duration = Duration::from_secs(3600);

impl Conversations {
    /// What care does with `event` from the customer behind `key`: `Some` when it took the
    /// message (to a ticket, or as a rating), `None` when the bot handles it.
    pub(super) async fn care(
        &self,
        key: &str,
        message_id: &str,
        event: &Event,
        secret: bool,
        language: &str,
    ) -> anyhow::Result<Option<Handled>> {
        let Some(customers) = &self.customers else { return Ok(None) };
        if secret {
            return Ok(None);
        }
        let text = match event {
            Event::Text(text) => text.clone(),
            Event::Choice { id, title } if id.starts_with("rate_") => id.clone(),
            Event::Choice { title, .. } => title.clone(),
            _ => "[a message that is not text: a voice note, a picture or a file]".to_owned(),
        };
        let rated = format!("care:rated:{key}:{message_id}");
        if self.kv.get(&rated).await?.is_some() {
            return Ok(Some(thanked(&self.say(language, Phrase::ThanksForRating))));
        }
        let state = customers.care(key).await?;
        if let Some(ticket) = state.to_rate
            && customers.rate(ticket, &text).await?.is_some()
        {
            self.kv.set(&rated, b"1", REMEMBERED).await?;
            return Ok(Some(thanked(&self.say(language, Phrase::ThanksForRating))));
        }
        let Some(ticket) = state.handed_over else { return Ok(None) };
        if phrases::global(&crate::flows::graph::normalise(&text)) == Some(Global::Menu) {
            customers.back_to_bot(ticket).await?;
            return Ok(None);
        }
        // Stopping a thief never waits for an agent: "block my account" freezes at once.
        if self.reader.rules(&text, &self.settings.country_code).decided() == Some(crate::nlu::Intent::Block)
        {
            return Ok(None);
        }
        customers.to_ticket(ticket, message_id, &text).await?;
        // Said once a ticket, to the message that first reached it (and to that message again).
        let told = format!("care:told:{ticket}");
        let first = self.kv.set_if_absent(&told, message_id.as_bytes(), Duration::from_secs(86_400)).await?
            || self.kv.get(&told).await?.is_some_and(|id| id == message_id.as_bytes());
        let replies =
            if first { text_replies(&self.say(language, Phrase::WithCareTeam)) } else { Vec::new() };
        Ok(Some(Handled { replies, ..Handled::default() }))
    }
}

fn thanked(words: &str) -> Handled {
    Handled { replies: text_replies(words), ..Handled::default() }
}
