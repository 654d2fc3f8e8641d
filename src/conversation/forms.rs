//! PIN and code questions answered in a form (a WhatsApp Flow), so the answer never enters the
//! chat: not the customer's history on their phone, not a webhook, not the inbox.
//!
//! - When a turn ends on a PIN or code question, its prompt goes out as a form message whose
//!   token is single-use, bound to the customer, the flow run and the step, and expires with
//!   the question ([`Ticket`], kept in the KV under the token's hash).
//! - The form's answer reaches the Flows endpoint ([`Conversations::form_exchange`]): it is
//!   handled as the typed answer would be, by the engine on a copy of the session, and the
//!   action after the question (`verify_pin`, `verify_code`, `keep_pin`…) runs there, through
//!   the same bank code (wrong PINs count, lockouts hold). An outcome that asks the same
//!   question again (a wrong PIN) shows the form again with the flow's own words; any other
//!   closes the form, its outcome kept under the idempotency key the conversation will use.
//! - The completion message then comes through the ordered inbox like any message
//!   ([`Conversations::form_completed`]): the ticket is spent, and the engine takes
//!   [`Event::Checked`] as the answer, so the action's kept outcome is replayed, not run again,
//!   and the conversation goes on from there (money moves here, in order, not at the endpoint).
//!
//! A token that is unknown, spent, expired, another customer's or no longer the question on
//! screen changes nothing.
//!
//! A form names a screen of the published Flow, which Meta does not let change. The first three
//! screens every teller Flow has had; a newer one (the identity check) is sent only when the
//! store records the Flow as published with it (`teller whatsapp flows push`), and its
//! questions are typed until then.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Conversations, Who, replay, secrets, several, text_replies};
use crate::dispatch::Handled;
use crate::flows::actions::ActionCall;
use crate::flows::engine::{self, Event, Session, Status, Turn};
use crate::flows::graph::Bundle;
use crate::flows::input;
use crate::flows::phrasebook;
use crate::flows::phrases::Phrase;
use crate::whatsapp::form::Form;
use crate::whatsapp::outbound::Outbound;

/// The screen of the PIN form, and the field it submits.
pub const PIN_SCREEN: &str = "PIN_ENTRY";
/// The screen of the code form, and the field it submits.
pub const CODE_SCREEN: &str = "CODE_ENTRY";
/// Submissions one form takes before its token is refused (the bank locks PINs long before).
const MAX_TRIES: u32 = 10;
/// The longest answer read from a form field.
const MAX_ANSWER: usize = 32;
/// How long a form may wait, at least and at most (else: as long as its question).
const TTL_BOUNDS: (i64, i64) = (60, 3600);
/// The KV key prefix of tickets.
const PREFIX: &str = "form:";

/// The screens every Flow teller published has held; a form on any other screen is sent only
/// once the Flow it names is recorded with it (`teller whatsapp flows push`).
pub const FIRST_SCREENS: [&str; 3] = [PIN_SCREEN, CODE_SCREEN, several::SIGNUP_SCREEN];

/// How forms are sent: the published Flow that holds their screens, and the secret tokens are
/// derived under (the same on every instance).
#[derive(Clone)]
pub struct Forms {
    flow_name: String,
    secret: [u8; 32],
    /// Whether every screen of the repository's Flow JSON can be sent (the simulator draws
    /// them), or only those the store records for the published Flow.
    every_screen: bool,
}

impl Forms {
    /// Forms on the published Flow `flow_name`, their tokens derived under `secret`: on the
    /// screens every teller Flow has, and on those the store records it was published with.
    pub fn new(flow_name: impl Into<String>, secret: [u8; 32]) -> Forms {
        Forms { flow_name: flow_name.into(), secret, every_screen: false }
    }

    /// Forms drawn by the simulator, on every screen the repository's Flow JSON holds.
    pub fn drawn_here(flow_name: impl Into<String>, secret: [u8; 32]) -> Forms {
        Forms { flow_name: flow_name.into(), secret, every_screen: true }
    }

