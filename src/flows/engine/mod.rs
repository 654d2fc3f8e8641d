//! The engine: a pure function from (compiled flows, session, event) to (session, messages,
//! effect). No I/O, no clock, no randomness: the host passes the time, runs the action an
//! effect asks for, and feeds its outcome back as an event. That is what makes flows testable,
//! previewable in the simulator, and safe for admins to edit.
//!
//! A session is pinned to the bundle version it started on and runs to its end there; a fresh
//! start (a new conversation, `menu`, a trigger word) takes the current bundle.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::actions::ActionOutcome;
use super::graph::{Bundle, HELP, Kind, MAIN_MENU, REGISTRATION, Target, Texts, WELCOME, normalise};
use super::input;

use super::names::{BANK_NAME_VARIABLE, BUILTIN_VARIABLES, LANGUAGE_VARIABLE, PHONE_VARIABLE};
use super::phrases::{self, Global, Phrase};
use super::template::{Lookup, RenderContext};
use super::understanding::{Intent, Understanding};
use crate::whatsapp::outbound::{Outbound, ROWS_MAX, TEXT_BODY_MAX, Text};

/// The button id that resumes an expired session.
pub const RESUME_ID: &str = "_resume";
/// The button id that starts over instead.
pub const RESTART_ID: &str = "_restart";
/// The list row that shows the next page of a long choice.
pub const MORE_ID: &str = "_more";
/// Options per page of a long choice (the tenth row is "more").
const PAGE: usize = ROWS_MAX - 1;
/// Steps followed in one turn before the engine decides a flow loops without asking anything.
const MAX_HOPS: usize = 64;

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for the answer to the question at `step`.
    Asking,
    /// Waiting for the outcome of the action at `step` (only within a turn).
    Acting,
    /// Expired and offered to resume: waiting for resume or restart.
    ResumeOffered,
    /// The flow ended; the next message starts afresh.
    Ended,
}

/// One customer's conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The bundle version it runs on.
    pub version: String,
    /// The flow.
    pub flow: String,
    /// The step.
    pub step: String,
    /// Where it is.
    pub status: Status,
    /// The flow's variables.
    pub vars: BTreeMap<String, String>,
    /// Refused answers to the current question.
    pub attempts: u32,
    /// The page of a long choice on screen.
    #[serde(default)]
    pub page: usize,
    /// The customer's language.
    pub language: String,
    /// When the flow started (Unix seconds).
    pub started_at: i64,
    /// The customer's last message (Unix seconds).
    pub last_activity: i64,
    /// When the session expires if the customer says nothing (Unix seconds).
    pub expires_at: i64,
    /// This run of the flow: set when it starts, so actions' idempotency keys are unique to it.
    #[serde(default)]
    pub run: String,
    /// Actions asked for in this run so far.
    #[serde(default)]
    pub actions: u32,
    /// An action that moves money has run in this run of the flow (whatever it answered).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub moved_money: bool,
    /// The answer typed when a resume was offered, given to the question if the customer
    /// resumes (never the answer to a PIN, code or identity question: those are not held).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
    /// Values understood from the message that started the flow, by entity, waiting for the
    /// question that they answer (`fill:`); each is used once.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fills: BTreeMap<String, String>,
    /// The variables holding an answer to an identity-number question: the conversation seals
    /// them wherever the session is kept.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub private: BTreeSet<String>,
    /// Answers to PIN and OTP questions: held for the action that checks them within this turn,
    /// never serialised.
    #[serde(skip)]
    pub secrets: BTreeMap<String, String>,
    /// Where the aside under way goes back to when it ends (see [`aside`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aside: Option<Box<Back>>,
}

impl Session {
    /// A session with no flow yet, in `language`.
    pub fn new(language: &str, now: DateTime<Utc>) -> Session {
        Session {
            version: String::new(),
            flow: String::new(),
            step: String::new(),
            status: Status::Ended,
            vars: BTreeMap::new(),
            attempts: 0,
            page: 0,
            language: language.to_owned(),
            started_at: now.timestamp(),
            last_activity: now.timestamp(),
            expires_at: now.timestamp(),
            run: String::new(),
            actions: 0,
            moved_money: false,
            held: None,
            fills: BTreeMap::new(),
            private: BTreeSet::new(),
            secrets: BTreeMap::new(),
            aside: None,
        }
    }

