//! What a customer's message gives away, and so what must not be kept of it.
//!
//! - The answer to a PIN, one-time-code or identity-number question is private: its text is
//!   removed from the inbox once handled, and it is never read for requests or sent anywhere.
//! - A PIN typed at the wrong moment (at a confirmation, at the menu, after the session
//!   expired) is private too: a message that is 4 to 6 digits and nothing else, from a
//!   registered customer, is checked against their PIN's hash (one check per such message,
//!   within the process's hashing budget) and, if it is their PIN, removed like a PIN answer.
//! - Such a message, where the bot was not asking for a number, also gets a kind reminder
//!   never to send the PIN unless the bot asks, at most once a day. The reminder does not
//!   depend on whether the digits were the PIN, so it tells a thief holding the phone nothing:
//!   only what is kept does.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Customers;
use crate::flows::engine::{Session, Status};
use crate::flows::graph::{Bundle, Kind, Question};
use crate::flows::input;
use crate::kv::Kv;

/// How long a day's reminder marker is kept (past the end of its day in any time zone).
const MARKER_TTL: Duration = Duration::from_secs(2 * 24 * 3600);

/// The question `session` waits on, if it waits on one.
pub(super) fn asked<'b>(session: &Session, bundle: Option<&'b Bundle>) -> Option<&'b Question> {
    if session.status != Status::Asking {
        return None;
    }
    let step = bundle?.flows.get(&session.flow)?.steps.get(&session.step)?;
    match &step.kind {
        Kind::Ask(question) => Some(question),
        _ => None,
    }
}

/// The type of answer the question `session` waits on takes.
pub(super) fn question<'b>(session: &Session, bundle: Option<&'b Bundle>) -> Option<&'b input::Kind> {
    asked(session, bundle).map(|q| &q.kind)
}

/// Whether `session` waits for an answer that must not be kept once handled: a PIN, a code or
/// an identity number.
pub(super) fn asks_private(session: &Session, bundle: Option<&Bundle>) -> bool {
    question(session, bundle).is_some_and(input::Kind::is_private)
}

/// Whether `session` waits for an answer made of digits (an amount, a number, a phone number,
/// a date, a PIN or code, an identity number): digits typed then are an answer, not a slip.
fn asks_digits(session: &Session, bundle: Option<&Bundle>) -> bool {
    question(session, bundle).is_some_and(|kind| {
        !matches!(kind, input::Kind::Text(_) | input::Kind::Name | input::Kind::Choice | input::Kind::YesNo)
    })
}

/// 4 to 6 digits and nothing else: what a PIN looks like.
pub(super) fn pin_shaped(text: &str) -> bool {
    let text = text.trim();
    (4..=6).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

/// What a text that is not the answer to a private question reveals.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Slip {
    /// It is the customer's PIN: not to be kept.
    pub pin: bool,
    /// Remind the customer never to send their PIN unasked.
    pub remind: bool,
}

/// A text message from a registered customer.
pub(super) struct Typed<'a> {
    /// The customer's key.
    pub key: &'a str,
    /// The message's id.
    pub message_id: &'a str,
    /// What they typed.
    pub text: &'a str,
    /// When it is handled.
    pub now: DateTime<Utc>,
}

/// Looks at `typed`, sent while the customer's session was `session` (on `bundle`).
pub(super) async fn slip(
    customers: &dyn Customers,
    kv: &dyn Kv,
    typed: &Typed<'_>,
    session: &Session,
    bundle: Option<&Bundle>,
) -> anyhow::Result<Slip> {
    if !pin_shaped(typed.text) {
        return Ok(Slip::default());
    }
    let pin = customers.pin_matches(typed.key, typed.text.trim()).await?;
    let remind = !asks_digits(session, bundle) && remind_today(kv, typed).await?;
    Ok(Slip { pin, remind })
}

/// Whether the reminder goes with `message_id`: the first such message of the day (UTC), and
/// the same message again when it is handled again (so its replies do not change).
async fn remind_today(kv: &dyn Kv, typed: &Typed<'_>) -> anyhow::Result<bool> {
    let marker = format!("pin_reminded:{}:{}", typed.key, typed.now.date_naive());
    let id = typed.message_id.as_bytes();
    if kv.set_if_absent(&marker, id, MARKER_TTL).await? {
        return Ok(true);
    }
    Ok(kv.get(&marker).await?.is_some_and(|first| first == id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_four_to_six_bare_digits_look_like_a_pin() {
        for yes in ["4821", " 482193 ", "00000"] {
            assert!(pin_shaped(yes), "{yes}");
        }
        for no in ["482", "4821937", "48 21", "₦4821", "4821.", "pin 4821", "١٢٣٤"] {
            assert!(!pin_shaped(no), "{no}");
        }
    }
}
