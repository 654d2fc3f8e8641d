//! The engine: a pure function from (compiled flows, session, event) to (session, messages,
//! effect). No I/O, no clock, no randomness: the host passes the time, runs the action an
//! effect asks for, and feeds its outcome back as an event. That is what makes flows testable,
//! previewable in the simulator, and safe for admins to edit.
//!
//! A session is pinned to the bundle version it started on and runs to its end there; a fresh
//! start (a new conversation, `menu`, a trigger word) takes the current bundle.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::actions::{ActionOutcome, OTHER_RESULT};
use super::graph::{Bundle, Choice, HELP, Kind, MAIN_MENU, Question, REGISTRATION, Target, Texts, normalise};
use super::input::{self, Rejection};
use super::names::{LANGUAGE_VARIABLE, PHONE_VARIABLE};
use super::phrases::{self, Global, Phrase};
use super::template::RenderContext;
use super::understanding::{Intent, Understanding};
use crate::whatsapp::outbound::{
    BUTTON_TITLE_MAX, BUTTONS_MAX, Button, Buttons, List, Outbound, ROWS_MAX, Row, Section, TEXT_BODY_MAX,
    Text, utf16_len,
};

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
    /// Values understood from the message that started the flow, by entity, waiting for the
    /// question that they answer (`fill:`); each is used once.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fills: BTreeMap<String, String>,
    /// Answers to PIN and OTP questions: held for the action that checks them within this turn,
    /// never serialised.
    #[serde(skip)]
    pub secrets: BTreeMap<String, String>,
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
            fills: BTreeMap::new(),
            secrets: BTreeMap::new(),
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
    /// Whether the customer has registered: if not, only flows open to guests run, and any
    /// other start goes to registration.
    pub registered: bool,
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
        let text = phrases::say(&self.session.language, phrase);
        self.text(text.to_owned());
    }

    /// Sends `text`, split at line breaks when it is longer than one message may be.
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
        if matches!(event, Event::Text(_)) && self.request() == Some(Intent::Cancel) {
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
            Global::Menu => self.start(MAIN_MENU),
            Global::Help => self.start(HELP),
            Global::Cancel => {
                let phrase =
                    if self.session.is_active() { Phrase::Cancelled } else { Phrase::NothingToCancel };
                self.end();
                self.phrase(phrase);
            }
        }
    }

    fn end(&mut self) {
        self.session.status = Status::Ended;
        self.session.vars.clear();
        self.session.fills.clear();
        self.session.secrets.clear();
        self.session.attempts = 0;
        self.session.page = 0;
    }

    /// Input with no flow under way: a trigger word starts its flow, then an understood
    /// request; anything else the menu.
    fn fresh(&mut self, event: Event) {
        self.bundle = self.current;
        if let Event::Text(text) = &event {
            if let Some(flow) = self.current.trigger(&self.session.language, text) {
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

    /// The request understood from the customer's text, when the reader is sure of it.
    fn request(&self) -> Option<Intent> {
        self.cx.understood.and_then(Understanding::decided)
    }

    /// Starts the flow of the understood request, with its values filled in; false when there
    /// is no such request or no flow claims it.
    fn start_request(&mut self) -> bool {
        let Some(understood) = self.cx.understood else { return false };
        let Some(flow) = self.request().and_then(|intent| self.current.intents.get(&intent)) else {
            return false;
        };
        let flow = flow.clone();
        self.start_with(&flow, understood.fills());
        true
    }

    fn expired(&mut self, event: Event) {
        let since = self.cx.now.timestamp() - self.session.expires_at;
        let flow = self.bundle.flows.get(&self.session.flow);
        let money = flow.is_some_and(|f| f.moves_money);
        let window = resume_window_secs(flow.map_or(0, |f| f.session_minutes));
        if money {
            self.end();
            self.phrase(Phrase::MoneyTimedOut);
        } else if since <= window {
            self.session.status = Status::ResumeOffered;
            let language = self.language();
            let buttons = vec![
                Button::new(RESUME_ID, phrases::say(&language, Phrase::Resume)),
                Button::new(RESTART_ID, phrases::say(&language, Phrase::Restart)),
            ];
            match Buttons::new(phrases::say(&language, Phrase::ResumeOffer), buttons) {
                Ok(b) => self.messages.push(b.into()),
                Err(_) => self.phrase(Phrase::ResumeOffer),
            }
        } else {
            self.end();
            self.phrase(Phrase::TimedOut);
            self.fresh(event);
        }
    }

    fn resume_answer(&mut self, event: Event) {
        let language = self.language();
        let said = match &event {
            Event::Choice { id, .. } => id.clone(),
            Event::Text(t) => {
                let t = normalise(t);
                if t == "1" || t == normalise(phrases::say(&language, Phrase::Resume)) || t == "continue" {
                    RESUME_ID.to_owned()
                } else if t == "2"
                    || t == normalise(phrases::say(&language, Phrase::Restart))
                    || t == "start again"
                {
                    RESTART_ID.to_owned()
                } else {
                    String::new()
                }
            }
            _ => String::new(),
        };
        match said.as_str() {
            RESUME_ID => {
                self.session.status = Status::Asking;
                self.session.attempts = 0;
                self.enter(Target::Step(self.session.step.clone()));
            }
            RESTART_ID => {
                self.end();
                self.start(MAIN_MENU);
            }
            _ => {
                self.end();
                self.fresh(event);
            }
        }
    }

    /// Starts `flow` of the current bundle from its first step, forgetting the old flow's
    /// variables but not the language.
    fn start(&mut self, flow: &str) {
        self.start_with(flow, BTreeMap::new());
    }

    /// [`Run::start`], with values for the questions that `fill:` them.
    fn start_with(&mut self, flow: &str, fills: BTreeMap<String, String>) {
        self.bundle = self.current;
        self.end();
        self.session.fills = fills;
        self.session.version = self.current.version.clone();
        self.session.started_at = self.cx.now.timestamp();
        self.session.run = self.cx.fresh_id.to_owned();
        self.session.actions = 0;
        let flow = self.admitted(flow);
        self.enter(Target::Flow(flow));
    }

    /// `flow`, or registration when the customer may not use it yet.
    fn admitted(&self, flow: &str) -> String {
        let open = self.cx.registered || self.current.flows.get(flow).is_none_or(|f| f.guests);
        if open || !self.current.flows.contains_key(REGISTRATION) {
            flow.to_owned()
        } else {
            REGISTRATION.to_owned()
        }
    }

    /// Follows steps from `target` until one waits for the customer or an action, or the flow
    /// ends.
    fn enter(&mut self, mut target: Target) {
        for _ in 0..MAX_HOPS {
            let step_id = match target {
                Target::Flow(flow) => {
                    let flow =
                        if self.bundle.version == self.current.version { self.admitted(&flow) } else { flow };
                    let bundle = self.bundle;
                    let Some(f) = bundle.flows.get(&flow) else { return self.broken() };
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
                        None => return self.end(),
                    }
                }
                Kind::Ask(question) => {
                    self.session.status = Status::Asking;
                    if let Some(value) = question.fill.as_ref().and_then(|e| self.session.fills.remove(e))
                        && !question.kind.is_secret()
                    {
                        return self.fill(question, &value);
                    }
                    return self.ask(question);
                }
                Kind::Action { name, with, .. } => {
                    let vars = self.vars(true);
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
                    let vars = self.vars(true);
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

    /// The session's variables with the built-in ones; secrets only for actions, never texts.
    fn vars(&self, with_secrets: bool) -> BTreeMap<String, String> {
        let mut vars = self.session.vars.clone();
        vars.insert(PHONE_VARIABLE.to_owned(), self.cx.phone.to_owned());
        vars.insert(LANGUAGE_VARIABLE.to_owned(), self.session.language.clone());
        if with_secrets {
            vars.extend(self.session.secrets.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        vars
    }

    fn render(&self, texts: &Texts) -> String {
        texts.get(&self.session.language).render(&self.vars(false), self.render_context())
    }

    fn render_context(&self) -> RenderContext<'a> {
        RenderContext { currency: self.cx.currency }
    }

    /// Puts the question on screen: buttons, a list or a page of a list for choices; text else.
    fn ask(&mut self, question: &Question) {
        let prompt = self.render(&question.prompt);
        let language = self.language();
        let rendered = match &question.kind {
            input::Kind::Choice => {
                let options: Vec<(String, String, Option<String>)> = question
                    .options
                    .iter()
                    .map(|o| {
                        (o.id.clone(), self.render(&o.title), o.description.as_ref().map(|d| self.render(d)))
                    })
                    .collect();
                self.choice_message(&prompt, &options)
            }
            input::Kind::YesNo => Buttons::new(
                prompt.clone(),
                vec![
                    Button::new("yes", phrases::say(&language, Phrase::Yes)),
                    Button::new("no", phrases::say(&language, Phrase::No)),
                ],
            )
            .ok()
            .map(Outbound::from),
            _ => None,
        };
        match rendered {
            Some(message) => self.messages.push(message),
            None if matches!(question.kind, input::Kind::Choice) => {
                // Rendered options broke a limit (a variable longer than the compiler assumed):
                // numbered text still works, since answers by number are accepted.
                let mut text = prompt;
                for (i, o) in question.options.iter().enumerate() {
                    text.push_str(&format!("\n{}. {}", i + 1, self.render(&o.title)));
                }
                self.text(text);
            }
            None => self.text(prompt),
        }
    }

    fn choice_message(&self, prompt: &str, options: &[(String, String, Option<String>)]) -> Option<Outbound> {
        let language = &self.session.language;
        if options.len() <= BUTTONS_MAX && options.iter().all(|(_, t, _)| utf16_len(t) <= BUTTON_TITLE_MAX) {
            let buttons =
                options.iter().map(|(id, title, _)| Button::new(id.clone(), title.clone())).collect();
            return Buttons::new(prompt, buttons).ok().map(Outbound::from);
        }
        let row = |(id, title, description): &(String, String, Option<String>)| {
            let row = Row::new(id.clone(), title.clone());
            match description {
                Some(d) => row.described(d.clone()),
                None => row,
            }
        };
        let mut rows: Vec<Row> = if options.len() <= ROWS_MAX {
            options.iter().map(row).collect()
        } else {
            let pages = options.len().div_ceil(PAGE);
            let page = self.session.page % pages;
            let mut rows: Vec<Row> = options.iter().skip(page * PAGE).take(PAGE).map(row).collect();
            let more = if page + 1 == pages { Phrase::FirstOptions } else { Phrase::MoreOptions };
            rows.push(Row::new(MORE_ID, phrases::say(language, more)));
            rows
        };
        rows.truncate(ROWS_MAX);
        let sections = vec![Section { title: None, rows }];
        List::new(prompt, phrases::say(language, Phrase::ListButton), sections).ok().map(Outbound::from)
    }

    /// The options on screen now: all of them, or the current page of a long choice.
    fn on_screen<'q>(&self, question: &'q Question) -> &'q [Choice] {
        let options = &question.options;
        if options.len() <= ROWS_MAX {
            return options;
        }
        let pages = options.len().div_ceil(PAGE);
        let start = (self.session.page % pages) * PAGE;
        &options[start..(start + PAGE).min(options.len())]
    }

    fn answer(&mut self, event: Event) {
        let bundle = self.bundle;
        let Some(step) = bundle.step(&self.session.flow, &self.session.step) else { return self.broken() };
        let Kind::Ask(question) = &step.kind else { return self.broken() };
        let text = match event {
            Event::Text(text) => text,
            Event::Choice { id, title } => {
                if id == MORE_ID && question.options.len() > ROWS_MAX {
                    self.session.page += 1;
                    return self.ask(question);
                }
                if let Some(option) = question.options.iter().find(|o| o.id == id) {
                    return self.accept(question, option.id.clone(), Some(option));
                }
                if matches!(question.kind, input::Kind::YesNo) && (id == "yes" || id == "no") {
                    return self.accept(question, id, None);
                }
                title
            }
            Event::Unreadable => return self.refuse(question, None),
            Event::ActionDone(_) => return,
        };
        match &question.kind {
            input::Kind::Choice => match self.pick(question, &text) {
                Some(option) => self.accept(question, option.id.clone(), Some(option)),
                None => {
                    // Words that start another flow still work from a menu.
                    if self.session.flow == MAIN_MENU
                        && let Some(flow) = self.current.trigger(&self.session.language, &text)
                    {
                        let flow = flow.to_owned();
                        return self.start(&flow);
                    }
                    if self.switch_to_request() {
                        return;
                    }
                    self.unsure |= self.session.flow == MAIN_MENU;
                    self.refuse(question, Some(Rejection::NotAnOption))
                }
            },
            input::Kind::YesNo => {
                let number = match normalise(&text).as_str() {
                    "1" => Some("yes"),
                    "2" => Some("no"),
                    _ => None,
                };
                match number.or_else(|| input::yes_no(&text)) {
                    Some(answer) => self.accept(question, answer.to_owned(), None),
                    None if self.switch_to_request() => {}
                    None => self.refuse(question, Some(Rejection::NotYesNo)),
                }
            }
            kind => match input::parse(kind, &text, self.cx.country_code, self.cx.currency) {
                Ok(value) => self.accept(question, value, None),
                Err(_) if !kind.is_secret() && self.switch_to_request() => {}
                Err(rejection) => self.refuse(question, Some(rejection)),
            },
        }
    }

    /// Answers `question` with a value understood from the request: as if typed, so the same
    /// parser decides; a value it refuses is explained and the question asked.
    fn fill(&mut self, question: &Question, value: &str) {
        if matches!(question.kind, input::Kind::Choice) {
            return match question.options.iter().find(|o| o.id == value) {
                Some(option) => self.accept(question, option.id.clone(), Some(option)),
                None => self.ask(question),
            };
        }
        match input::parse(&question.kind, value, self.cx.country_code, self.cx.currency) {
            Ok(value) => self.accept(question, value, None),
            Err(rejection) => {
                let error = self.refusal(question, Some(rejection));
                self.text(error);
                self.ask(question);
            }
        }
    }

    /// The option `text` names: by its number on screen, its id, or its title in any language.
    fn pick<'q>(&self, question: &'q Question, text: &str) -> Option<&'q Choice> {
        let typed = normalise(text);
        let shown = self.on_screen(question);
        if let Ok(n) = typed.trim_end_matches('.').parse::<usize>() {
            return n.checked_sub(1).and_then(|i| shown.get(i));
        }
        // Titles are compared as the customer saw them rendered.
        let vars = self.vars(false);
        question.options.iter().find(|o| {
            o.id == typed
                || o.title
                    .by_language
                    .iter()
                    .any(|(_, t, _)| normalise(&t.render(&vars, self.render_context())) == typed)
        })
    }

    /// An answer that does not fit the question but is a clear request for something else
    /// ("what's my balance" asked for an amount) starts that request's flow instead.
    fn switch_to_request(&mut self) -> bool {
        let other = self
            .request()
            .and_then(|intent| self.current.intents.get(&intent))
            .is_some_and(|flow| *flow != self.session.flow);
        other && self.start_request()
    }

    fn accept(&mut self, question: &Question, value: String, option: Option<&Choice>) {
        if let Some(save) = &question.save {
            if question.kind.is_secret() {
                self.session.secrets.insert(save.clone(), value);
            } else {
                if save == LANGUAGE_VARIABLE {
                    self.session.language = value.clone();
                }
                self.session.vars.insert(save.clone(), value);
            }
        }
        match question.after(option) {
            Some(next) => self.enter(next.clone()),
            None => self.broken(),
        }
    }

    fn refuse(&mut self, question: &Question, rejection: Option<Rejection>) {
        self.session.attempts += 1;
        if self.session.attempts >= question.attempts {
            return match &question.on_fail {
                Some(on_fail) => self.enter(on_fail.clone()),
                None => {
                    self.phrase(Phrase::TooManyTries);
                    self.start(HELP);
                }
            };
        }
        let error = self.refusal(question, rejection);
        self.text(error);
        // Choices come back on screen so they can be tapped; a typed answer needs only the hint.
        if matches!(question.kind, input::Kind::Choice | input::Kind::YesNo) {
            self.ask(question);
        }
    }

    /// Why an answer to `question` was not taken: the question's own `error:`, else the type's
    /// explanation; `None` for a message that is not text at all.
    fn refusal(&self, question: &Question, rejection: Option<Rejection>) -> String {
        let language = &self.session.language;
        match (&question.error, rejection) {
            (_, None) => phrases::say(language, Phrase::TextOnly).to_owned(),
            (Some(custom), Some(_)) => self.render(custom),
            (None, Some(rejection)) => {
                let amount = matches!(question.kind, input::Kind::Amount { .. });
                phrases::refused(language, &rejection, amount, self.cx.currency)
            }
        }
    }

    fn action_done(&mut self, outcome: ActionOutcome) {
        let bundle = self.bundle;
        let Some(step) = bundle.step(&self.session.flow, &self.session.step) else { return self.broken() };
        let Kind::Action { save, on, .. } = &step.kind else { return self.broken() };
        self.session.secrets.clear();
        if let Some(save) = save {
            for (output, value) in &outcome.outputs {
                self.session.vars.insert(format!("{save}.{output}"), value.clone());
            }
        }
        let next = on
            .iter()
            .find(|(code, _)| *code == outcome.code)
            .or_else(|| on.iter().find(|(code, _)| code == OTHER_RESULT))
            .map(|(_, target)| target.clone());
        self.session.status = Status::Asking;
        match next {
            Some(next) => self.enter(next),
            None => self.broken(),
        }
    }
}

/// `text` in pieces of at most `max` UTF-16 units, cut at line breaks or spaces where possible.
fn split(text: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while utf16_len(rest) > max {
        let mut cut = 0;
        let mut units = 0;
        let mut soft = None;
        for (i, c) in rest.char_indices() {
            units += c.len_utf16();
            if units > max {
                break;
            }
            cut = i + c.len_utf8();
            if c == '\n' || c == ' ' {
                soft = Some(cut);
            }
        }
        let cut = match soft.unwrap_or(cut) {
            0 => rest.chars().next().map_or(rest.len(), char::len_utf8),
            cut => cut,
        };
        pieces.push(rest[..cut].trim_end().to_owned());
        rest = &rest[cut..];
    }
    if !rest.trim().is_empty() {
        pieces.push(rest.to_owned());
    }
    pieces
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
