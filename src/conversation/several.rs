//! Forms of several questions on one screen, instead of as many chat questions:
//! - registration: name, surname, date of birth (a date picker) and identity number, offered
//!   where a flow asks for `first_name` (the registration flow's first question);
//! - the identity check: date of birth and identity number, offered to a registered customer
//!   where a flow asks for `date_of_birth` (a forgotten PIN's first question), so the BVN or NIN a customer proves
//!   themselves with never stays in their chat history.
//!
//! Its answers are given at the endpoint to a copy of the session one question at a time, as if
//! typed, and the actions between them run (the age, identity-number and identity checks), so
//! the chat's rules hold to the letter. An answer refused (a question of the form asked again),
//! shows the form again with the flow's words. When the copy reaches a question the form does
//! not hold (the PIN), or the flow ends (too many wrong details), the form closes and the copy
//! is kept with the ticket. Its completion then puts that session in place (when the
//! conversation still waits on the form), says what the flow said, and asks the next question.
//!
//! The answers never pass through a chat message, a webhook body or the inbox.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::forms::{FormAnswer, Ticket, texts};
use super::turn::Kept;
use super::{Conversations, secrets, text_replies};
use crate::dispatch::Handled;
use crate::flows::engine::{self, Event, Session};
use crate::flows::graph::{Bundle, Question};
use crate::flows::phrases::Phrase;
use crate::whatsapp::outbound::Outbound;

/// A form of several questions.
#[derive(Debug, PartialEq, Eq)]
pub struct Several {
    /// Its screen in the published Flow.
    pub screen: &'static str,
    /// The session variables it fills, in the order the flow asks for them; the form is offered
    /// at the question that saves into the first.
    pub fields: &'static [&'static str],
    /// The button that opens it.
    pub(super) button: Phrase,
    /// What it asks on its screen, in place of the flow's question (which asks for its first
    /// field alone, and says how to type it).
    pub(super) question: Phrase,
    /// Offered to registered customers only (the identity check: at registration, a date of
    /// birth is the customer's, not a check of it).
    pub(super) customers_only: bool,
}

impl Several {
    /// The text on the form's screen: the flow's `prompt` but its last paragraph (the question
    /// for the first field alone, and how to type it), then `question`, the form's own.
    pub(super) fn prompt(&self, prompt: &str, question: &str) -> String {
        match prompt.rsplit_once("\n\n") {
            Some((before, _)) => format!("{before}\n\n{question}"),
            None => question.to_owned(),
        }
    }
}

/// The registration form's screen.
pub const SIGNUP_SCREEN: &str = "REGISTRATION";
/// The identity check's screen.
pub const IDENTITY_SCREEN: &str = "IDENTITY_CHECK";

/// Every form of several questions.
pub const FORMS: [Several; 2] = [
    Several {
        screen: SIGNUP_SCREEN,
        fields: &["first_name", "last_name", "date_of_birth", "id_number"],
        button: Phrase::SignupFormButton,
        question: Phrase::SignupFormQuestion,
        customers_only: false,
    },
    Several {
        screen: IDENTITY_SCREEN,
        fields: &["date_of_birth", "id_number"],
        button: Phrase::IdentityFormButton,
        question: Phrase::IdentityFormQuestion,
        customers_only: true,
    },
];

/// The longest answer read from one field.
const MAX_FIELD: usize = 100;

/// The variable the question `session` waits on saves into.
fn asked_var<'b>(session: &Session, bundle: Option<&'b Bundle>) -> Option<&'b str> {
    secrets::asked(session, bundle)?.save.as_deref()
}

/// The form that starts at `question`, if one does.
pub(super) fn starting_at(question: &Question) -> Option<&'static Several> {
    let var = question.save.as_deref()?;
    FORMS.iter().find(|form| form.fields[0] == var)
}

/// The form of several questions shown on `screen`, if it is one.
pub(super) fn on_screen(screen: &str) -> Option<&'static Several> {
    FORMS.iter().find(|form| form.screen == screen)
}

impl Conversations {
    /// The `form`'s `data` given to a copy of `session`, field by field: the form again with
    /// the flow's words for the first refusal, or closed with the copy kept in `ticket`.
    pub(super) async fn several_answer(
        &self,
        (token, form): (&str, &Several),
        ticket: &mut Ticket,
        mut session: Session,
        data: &Value,
        now: DateTime<Utc>,
    ) -> anyhow::Result<FormAnswer> {
        let key = ticket.key.clone();
        let ground = self.form_ground(&key, token, &session.version).await?;
        let (current, pinned) = (&*ground.current, &ground.pinned);
        let context = self.context(ground.who(&ticket.phone), now);
        // Each submission's actions are its own (a corrected identity number is checked anew).
        session.run = format!("{}~{}", ticket.run, ticket.tries);
        let mut answered: Vec<&str> = Vec::new();
        let mut said = Vec::new();
        for _ in 0..form.fields.len() {
            let on = if session.version == current.version { Some(current) } else { pinned.as_deref() };
            let Some(var) = asked_var(&session, on).and_then(|v| form.fields.iter().find(|f| **f == v))
            else {
                break;
            };
            answered.push(var);
            let answer = data.get(*var).and_then(Value::as_str).map(str::trim).unwrap_or_default();
            let answer: String = answer.chars().take(MAX_FIELD).collect();
            let mut turn = engine::handle(current, pinned.as_deref(), session, Event::Text(answer), &context);
            let mut messages = std::mem::take(&mut turn.messages);
            let turn =
                self.run_actions(&key, turn, (current, pinned.as_deref()), &context, &mut messages).await?;
            let on = if turn.session.version == current.version { Some(current) } else { pinned.as_deref() };
            let asked = asked_var(&turn.session, on);
            if turn.session.is_active() && asked.is_some_and(|v| answered.contains(&v)) {
                // Refused: a question of the form asked again (the same, or an earlier one
                // after a check). The form again, with the flow's words before that question.
                let mut words = texts(&messages);
                if words.len() > 1 {
                    words.pop();
                }
                return Ok(ticket.first_screen(&words.join("\n\n")));
            }
            // What the flow says after the last answer (the question after the form, or its
            // last words); the questions between the form's fields are the form itself.
            said = texts(&messages);
            session = turn.session;
            if !session.is_active() {
                break;
            }
        }
        ticket.mark_done(None);
        ticket.result = Some(session);
        ticket.said = said;
        Ok(FormAnswer::Done { params: json!({ "flow_token": token }) })
    }

    /// A form of several questions completed: the session its answers led to is put in place,
    /// and what the flow said then is said now (the last, its next question, as a form).
    pub(super) async fn several_completed(
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
        self.offer_form((key, phone, message_id), (&result, None), on, &mut replies, now).await?;
        let language_before = starting.language.clone();
        let kept = Kept { message_id, starting, language_before: &language_before, now };
        let question = self.keep(key, result, kept, (&current, pinned.as_deref())).await?;
        Ok(Handled { replies, secret: false, question })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_keeps_the_flow_s_words_before_its_question_and_asks_its_own() {
        let identity = &FORMS[1];
        let prompt =
            "No problem: you can choose a new PIN here.\n\nFirst, your date of birth? Reply like 25/12/1990.";
        assert_eq!(
            identity.prompt(prompt, "Enter both below."),
            "No problem: you can choose a new PIN here.\n\nEnter both below."
        );
        assert_eq!(
            identity.prompt("Your date of birth? Reply like 25/12/1990.", "Enter both below."),
            "Enter both below."
        );
    }
}
