//! Registration as one form: name, surname, date of birth (a date picker) and identity number
//! on one screen, instead of four chat questions.
//!
//! The form is offered where a flow asks for `first_name` (the registration flow's first
//! question). Its answers are given at the endpoint to a copy of the session one question at a
//! time, as if typed, and the actions between them run (the age and identity-number checks), so
//! the chat's rules hold to the letter. A refused answer shows the form again with the flow's
//! words; when the copy reaches a question the form does not hold (the PIN), the form closes and
//! the copy is kept with the ticket. Its completion then puts that session in place (when the
//! conversation still waits on the form), says what the flow said, and asks the next question.
//!
//! The answers never pass through a chat message, a webhook body or the inbox.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::forms::{FormAnswer, Ticket, texts};
use super::turn::Kept;
use super::{Conversations, Who, secrets, text_replies};
use crate::dispatch::Handled;
use crate::flows::engine::{self, Event, Session};
use crate::flows::graph::Bundle;
use crate::whatsapp::outbound::Outbound;

/// The registration form's screen.
pub const SIGNUP_SCREEN: &str = "REGISTRATION";
/// The session variables the form fills, in the order the flow asks for them.
pub const FIELDS: [&str; 4] = ["first_name", "last_name", "date_of_birth", "id_number"];
/// The longest answer read from one field.
const MAX_FIELD: usize = 100;

/// The variable the question `session` waits on saves into.
pub(super) fn asked_var<'b>(session: &Session, bundle: Option<&'b Bundle>) -> Option<&'b str> {
    secrets::asked(session, bundle)?.save.as_deref()
}

impl Conversations {
    /// The form's `data` given to a copy of `session`, field by field: the form again with the
    /// flow's words for the first refusal, or closed with the copy kept in `ticket`.
    pub(super) async fn signup_answer(
        &self,
        token: &str,
        ticket: &mut Ticket,
        mut session: Session,
        data: &Value,
        now: DateTime<Utc>,
    ) -> anyhow::Result<FormAnswer> {
        let key = ticket.key.clone();
        let current = self.current();
        let pinned = self.pinned(&session.version).await?;
        let (registered, linked) = self.standing(&key, None).await?;
        let fresh_id = super::fresh_id(&key, token);
        let who = Who { phone: &ticket.phone, registered, linked, fresh_id: &fresh_id };
        let context = self.context(who, now);
        // Each submission's actions are its own (a corrected identity number is checked anew).
        session.run = format!("{}~{}", ticket.run, ticket.tries);
        let mut said = Vec::new();
        for _ in 0..FIELDS.len() {
            let on = if session.version == current.version { Some(&*current) } else { pinned.as_deref() };
            let Some(var) = asked_var(&session, on).filter(|v| FIELDS.contains(v)) else { break };
            let var = var.to_owned();
            let answer = data.get(&var).and_then(Value::as_str).map(str::trim).unwrap_or_default();
            let answer: String = answer.chars().take(MAX_FIELD).collect();
            let mut turn =
                engine::handle(&current, pinned.as_deref(), session, Event::Text(answer), &context);
            let mut messages = std::mem::take(&mut turn.messages);
            let turn =
                self.run_actions(&key, turn, (&current, pinned.as_deref()), &context, &mut messages).await?;
            let on =
                if turn.session.version == current.version { Some(&*current) } else { pinned.as_deref() };
            if asked_var(&turn.session, on) == Some(var.as_str()) || !turn.session.is_active() {
                // Refused (asked again), or the flow gave up: the form again, with its words.
                let mut words = texts(&messages);
                if asked_var(&turn.session, on) == Some(var.as_str()) && words.len() > 1 {
                    words.pop();
                }
                return Ok(ticket.first_screen(&words.join("\n\n")));
            }
            // What the flow says after the last answer (the question after the form); the
            // questions between the form's fields are the form itself.
            said = texts(&messages);
            session = turn.session;
        }
        ticket.mark_done(None);
        ticket.result = Some(session);
        ticket.said = said;
        Ok(FormAnswer::Done { params: json!({ "flow_token": token }) })
    }

    /// The registration form's completion: the session its answers led to is put in place,
    /// and what the flow said then is said now (the last, its next question, as a form).
    pub(super) async fn signup_completed(
        &self,
        (key, phone, message_id): (&str, &str, &str),
        result: Session,
        said: &[String],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Handled> {
        let (starting, _, _) = self.starting(key, message_id, now, None, None).await?;
        let current = self.current();
        let pinned = self.pinned(&result.version).await?;
        let on = if result.version == current.version { Some(&*current) } else { pinned.as_deref() };
        let mut replies: Vec<Outbound> = said.iter().flat_map(|text| text_replies(text)).collect();
        self.offer_form((key, phone, message_id), &result, on, &mut replies, now).await?;
        let language_before = starting.language.clone();
        let kept = Kept { message_id, starting, language_before: &language_before, now };
        let question = self.keep(key, result, kept, (&current, pinned.as_deref())).await?;
        Ok(Handled { replies, secret: false, question })
    }
}