    /// The token for the question `session` asks, as answered from `message_id`: the same
    /// when the message is handled again, unguessable without the secret.
    fn token(&self, key: &str, message_id: &str, session: &Session) -> String {
        // HMAC takes a key of any length: this never returns early (an empty token makes no form).
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secret) else { return String::new() };
        for part in [key, message_id, &session.run, &session.step, &session.actions.to_string()] {
            mac.update(part.as_bytes());
            mac.update(b"\0");
        }
        format!("ft_{}", hex::encode(&mac.finalize().into_bytes()[..16]))
    }
}

/// What the endpoint answers a form's request with.
#[derive(Debug, Clone, PartialEq)]
pub enum FormAnswer {
    /// Show `screen` with `data`: its first showing, or again with `error_message`.
    Screen {
        /// The screen.
        screen: String,
        /// Its data: `prompt` and `error_message`.
        data: Value,
    },
    /// Close the form; `params` come back in the completion message.
    Done {
        /// The completion's parameters (the token, never the answer).
        params: Value,
    },
    /// The token is unknown, spent, expired, or its question is no longer on screen.
    Stale,
}

/// Where a form's ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum State {
    /// Waiting for the answer.
    Open,
    /// Answered at the endpoint: the completion message carries the conversation on.
    Done,
    /// The completion message was handled.
    Used,
}

/// What a form's token is bound to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Ticket {
    pub(super) key: String,
    pub(super) phone: String,
    version: String,
    flow: String,
    step: String,
    pub(super) run: String,
    actions: u32,
    screen: String,
    prompt: String,
    expires_at: i64,
    state: State,
    pub(super) tries: u32,
    /// The idempotency key the closing outcome is kept under.
    replay: Option<String>,
    /// The completion message that spent it.
    used_by: Option<String>,
    /// A form of several questions: the session its answers led to.
    #[serde(default)]
    pub(super) result: Option<Session>,
    /// What the flow said on the way there.
    #[serde(default)]
    pub(super) said: Vec<String>,
}

impl Ticket {
    /// Whether `session` still asks the question this form answers.
    fn asks(&self, session: &Session) -> bool {
        session.status == Status::Asking
            && session.version == self.version
            && session.flow == self.flow
            && session.step == self.step
            && session.run == self.run
    }

    /// Closed at the endpoint; its outcome kept under `replay`, if it has one.
    pub(super) fn mark_done(&mut self, replay: Option<String>) {
        self.state = State::Done;
        self.replay = replay;
    }

    pub(super) fn first_screen(&self, error: &str) -> FormAnswer {
        FormAnswer::Screen {
            screen: self.screen.clone(),
            data: json!({ "prompt": self.prompt, "error_message": error }),
        }
    }
}

/// What a form's answer is handled on: the flows now and the session's version of them, and
/// where the customer stands.
pub(super) struct Ground {
    pub(super) current: Arc<Bundle>,
    pub(super) pinned: Option<Arc<Bundle>>,
    registered: bool,
    linked: bool,
    fresh_id: String,
}

impl Ground {
    /// The customer on `phone`, as the engine's context names them.
    pub(super) fn who<'a>(&'a self, phone: &'a str) -> Who<'a> {
        Who { phone, registered: self.registered, linked: self.linked, fresh_id: &self.fresh_id }
    }
}

fn ticket_key(token: &str) -> String {
    format!("{PREFIX}{}", hex::encode(Sha256::digest(token.as_bytes())))
}

/// The text of `messages`, one paragraph each.
fn said(messages: &[Outbound]) -> String {
    texts(messages).join("\n\n")
}

/// The texts of `messages`, in order.
pub(super) fn texts(messages: &[Outbound]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| match m {
            Outbound::Text(text) => Some(text.body().to_owned()),
            _ => None,
        })
        .collect()
}

/// The text of `messages` but the last (the question asked again).
fn said_before_question(messages: &[Outbound]) -> String {
    said(&messages[..messages.len().saturating_sub(1)])
}

impl Conversations {
    /// Conversations that send PIN and code questions as forms.
    pub fn with_forms(mut self, forms: Forms) -> Conversations {
        self.forms = Some(forms);
        self
    }