    /// Whether a flow is under way (asking, acting or offered to resume).
    pub fn is_active(&self) -> bool {
        self.status != Status::Ended
    }
}

/// What the customer (or an action) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Typed text.
    Text(String),
    /// A button or list row tapped.
    Choice {
        /// Its id.
        id: String,
        /// Its label.
        title: String,
    },
    /// A message the flows cannot read: a voice note, a picture, a location.
    Unreadable,
    /// The outcome of the action the last turn asked for.
    ActionDone(ActionOutcome),
    /// The PIN or code question on screen was answered in a form (a WhatsApp Flow), and the
    /// action after it already ran at the form's endpoint: the host replays its outcome. Any
    /// other question refuses it.
    Checked,
}

/// An action the host must run, then feed back as [`Event::ActionDone`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRequest {
    /// The action.
    pub name: String,
    /// Its inputs.
    pub inputs: BTreeMap<String, String>,
    /// The step that asked.
    pub step: String,
    /// Unique to this run, step and visit, and the same when a message is handled again from
    /// the same session: the action's idempotency key (with the customer's).
    pub idempotency: String,
}

/// What one event led to.
#[derive(Debug, Clone)]
pub struct Turn {
    /// The session after it.
    pub session: Session,
    /// Messages to send, in order.
    pub messages: Vec<Outbound>,
    /// An action to run before the customer hears more.
    pub action: Option<ActionRequest>,
    /// Free text was taken to the main menu (or refused there) because it was not understood:
    /// a better reading of it would change this turn.
    pub unsure: bool,
}

/// What the engine needs to know besides flows and session.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Now.
    pub now: DateTime<Utc>,
    /// The customer's WhatsApp number (the `phone` variable).
    pub phone: &'a str,
    /// The bank's currency, for amounts.
    pub currency: &'a str,
    /// Prefix that turns local phone numbers international ("234").
    pub country_code: &'a str,
    /// The bank's name (the `bank_name` variable).
    pub bank_name: &'a str,
    /// Whether the customer has registered: if not, only flows open to guests run, and any
    /// other start goes to registration.
    pub registered: bool,
    /// Whether the customer's account is linked to a verified phone number: one who writes
    /// only under a username (a BSUID) and never shared their number is not, and no flow that
    /// moves money starts for them.
    pub linked: bool,
    /// A fresh id for a flow this event starts (the host derives it from the message, so
    /// handling the same message again gives the same id).
    pub fresh_id: &'a str,
    /// What a text event asks for, as far as it was understood (never for the answer to a PIN
    /// or code question).
    pub understood: Option<&'a Understanding>,
}

/// Handles `event` for a customer whose session is `session`.
///
/// `pinned` is the bundle the session runs on (the host found it by `session.version`; `None`
/// when it is no longer available) and `current` the bundle new sessions start on.
pub fn handle(
    current: &Bundle,
    pinned: Option<&Bundle>,
    session: Session,
    event: Event,
    cx: &Context<'_>,
) -> Turn {
    let mut run =
        Run { current, bundle: current, session, messages: Vec::new(), action: None, unsure: false, cx: *cx };
    run.dispatch(pinned, event);
    run.session.last_activity = cx.now.timestamp();
    if let Some(flow) = run.bundle.flows.get(&run.session.flow) {
        run.session.expires_at = cx.now.timestamp() + i64::from(flow.session_minutes) * 60;
    }
    Turn { session: run.session, messages: run.messages, action: run.action, unsure: run.unsure }
}

/// How long after expiry a customer is offered to resume (then: start over with a note).
pub fn resume_window_secs(session_minutes: u32) -> i64 {
    i64::from(session_minutes.max(10)) * 60
}

/// The fill that carries words which picked an option by its other words (`also:`) to the
/// next question.
const SAID: &str = "_said";

struct Run<'a> {
    current: &'a Bundle,
    bundle: &'a Bundle,
    session: Session,
    messages: Vec<Outbound>,
    action: Option<ActionRequest>,
    unsure: bool,
    cx: Context<'a>,
}

