//! Asking and answering: the question a step shows, the answer the customer gives (typed,
//! tapped or filled from what they asked for), its refusal, and an action's outcome.

use crate::flows::actions::{ActionOutcome, OTHER_RESULT};
use crate::flows::graph::{
    Choice, HELP, Kind, MAIN_MENU, Question, REGISTRATION, Target, WELCOME, normalise,
};
use crate::flows::input::{self, Rejection};
use crate::flows::names::LANGUAGE_VARIABLE;
use crate::flows::phrases::{self, Global, Phrase};
use crate::flows::template::Lookup;
use crate::flows::understanding::Intent;

use crate::whatsapp::outbound::{
    BUTTON_TITLE_MAX, BUTTONS_MAX, Button, Buttons, List, Outbound, ROWS_MAX, Row, Section, utf16_len,
};

use super::{Event, MORE_ID, PAGE, Run, SAID, SessionVars, Status};

impl<'a> Run<'a> {
    pub(super) fn ask(&mut self, question: &Question) {
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
                    Button::new("yes", self.bundle.phrases.say(&language, Phrase::Yes)),
                    Button::new("no", self.bundle.phrases.say(&language, Phrase::No)),
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

    pub(super) fn choice_message(
        &self,
        prompt: &str,
        options: &[(String, String, Option<String>)],
    ) -> Option<Outbound> {
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
            rows.push(Row::new(MORE_ID, self.bundle.phrases.say(language, more)));
            rows
        };
        rows.truncate(ROWS_MAX);
        let sections = vec![Section { title: None, rows }];
        List::new(prompt, self.bundle.phrases.say(language, Phrase::ListButton), sections)
            .ok()
            .map(Outbound::from)
    }