    /// Whether a form on `screen` can open: the published Flow holds it. Only a form on a
    /// screen newer than the first ones reads the record (a date of birth asked).
    async fn published(&self, forms: &Forms, screen: &str) -> bool {
        if forms.every_screen || FIRST_SCREENS.contains(&screen) {
            return true;
        }
        match self.recorded_screens(&forms.flow_name).await {
            Ok(screens) => screens.is_some_and(|screens| screens.iter().any(|s| s == screen)),
            Err(err) => {
                tracing::warn!(error = %err, "the published Flow's screens could not be read; the question stays typed");
                false
            }
        }
    }

    async fn recorded_screens(&self, flow_name: &str) -> anyhow::Result<Option<Vec<String>>> {
        let mut tx = self.store.begin().await?;
        let screens = tx.whatsapp().flow_screens(flow_name).await?;
        tx.commit().await?;
        Ok(screens)
    }

    async fn ticket(&self, token: &str) -> anyhow::Result<Option<Ticket>> {
        let Some(bytes) = self.kv.get(&ticket_key(token)).await? else { return Ok(None) };
        Ok(serde_json::from_slice(&bytes).ok())
    }

    async fn save(&self, token: &str, ticket: &Ticket, now: DateTime<Utc>) -> anyhow::Result<()> {
        let left = u64::try_from(ticket.expires_at - now.timestamp()).unwrap_or(0).max(1);
        // Kept a little past its expiry, so a late completion is refused as stale, not unknown.
        let ttl = Duration::from_secs(left + 600);
        self.kv.set(&ticket_key(token), &serde_json::to_vec(ticket)?, ttl).await?;
        Ok(())
    }

    /// Turns the prompt of a PIN or code question that `session` ends on into a form message,
    /// and keeps the form's ticket. `registered`: whether the customer is, when the caller
    /// knows (else it is read, and only for a form offered to customers alone).
    pub(super) async fn offer_form(
        &self,
        (key, phone, message_id): (&str, &str, &str),
        (session, registered): (&Session, Option<bool>),
        on: Option<&Bundle>,
        messages: &mut [Outbound],
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let Some(forms) = &self.forms else { return Ok(()) };
        let Some(asked) = secrets::asked(session, on) else { return Ok(()) };
        let several = several::starting_at(asked);
        let (screen, button) = match (&asked.kind, several) {
            (input::Kind::Pin, _) => (PIN_SCREEN, Phrase::PinFormButton),
            (input::Kind::Otp, _) => (CODE_SCREEN, Phrase::CodeFormButton),
            (_, Some(form)) => (form.screen, form.button),
            _ => return Ok(()),
        };
        if !self.published(forms, screen).await {
            // The published Flow has no such screen: the question stays typed.
            return Ok(());
        }
        if several.is_some_and(|form| form.customers_only) {
            let registered = match registered {
                Some(registered) => registered,
                None => self.standing(key, None).await?.0,
            };
            if !registered {
                return Ok(());
            }
        }
        let Some(Outbound::Text(question)) = messages.last() else { return Ok(()) };
        let say = |phrase| {
            on.map_or_else(
                || phrasebook::shipped().say(&session.language, phrase),
                |b| b.phrases.say(&session.language, phrase),
            )
        };
        // The message keeps the flow's question (its text is what goes if the form cannot);
        // a form of several questions asks its own on its screen.
        let body = question.body().to_owned();
        let prompt = match several {
            Some(form) => form.prompt(&body, say(form.question)),
            None => body.clone(),
        };
        let token = forms.token(key, message_id, session);
        let data = json!({ "prompt": prompt, "error_message": "" });
        let cta = say(button);
        let Ok(form) = Form::new(body, cta, forms.flow_name.clone(), token.clone(), screen, data) else {
            // A prompt over the form message's limits stays a typed question.
            return Ok(());
        };
        let wait = (session.expires_at - now.timestamp()).clamp(TTL_BOUNDS.0, TTL_BOUNDS.1);
        let ticket = Ticket {
            key: key.to_owned(),
            phone: phone.to_owned(),
            version: session.version.clone(),
            flow: session.flow.clone(),
            step: session.step.clone(),
            run: session.run.clone(),
            actions: session.actions,
            screen: screen.to_owned(),
            prompt,
            expires_at: now.timestamp() + wait,
            state: State::Open,
            tries: 0,
            replay: None,
            used_by: None,
            result: None,
            said: Vec::new(),
        };
        // The same message handled again offers the same token: a ticket already answered at
        // the endpoint is left as it is, not reopened.
        let ttl = Duration::from_secs(u64::try_from(wait).unwrap_or(0) + 600);
        self.kv.set_if_absent(&ticket_key(&token), &serde_json::to_vec(&ticket)?, ttl).await?;
        if let Some(last) = messages.last_mut() {
            *last = form.into();
        }
        Ok(())
    }
}