impl<'a> Run<'a> {
    fn language(&self) -> String {
        self.session.language.clone()
    }

    fn phrase(&mut self, phrase: Phrase) {
        let text = self.bundle.phrases.say(&self.session.language, phrase);
        self.text(text.to_owned());
    }

    fn text(&mut self, text: String) {
        for chunk in split(&text, TEXT_BODY_MAX) {
            if let Ok(message) = Text::new(chunk) {
                self.messages.push(message.into());
            }
        }
    }

    fn dispatch(&mut self, pinned: Option<&'a Bundle>, event: Event) {
        if self.session.is_active() {
            match pinned {
                Some(bundle) if bundle.version == self.session.version => self.bundle = bundle,
                _ => {
                    if !matches!(event, Event::ActionDone(_)) {
                        self.phrase(Phrase::FlowsUpdated);
                    }
                    self.session.status = Status::Ended;
                    return self.fresh(event);
                }
            }
        }
        if let Event::Text(text) = &event
            && let Some(word) = phrases::global(&normalise(text))
        {
            return self.global(word);
        }
        // "no", "no send am": a cancel, unless the question on screen has an option it picks
        // (the flow then says what not going ahead means: a declined loan offer is recorded).
        if let Event::Text(text) = &event
            && self.request() == Some(Intent::Cancel)
            && !self.picks_an_option(text)
        {
            return self.global(Global::Cancel);
        }
        match self.session.status {
            Status::Ended => self.fresh(event),
            Status::ResumeOffered => self.resume_answer(event),
            Status::Acting => match event {
                Event::ActionDone(outcome) => self.action_done(outcome),
                // A message while an action is outstanding cannot happen within a turn; treat
                // it as the customer starting afresh rather than guessing.
                other => self.fresh(other),
            },
            Status::Asking => {
                if self.cx.now.timestamp() > self.session.expires_at {
                    return self.expired(event);
                }
                self.answer(event);
            }
        }
    }

    fn global(&mut self, word: Global) {
        match word {
            Global::Language(language) => {
                self.session.language = language.to_owned();
                self.phrase(Phrase::LanguageSet);
                // The question on screen again, in the new language; else the menu.
                match self.bundle.step(&self.session.flow, &self.session.step).map(|s| &s.kind) {
                    Some(Kind::Ask(question)) if self.session.status == Status::Asking => {
                        let question = question.clone();
                        self.ask(&question)
                    }
                    _ => self.start(MAIN_MENU),
                }
            }
            Global::Menu => self.start(MAIN_MENU),
            Global::Help => self.start(HELP),
            Global::Cancel => {
                let phrase = match self.session.is_active() {
                    true if self.nothing_sent() => Phrase::CancelledNothingSent,
                    true => Phrase::Cancelled,
                    false => Phrase::NothingToCancel,
                };
                self.end();
                self.phrase(phrase);
            }
        }
    }

    /// The customer is in a flow that moves money and none has moved yet in this run: a stop
    /// says so.
    pub(super) fn nothing_sent(&self) -> bool {
        let flow = self.bundle.flows.get(&self.session.flow);
        flow.is_some_and(|f| f.moves_money) && !self.session.moved_money
    }

    fn end(&mut self) {
        self.session.status = Status::Ended;
        self.session.held = None;
        self.session.vars.clear();
        self.session.private.clear();
        self.session.fills.clear();
        self.session.secrets.clear();
        self.session.attempts = 0;
        self.session.page = 0;
        self.session.aside = None;
    }

    fn fresh(&mut self, event: Event) {
        self.bundle = self.current;
        if let Event::Text(text) = &event {
            // A stranger's first message is answered in its language (Pidgin, Yoruba, Hausa,
            // Igbo); the welcome offers the others.
            if self.session.flow.is_empty()
                && !self.cx.registered
                && let Some(language) = phrases::language_of(text)
            {
                self.session.language = language.to_owned();
            }
            if phrases::thanks(text) && !self.session.flow.is_empty() {
                return self.phrase(Phrase::YouAreWelcome);
            }
            // "No" (thanks) after a flow has ended: nothing more for now, not the whole menu.
            if (phrases::farewell(text) || input::refusal(text)) && !self.session.flow.is_empty() {
                return self.phrase(Phrase::Goodbye);
            }
            if let Some(flow) = self.current.trigger(&self.session.language, text) {
                self.greet_back();
                let flow = flow.to_owned();
                return self.start(&flow);
            }
            if self.start_request() {
                return;
            }
            self.unsure = true;
        }
        self.start(MAIN_MENU);
    }