    pub(super) fn on_screen<'q>(&self, question: &'q Question) -> &'q [Choice] {
        let options = &question.options;
        if options.len() <= ROWS_MAX {
            return options;
        }
        let pages = options.len().div_ceil(PAGE);
        let start = (self.session.page % pages) * PAGE;
        &options[start..(start + PAGE).min(options.len())]
    }

    pub(super) fn answer(&mut self, event: Event) {
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
            Event::Checked if question.kind.is_secret() => return self.accept(question, String::new(), None),
            Event::Checked => return self.refuse(question, None),
            Event::ActionDone(_) => return,
        };
        match &question.kind {
            input::Kind::Choice => {
                match self.pick(question, &text).or_else(|| self.requested_option(question)) {
                    Some(option) => {
                        // "Glo" at "Is MTN right?" also answers "Which network?" next.
                        if option.also.is_some()
                            && self.also_picks(option, &normalise(&text), &SessionVars(self))
                        {
                            self.session.fills.insert(SAID.to_owned(), text.clone());
                        }
                        self.accept(question, option.id.clone(), Some(option))
                    }
                    None => self.not_an_option(question, &text),
                }
            }
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
            // "Hi" at "What is your first name?" (a form on screen, or the question scrolled
            // away) is a greeting, not a name: it is answered in kind and the question asked
            // again. Given again at once, a greeting word is taken as the name it may be.
            input::Kind::Name if self.session.attempts == 0 && self.request() == Some(Intent::Greeting) => {
                self.session.attempts += 1;
                self.phrase(Phrase::GreetingBack);
                self.ask(question)
            }
            kind => match input::parse(kind, &text, self.cx.country_code, self.cx.currency) {
                Ok(value) => self.accept(question, value, None),
                // At a PIN or code question only words without a digit may be a request
                // ("I forgot my PIN"): anything with one may hold the secret.
                Err(_) if (!kind.is_secret() || !input::has_digit(&text)) && self.switch_to_request() => {}
                // "No" at "How much?" or at the PIN: the customer stops there.
                Err(_) if input::refusal(&text) => self.global(Global::Cancel),
                Err(_) if !kind.is_secret() && self.keep_named_values() => self.ask_again_filled(),
                Err(rejection) => self.refuse(question, Some(rejection)),
            },
        }
    }

    /// A typed answer that is none of the options: a trigger word at the menu or a request
    /// for another flow starts it; thanks, a greeting or a goodbye is answered in kind; anything
    /// else is refused.
    fn not_an_option(&mut self, question: &Question, text: &str) {
        // Words that start another flow still work from a menu.
        if self.session.flow == MAIN_MENU
            && let Some(flow) = self.current.trigger(&self.session.language, text)
        {
            self.greet_back();
            let flow = flow.to_owned();
            return self.start(&flow);
        }
        if self.switch_to_request() {
            return;
        }
        // "No" where no option is no ("Where should the money go?"): the customer does not
        // want to go on. The menu, and a stranger's welcome, take it as a goodbye and stay, to
        // be answered later.
        if input::refusal(text) {
            return match [MAIN_MENU, WELCOME].contains(&self.session.flow.as_str()) {
                true => self.phrase(Phrase::Goodbye),
                false => self.global(Global::Cancel),
            };
        }
        // "My money never enter since yesterday" at "What is your complaint about?": an
        // option's title written inside a longer message.
        if let Some(option) = self.option_within(question, text) {
            return self.accept(question, option.id.clone(), Some(option));
        }
        // "Thank you" at a choice is answered in kind, not refused; so is "how far"
        // at the menu a greeting would open.
        if phrases::thanks(text) {
            self.phrase(Phrase::YouAreWelcome);
            return self.ask(question);
        }
        if self.request() == Some(Intent::Greeting) {
            self.phrase(Phrase::GreetingBack);
            return self.ask(question);
        }
        // "Bye" is answered in kind; the question stays, to be answered later.
        if phrases::farewell(text) {
            return self.phrase(Phrase::Goodbye);
        }
        if self.keep_named_values() {
            return self.ask_again_filled();
        }
        self.unsure |= self.session.flow == MAIN_MENU;
        self.refuse(question, Some(Rejection::NotAnOption))
    }

    /// An answer to a flow's first question that does not fit but asks for the flow and names
    /// values for it ("1GB" at "Who is the data for?"): the values are kept for the questions
    /// they fill, as if the flow had been started with them, and the answer is no mistake. True
    /// when it named any. Further on (at a confirmation) such words are refused as before, so
    /// that nobody takes a question asked again for a change they asked for.
    fn keep_named_values(&mut self) -> bool {
        let Some(understood) = self.cx.understood else { return false };
        let flow = self.session.flow.as_str();
        let first = self.bundle.flows.get(flow).is_some_and(|f| f.start == self.session.step);
        if !first || self.requested_flow() != Some(flow) {
            return false;
        }
        let fills = understood.fills();
        let named = !fills.is_empty();
        for (entity, value) in fills {
            self.session.fills.entry(entity).or_insert(value);
        }
        named
    }

    /// The question on screen, entered again: a value kept for it answers it, else it is asked
    /// again as it was first asked.
    fn ask_again_filled(&mut self) {
        self.enter(Target::Step(self.session.step.clone()));
    }

    pub(super) fn fill(&mut self, question: &Question, value: &str) {
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

    pub(super) fn pick<'q>(&self, question: &'q Question, text: &str) -> Option<&'q Choice> {
        let typed = normalise(text);
        let shown = self.on_screen(question);
        if let Ok(n) = typed.trim_end_matches('.').parse::<usize>() {
            return n.checked_sub(1).and_then(|i| shown.get(i));
        }
        // Titles are compared as the customer saw them rendered.
        let vars = SessionVars(self);
        let titles: Vec<(&Choice, Vec<String>)> = question
            .options
            .iter()
            .map(|o| {
                let titles = o.title.by_language.iter();
                (o, titles.map(|(_, t, _)| normalise(&t.render(&vars, self.render_context()))).collect())
            })
            .collect();
        if let Some((option, _)) = titles.iter().find(|(o, t)| o.id == typed || t.contains(&typed)) {
            return Some(option);
        }
        // Other words an option takes ("MTN" for "Yes" at "Is that the right network?"), in
        // any language: before yes and no, which they say more precisely.
        if let Some(option) = question.options.iter().find(|o| self.also_picks(o, &typed, &vars)) {
            return Some(option);
        }
        if let Some(option) = input::yes_no(&typed).and_then(|answer| yes_or_no(question, answer)) {
            return Some(option);
        }
        // A word of one title only: "bank" for "Another bank".
        let mut having = titles.iter().filter(|(_, t)| t.iter().any(|t| t.split(' ').any(|w| w == typed)));
        match (having.next(), having.next()) {
            (Some((option, _)), None) if typed.chars().count() >= 3 => Some(option),
            _ => None,
        }
    }

    /// The one option whose title, or one of whose other words (`also:`), of two words or
    /// more (in any language, as rendered) is written inside `text` with no word of denial
    /// outside them ("not my number" is not "My number"; "debited but the person did not
    /// receive it" is "A transfer failed", the "not" inside its own words).
    fn option_within<'q>(&self, question: &'q Question, text: &str) -> Option<&'q Choice> {
        const DENIALS: [&str; 9] = ["not", "no", "dont", "never", "isnt", "aint", "wasnt", "didnt", "nor"];
        let typed = words(text);
        let vars = SessionVars(self);
        // Which of the typed words each option's words cover, for the options found there.
        let mut found = question.options.iter().filter_map(|o| {
            let titles =
                o.title.by_language.iter().map(|(_, title, _)| title.render(&vars, self.render_context()));
            let also = o.also.iter().flat_map(|a| a.by_language.iter());
            let also = also.flat_map(|(_, w, _)| {
                w.render(&vars, self.render_context()).split('|').map(str::to_owned).collect::<Vec<_>>()
            });
            let mut covered = vec![false; typed.len()];
            for phrase in titles.chain(also).map(|p| words(&p)) {
                if let Some(at) = typed.windows(phrase.len().max(2)).position(|w| w == phrase.as_slice()) {
                    covered[at..at + phrase.len()].fill(true);
                }
            }
            covered.contains(&true).then_some((o, covered))
        });
        let (Some((option, covered)), None) = (found.next(), found.next()) else { return None };
        let denied = typed.iter().zip(covered).any(|(w, inside)| !inside && DENIALS.contains(&w.as_str()));
        (!denied).then_some(option)
    }

    /// Whether `typed` (normalised) is one of `option`'s other words (`also:`), as rendered now.
    fn also_picks(&self, option: &Choice, typed: &str, vars: &impl Lookup) -> bool {
        option.also.iter().flat_map(|a| a.by_language.iter()).any(|(_, words, _)| {
            words.render(vars, self.render_context()).split('|').any(|w| normalise(w) == typed)
        })
    }

    /// A request that the first question of the flow it started has an option for (a
    /// stranger's "how much to open an account?" at the welcome), answered with that option
    /// instead of the list that offers it.
    pub(super) fn answer_the_request(&mut self) {
        let bundle = self.bundle;
        let Some(Kind::Ask(question)) = bundle.step(&self.session.flow, &self.session.step).map(|s| &s.kind)
        else {
            return;
        };
        if self.session.status != Status::Asking {
            return;
        }
        if let Some(option) = self.requested_option(question) {
            self.messages.pop();
            self.accept(question, option.id.clone(), Some(option));
        }
    }

    /// The option on screen that answers the request just made: by its id ("what are your
    /// charges" at the welcome's `fees`) or by its `intents` ("what do I need to open an
    /// account" at the welcome's `how`), when the request names no values its own flow would be
    /// started with.
    fn requested_option<'q>(&self, question: &'q Question) -> Option<&'q Choice> {
        let intent = self.request().filter(|i| *i != Intent::Cancel)?;
        if !self.cx.understood.is_some_and(|u| u.fills().is_empty()) {
            return None;
        }
        question.options.iter().find(|o| o.id == intent.as_str() || o.intents.contains(&intent))
    }

    /// `text` is an answer the question on screen takes (a "hello?" is not).
    pub(super) fn accepts(&self, text: &str) -> bool {
        let step = self.bundle.step(&self.session.flow, &self.session.step);
        let Some(Kind::Ask(question)) = step.map(|s| &s.kind) else { return false };
        match &question.kind {
            input::Kind::Choice => self.pick(question, text).is_some(),
            input::Kind::YesNo => input::yes_no(text).is_some(),
            kind => input::parse(kind, text, self.cx.country_code, self.cx.currency).is_ok(),
        }
    }

    /// `text` answers the choice (or yes/no question) on screen.
    pub(super) fn picks_an_option(&self, text: &str) -> bool {
        let step = self.bundle.step(&self.session.flow, &self.session.step);
        let choice = matches!(step.map(|s| &s.kind), Some(Kind::Ask(q)) if matches!(q.kind, input::Kind::Choice | input::Kind::YesNo));
        self.session.status == Status::Asking && choice && self.accepts(text)
    }

    pub(super) fn switch_to_request(&mut self) -> bool {
        let Some(flow) = self.requested_flow().filter(|flow| *flow != self.session.flow) else {
            return false;
        };
        // "The transfer" at "What is your complaint about?", "how much is the least?" at an
        // amount: a word that only may carry a request is part of the answer there, not a new
        // transfer or the balance. The menu takes it as a request.
        if self.cx.understood.is_some_and(|u| u.weak) && self.session.flow != MAIN_MENU {
            return false;
        }
        // "I no get BVN" or "I don't remember my NIN" where a question asks for it (to open an
        // account, to reset a PIN): how to see each, and the question again.
        if matches!(self.request(), Some(Intent::Requirements | Intent::IdNumber))
            && self.asks_for_id_number()
        {
            self.phrase(Phrase::FindIdNumber);
            self.enter(Target::Step(self.session.step.clone()));
            return true;
        }
        // A stranger opening an account who asks what the welcome answers ("what do I need" at
        // the birthday, "how much are your charges?" at the BVN) gets the welcome's answer as an
        // aside, up to its next question, and then registration's question again: what they gave
        // so far is kept.
        if self.session.flow == REGISTRATION
            && let Some(Target::Step(step)) = self.welcome_option().and_then(|o| o.go.as_ref())
            && self.may_step_aside()
        {
            let step = step.clone();
            self.step_aside_at(WELCOME, &step);
            return true;
        }
        // One who asks for what only an account can do ("balance" at the terms) is told it comes
        // after, and keeps what they gave so far: the welcome, which the request would lead to,
        // would drop it.
        if self.session.flow == REGISTRATION && self.admitted(flow) != flow && self.welcome_option().is_none()
        {
            self.phrase(Phrase::AfterRegistration);
            self.enter(Target::Step(self.session.step.clone()));
            return true;
        }
        // "What's my balance?" at a transfer's amount: answered there, and the amount asked for
        // again, with the recipient kept.
        if self.steps_aside_to(flow) {
            let flow = flow.to_owned();
            self.step_aside(&flow);
            return true;
        }
        self.start_request()
    }

    /// Whether the question on screen asks for an identity number (a BVN or NIN).
    fn asks_for_id_number(&self) -> bool {
        let step = self.bundle.step(&self.session.flow, &self.session.step);
        matches!(step.map(|s| &s.kind), Some(Kind::Ask(q)) if matches!(q.kind, input::Kind::IdNumber(_)))
    }

    /// The option of the welcome's first question that answers the request just made.
    fn welcome_option(&self) -> Option<&'a Choice> {
        let welcome = self.current.flows.get(WELCOME)?;
        let Kind::Ask(question) = &self.current.step(WELCOME, &welcome.start)?.kind else { return None };
        self.requested_option(question)
    }

    /// The message the welcome answers the request just made with, when its option leads to a
    /// step that only says something (its `how`, what opening an account needs).
    pub(super) fn welcome_says(&self) -> Option<String> {
        let Some(Target::Step(step)) = &self.welcome_option()?.go else { return None };
        match &self.current.step(WELCOME, step)?.kind {
            Kind::Say { text, .. } => Some(self.render(text)),
            _ => None,
        }
    }

    pub(super) fn accept(&mut self, question: &Question, value: String, option: Option<&Choice>) {
        if let Some(save) = &question.save {
            if question.kind.is_secret() {
                self.session.secrets.insert(save.clone(), value);
            } else {
                if save == LANGUAGE_VARIABLE {
                    self.session.language = value.clone();
                }
                if question.kind.is_private() {
                    self.session.private.insert(save.clone());
                }
                self.session.vars.insert(save.clone(), value);
            }
        }
        match question.after(option) {
            Some(next) => self.enter(next.clone()),
            None => self.broken(),
        }
    }

    pub(super) fn refuse(&mut self, question: &Question, rejection: Option<Rejection>) {
        self.session.attempts += 1;
        if self.session.attempts >= question.attempts {
            return match &question.on_fail {
                Some(on_fail) => self.enter(on_fail.clone()),
                None => {
                    // Not "another way" that is the same help text: the numbered menu, from which
                    // anything can start (the help flow only when the menu itself was missed).
                    if self.nothing_sent() {
                        self.phrase(Phrase::TooManyTriesNothingSent);
                        self.start(MAIN_MENU);
                    } else if self.session.flow == MAIN_MENU {
                        self.phrase(Phrase::TooManyTries);
                        self.start(HELP);
                    } else {
                        self.phrase(Phrase::MissedFewTimes);
                        self.start(MAIN_MENU);
                    }
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

    pub(super) fn refusal(&self, question: &Question, rejection: Option<Rejection>) -> String {
        let language = &self.session.language;
        match (&question.error, rejection) {
            (_, None) => self.bundle.phrases.say(language, Phrase::TextOnly).to_owned(),
            (Some(custom), Some(_)) => self.render(custom),
            (None, Some(rejection)) => {
                let amount = matches!(question.kind, input::Kind::Amount { .. });
                self.bundle.phrases.refused(language, &rejection, amount, self.cx.currency)
            }
        }
    }

    pub(super) fn action_done(&mut self, outcome: ActionOutcome) {
        let bundle = self.bundle;
        let Some(step) = bundle.step(&self.session.flow, &self.session.step) else { return self.broken() };
        let Kind::Action { save, on, moves_money, .. } = &step.kind else { return self.broken() };
        self.session.moved_money |= *moves_money;
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
/// The stable option ids that go ahead with what was asked, and those that do not.
/// The option a typed yes or no picks: "yes", "ok", "send am" the one that goes ahead; "no",
/// "no send am" the one that does not, or, where the only other answer to a yes is not called
/// no ("Is that the right network?" with Yes and Another network), that other answer.
fn yes_or_no<'q>(question: &'q Question, answer: &str) -> Option<&'q Choice> {
    let ids: &[&str] = if answer == "yes" { &AHEAD } else { &NOT_AHEAD };
    if let Some(option) = question.options.iter().find(|o| ids.contains(&o.id.as_str())) {
        return Some(option);
    }
    let [a, b] = question.options.as_slice() else { return None };
    let ahead = |o: &Choice| AHEAD.contains(&o.id.as_str());
    match (answer == "yes", ahead(a), ahead(b)) {
        (false, true, false) => Some(b),
        (false, false, true) => Some(a),
        _ => None,
    }
}

/// `text`'s words, folded, without apostrophes ("don't" is "dont").
fn words(text: &str) -> Vec<String> {
    let folded = normalise(text).replace(['\'', '’'], "");
    folded.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

const AHEAD: [&str; 5] = ["confirm", "yes", "accept", "open", "_resume"];
const NOT_AHEAD: [&str; 4] = ["cancel", "no", "decline", "_restart"];

pub(super) fn split(text: &str, max: usize) -> Vec<String> {
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