impl Conversations {
    /// Answers a request of the form under `token`: its first screen (`INIT`, `BACK`), or
    /// the submitted `data` (`data_exchange`) handled as the typed answer would be.
    pub async fn form_exchange(
        &self,
        token: &str,
        action: &str,
        data: &Value,
        now: DateTime<Utc>,
    ) -> anyhow::Result<FormAnswer> {
        if self.forms.is_none() {
            return Ok(FormAnswer::Stale);
        }
        let Some(mut ticket) = self.ticket(token).await? else { return Ok(FormAnswer::Stale) };
        let open =
            ticket.state == State::Open && now.timestamp() <= ticket.expires_at && ticket.tries < MAX_TRIES;
        let session = self.record(&ticket.key).await?.map(|r| r.session);
        let Some(session) = session.filter(|s| open && ticket.asks(s) && now.timestamp() <= s.expires_at)
        else {
            return Ok(FormAnswer::Stale);
        };
        if let Some(form) = several::on_screen(&ticket.screen) {
            if action != "data_exchange" || !data.is_object() {
                return Ok(ticket.first_screen(""));
            }
            ticket.tries += 1;
            let reply = self.several_answer((token, form), &mut ticket, session, data, now).await?;
            self.save(token, &ticket, now).await?;
            return Ok(reply);
        }
        let field = if ticket.screen == PIN_SCREEN { "pin" } else { "code" };
        let answer =
            data.get(field).and_then(Value::as_str).filter(|a| !a.is_empty() && a.len() <= MAX_ANSWER);
        let Some(answer) = answer.filter(|_| action == "data_exchange") else {
            return Ok(ticket.first_screen(""));
        };
        ticket.tries += 1;
        let reply = self.form_answer(token, &mut ticket, session, answer, now).await?;
        self.save(token, &ticket, now).await?;
        Ok(reply)
    }

    /// What an answer to the form under `token`, of customer `key`, is handled on.
    pub(super) async fn form_ground(&self, key: &str, token: &str, version: &str) -> anyhow::Result<Ground> {
        let (registered, linked) = self.standing(key, None).await?;
        Ok(Ground {
            current: self.current(),
            pinned: self.pinned(version).await?,
            registered,
            linked,
            fresh_id: super::fresh_id(key, token),
        })
    }