    /// A registered customer's greeting is returned before what it starts (a stranger's
    /// greeting gets the welcome flow's).
    fn greet_back(&mut self) {
        if self.cx.registered && self.request() == Some(Intent::Greeting) {
            self.phrase(Phrase::GreetingBack);
        }
    }

    fn request(&self) -> Option<Intent> {
        self.cx.understood.and_then(Understanding::decided)
    }

    fn start_request(&mut self) -> bool {
        let Some(understood) = self.cx.understood else { return false };
        let Some(flow) = self.requested_flow().map(str::to_owned) else { return false };
        // Every stop of a flow that moves money says whether any moved (another such flow
        // starting in its place is no stop: it asks before it moves anything).
        if self.session.is_active() && self.nothing_sent() && !self.current.leads_to_money(&flow) {
            self.phrase(Phrase::LeftNothingSent);
        }
        self.greet_back();
        if understood.more {
            self.phrase(Phrase::OneAtATime);
        }
        self.start_with(&flow, understood.fills());
        true
    }

    fn start(&mut self, flow: &str) {
        self.start_with(flow, BTreeMap::new());
    }

    fn start_with(&mut self, flow: &str, fills: BTreeMap<String, String>) {
        self.bundle = self.current;
        self.end();
        self.session.fills = fills;
        self.session.version = self.current.version.clone();
        self.session.started_at = self.cx.now.timestamp();
        self.session.run = self.cx.fresh_id.to_owned();
        self.session.actions = 0;
        self.session.moved_money = false;
        let admitted = self.admitted(flow);
        // A stranger sent to the welcome, or a request that started the flow claiming it, may be
        // answered by an option of its first question; "menu" that reads as help is neither.
        let requested = admitted != flow || self.requested_flow().is_some_and(|f| f == flow);
        self.enter(Target::Flow(admitted));
        if requested {
            self.answer_the_request();
        }
    }

    /// The flow that claims the request just made.
    fn requested_flow(&self) -> Option<&str> {
        self.request().and_then(|intent| self.current.intents.get(&intent)).map(String::as_str)
    }

    fn admitted(&self, flow: &str) -> String {
        let open = self.cx.registered || self.current.flows.get(flow).is_none_or(|f| f.guests);
        if open {
            flow.to_owned()
        } else if self.current.flows.contains_key(WELCOME) {
            WELCOME.to_owned()
        } else if self.current.flows.contains_key(REGISTRATION) {
            REGISTRATION.to_owned()
        } else {
            flow.to_owned()
        }
    }