    /// `answer` given to `ticket`'s question: the engine and the action after it, on a copy of
    /// `session` (the conversation itself moves on when the completion arrives).
    async fn form_answer(
        &self,
        token: &str,
        ticket: &mut Ticket,
        session: Session,
        answer: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<FormAnswer> {
        let key = ticket.key.clone();
        let ground = self.form_ground(&key, token, &session.version).await?;
        let (current, pinned) = (&*ground.current, &ground.pinned);
        let context = self.context(ground.who(&ticket.phone), now);
        let mut turn =
            engine::handle(current, pinned.as_deref(), session, Event::Text(answer.to_owned()), &context);
        let Some(request) = turn.action.take() else {
            // Refused as typed (not a PIN's shape): the form again, with the hint.
            return Ok(ticket.first_screen(&said(&turn.messages)));
        };
        let action = self
            .catalogue
            .get(&request.name)
            .ok_or_else(|| anyhow::anyhow!("action `{}` is not in the catalogue", request.name))?;
        let plain = format!("{key}:{}", request.idempotency);
        let call = ActionCall {
            name: request.name.clone(),
            inputs: request.inputs,
            customer: key.clone(),
            // Each submission is its own attempt; the closing one is kept under `plain` too.
            idempotency_key: format!("{plain}:form{}", ticket.tries),
        };
        let outcome = replay::run_once(self.kv.as_ref(), action, &call).await?;
        if action.spec().result(&outcome.code).is_none() {
            anyhow::bail!("action `{}` returned `{}`, which it does not declare", request.name, outcome.code);
        }
        let on = if turn.session.version == current.version { Some(current) } else { pinned.as_deref() };
        let mut messages = std::mem::take(&mut turn.messages);
        let after: Turn =
            engine::handle(current, on, turn.session, Event::ActionDone(outcome.clone()), &context);
        messages.extend(after.messages);
        if after.action.is_none() && ticket.asks(&after.session) {
            return Ok(ticket.first_screen(&said_before_question(&messages)));
        }
        replay::keep(self.kv.as_ref(), &plain, &outcome).await?;
        ticket.mark_done(Some(plain));
        Ok(FormAnswer::Done { params: json!({ "flow_token": token }) })
    }

    /// Handles the completion message of the form under `token`, sent by `key`: the
    /// conversation goes on from the answer checked at the endpoint; a token that is not
    /// theirs, not answered, spent or no longer on screen is refused and changes nothing.
    pub(super) async fn form_completed(
        &self,
        (key, phone, message_id): (&str, &str, &str),
        token: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Handled> {
        let ticket = self.ticket(token).await?.filter(|t| t.key == key);
        let session = self.record(key).await?.and_then(|r| r.start_for(message_id));
        let usable = match (&ticket, &session) {
            (Some(t), Some(s)) if t.asks(s) => match t.state {
                State::Done => true,
                // The same completion handled again (a lease lost): it goes on the same way.
                State::Used => t.used_by.as_deref() == Some(message_id),
                State::Open => false,
            },
            _ => false,
        };
        let proceed = match ticket.as_ref().filter(|_| usable) {
            Some(Ticket { result: Some(_), .. }) => true,
            Some(Ticket { replay: Some(plain), .. }) => replay::is_kept(self.kv.as_ref(), plain).await?,
            _ => false,
        };
        let Some(mut ticket) = ticket.filter(|_| proceed) else {
            tracing::info!("a form came back that is not open for this customer; nothing changed");
            let language = self.language(key, session.as_ref()).await?;
            return Ok(Handled {
                replies: text_replies(&self.say(&language, Phrase::StaleForm)),
                ..Handled::default()
            });
        };
        ticket.state = State::Used;
        ticket.used_by = Some(message_id.to_owned());
        self.save(token, &ticket, now).await?;
        if let Some(result) = ticket.result.take() {
            return self.several_completed((key, phone, message_id), result, &ticket.said, now).await;
        }
        self.answer(key, phone, message_id, Event::Checked, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_teller_sends_is_a_screen_of_the_flow_json_submitting_the_fields_it_reads() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/whatsapp/teller_forms.json");
        let flow: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut sent = vec![(PIN_SCREEN, vec!["pin"]), (CODE_SCREEN, vec!["code"])];
        sent.extend(several::FORMS.iter().map(|form| (form.screen, form.fields.to_vec())));
        let screens = flow["screens"].as_array().unwrap();
        assert_eq!(screens.len(), sent.len(), "a screen teller never sends");
        for (id, fields) in sent {
            let screen = screens.iter().find(|s| s["id"] == id).unwrap_or_else(|| panic!("no screen {id}"));
            assert!(flow["routing_model"][id].is_array(), "{id} is not routed");
            assert!(
                screen["data"]["prompt"].is_object() && screen["data"]["error_message"].is_object(),
                "{id}"
            );
            let layout = screen["layout"].to_string();
            for field in fields {
                assert!(
                    layout.contains(&format!("\"{field}\":\"${{form.{field}}}\"")),
                    "{id} does not submit {field}"
                );
            }
        }
        let identity = screens.iter().find(|s| s["id"] == several::IDENTITY_SCREEN).unwrap();
        assert_eq!(
            identity["sensitive"],
            json!(["date_of_birth", "id_number"]),
            "kept out of the chat's summary"
        );
    }

    #[test]
    fn only_the_words_before_the_question_asked_again_are_the_error() {
        let text = |s: &str| Outbound::from(crate::whatsapp::outbound::Text::new(s).unwrap());
        let messages = [text("That PIN is not right. Tries left: 2."), text("Enter your PIN")];
        assert_eq!(said_before_question(&messages), "That PIN is not right. Tries left: 2.");
        assert_eq!(said_before_question(&[]), "");
    }
}