    fn enter(&mut self, mut target: Target) {
        for _ in 0..MAX_HOPS {
            let step_id = match target {
                Target::Flow(flow) => {
                    let mut flow =
                        if self.bundle.version == self.current.version { self.admitted(&flow) } else { flow };
                    // Registration is for strangers: a customer with an account who asks for it is
                    // told so, rather than asked for their names and BVN to be refused at the end.
                    if flow == REGISTRATION && self.cx.registered {
                        self.phrase(Phrase::AlreadyRegistered);
                        flow = MAIN_MENU.to_owned();
                    }
                    // So is the welcome: a customer with an account who asks what it answers
                    // ("what do I need to open an account", for a friend) gets that answer and
                    // their menu, never an offer to open an account.
                    if flow == WELCOME && self.cx.registered {
                        if let Some(text) = self.welcome_says() {
                            self.text(text);
                        }
                        flow = MAIN_MENU.to_owned();
                    }
                    let bundle = self.bundle;
                    let Some(f) = bundle.flows.get(&flow) else { return self.broken() };
                    if f.moves_money && !self.cx.linked {
                        self.end();
                        return self.phrase(Phrase::LinkPhoneNumber);
                    }
                    // A flow that is no aside, entered from one, is where the customer goes on.
                    if !f.aside {
                        self.session.aside = None;
                    }
                    self.session.vars.clear();
                    self.session.secrets.clear();
                    self.session.flow = flow;
                    f.start.clone()
                }
                Target::Step(step) => step,
            };
            let bundle = self.bundle;
            let Some(step) = bundle.step(&self.session.flow, &step_id) else { return self.broken() };
            self.session.step = step_id;
            self.session.attempts = 0;
            self.session.page = 0;
            match &step.kind {
                Kind::Say { text, next } => {
                    let text = self.render(text);
                    self.text(text);
                    match next {
                        Some(next) => target = next.clone(),
                        None => return self.finish(),
                    }
                }
                Kind::Ask(_) if self.session.aside.is_some() => return self.finish(),
                Kind::Ask(question) => {
                    self.session.status = Status::Asking;
                    // Words that picked an option by its other words answer the next choice
                    // too, when they pick one of its options; else they are forgotten.
                    if let Some(said) = self.session.fills.remove(SAID)
                        && matches!(question.kind, input::Kind::Choice)
                        && let Some(option) = self.pick(question, &said)
                    {
                        return self.accept(question, option.id.clone(), Some(option));
                    }
                    if let Some(value) = question.fill.as_ref().and_then(|e| self.session.fills.remove(e))
                        && !question.kind.is_secret()
                    {
                        return self.fill(question, &value);
                    }
                    return self.ask(question);
                }
                Kind::Action { name, with, .. } => {
                    let vars = self.vars_with_secrets();
                    let inputs = with
                        .iter()
                        .map(|(k, t)| (k.clone(), t.render(&vars, self.render_context())))
                        .collect();
                    self.session.status = Status::Acting;
                    self.session.actions += 1;
                    let idempotency = format!("{}:{}:{}", self.session.run, step.id, self.session.actions);
                    self.action = Some(ActionRequest {
                        name: name.clone(),
                        inputs,
                        step: step.id.clone(),
                        idempotency,
                    });
                    return;
                }
                Kind::Branch { cases, otherwise } => {
                    let vars = self.vars_with_secrets();
                    target = cases.iter().find(|(c, _)| c.holds(&vars)).map_or(otherwise, |(_, t)| t).clone();
                }
                Kind::Go(to) => target = to.clone(),
            }
        }
        self.broken();
    }

    fn broken(&mut self) {
        self.end();
        self.phrase(Phrase::Broken);
    }

    /// Every variable an action's inputs or a branch may name, as a map: what [`SessionVars`]
    /// lends, with the secrets over all.
    fn vars_with_secrets(&self) -> BTreeMap<String, String> {
        let mut vars = self.session.vars.clone();
        for name in BUILTIN_VARIABLES {
            vars.insert(name.to_owned(), builtin(self, name).unwrap_or_default().to_owned());
        }
        vars.extend(self.session.secrets.iter().map(|(k, v)| (k.clone(), v.clone())));
        vars
    }

    fn render(&self, texts: &Texts) -> String {
        texts.get(&self.session.language).render(&SessionVars(self), self.render_context())
    }

    fn render_context(&self) -> RenderContext<'_> {
        RenderContext {
            currency: self.cx.currency,
            country_code: self.cx.country_code,
            language: &self.session.language,
        }
    }
}

/// The variables a text may name, secrets aside: the session's, with the built-in ones (the
/// phone number, the language, the bank's name) over any of the same name. Lent from the run,
/// not copied into a map for each text rendered.
struct SessionVars<'r, 'c>(&'r Run<'c>);

impl Lookup for SessionVars<'_, '_> {
    fn lookup(&self, name: &str) -> Option<&str> {
        builtin(self.0, name).or_else(|| self.0.session.vars.get(name).map(String::as_str))
    }
}

/// The value of built-in variable `name` in `run`; `None` for any other name.
fn builtin<'a>(run: &'a Run<'_>, name: &str) -> Option<&'a str> {
    match name {
        PHONE_VARIABLE => Some(run.cx.phone),
        LANGUAGE_VARIABLE => Some(&run.session.language),
        BANK_NAME_VARIABLE => Some(run.cx.bank_name),
        _ => None,
    }
}

mod answers;
use answers::split;
pub mod aside;
pub use aside::Back;
mod resume;

#[cfg(test)]
mod tests;
