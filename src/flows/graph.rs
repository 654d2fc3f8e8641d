//! Compiled flows: what the engine runs. Built by the compiler only from flows that checked
//! without errors, so every target exists, every text has every language and every template
//! parsed.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use super::input;
use super::template::Template;
use super::understanding::Intent;

/// The flow every conversation comes back to.
pub const MAIN_MENU: &str = "main_menu";
/// The flow `help` opens, and where repeated failure leads.
pub const HELP: &str = "help";
/// Where an unregistered customer is taken instead of a flow not open to guests (when the
/// bundle has no welcome).
pub const REGISTRATION: &str = "registration";
/// Where a customer who has not registered goes when they ask for anything else: who the bank
/// is, what the chat does, and the way to open an account (registration when there is none).
pub const WELCOME: &str = "welcome";
/// Flows every bundle must have.
pub const REQUIRED_FLOWS: [&str; 2] = [MAIN_MENU, HELP];

/// A place in a flow file, for diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// Where a transition leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A step of the same flow.
    Step(String),
    /// The start of another flow.
    Flow(String),
}

impl Target {
    /// Reads `step` or `flow:<id>`.
    pub fn parse(raw: &str) -> Target {
        match raw.strip_prefix("flow:") {
            Some(flow) => Target::Flow(flow.trim().to_owned()),
            None => Target::Step(raw.to_owned()),
        }
    }
}

/// A text in every language, each a template.
#[derive(Debug, Clone)]
pub struct Texts {
    /// By language code (or `any`), each with where it is written.
    pub by_language: Vec<(String, Template, Pos)>,
}

impl Texts {
    /// The text in `language`, else the one for every language, else the first written.
    pub fn get(&self, language: &str) -> &Template {
        self.by_language
            .iter()
            .find(|(l, _, _)| l == language)
            .or_else(|| self.by_language.iter().find(|(l, _, _)| l == crate::locale::ANY_LANGUAGE))
            .or_else(|| self.by_language.first())
            .map_or(&EMPTY, |(_, t, _)| t)
    }

    /// Every template, with where it is written.
    pub fn all(&self) -> impl Iterator<Item = (&Template, Pos)> {
        self.by_language.iter().map(|(_, t, pos)| (t, *pos))
    }
}

static EMPTY: Template = Template::empty();

/// One option of a choice.
#[derive(Debug, Clone)]
pub struct Choice {
    /// Its stable id.
    pub id: String,
    /// What the customer sees.
    pub title: Texts,
    /// A line under it, in lists.
    pub description: Option<Texts>,
    /// Where it leads, when not the question's `next`.
    pub go: Option<Target>,
    /// Other words that pick it when typed, `|` between them.
    pub also: Option<Texts>,
    /// Requests that pick it when it is on screen, besides the intent its id names.
    pub intents: Vec<Intent>,
}

/// A question.
#[derive(Debug, Clone)]
pub struct Question {
    /// The answer's type.
    pub kind: input::Kind,
    /// The question.
    pub prompt: Texts,
    /// Said when an answer is refused, instead of the type's default.
    pub error: Option<Texts>,
    /// Answers refused before giving up.
    pub attempts: u32,
    /// Where to go after that (default: help).
    pub on_fail: Option<Target>,
    /// The variable the answer is kept in.
    pub save: Option<String>,
    /// Where an accepted answer leads (for a choice: options without their own `go`).
    pub next: Option<Target>,
    /// The options of a choice.
    pub options: Vec<Choice>,
    /// The understood value that answers it, when there is one (see [`super::understanding::entity`]).
    pub fill: Option<String>,
}

impl Question {
    /// Where accepting `option` (for choices) or any answer leads.
    pub fn after<'a>(&'a self, option: Option<&'a Choice>) -> Option<&'a Target> {
        option.and_then(|o| o.go.as_ref()).or(self.next.as_ref())
    }
}

/// A branch condition.
#[derive(Debug, Clone)]
pub enum Condition {
    /// The variable holds this value.
    Equals(String, String),
    /// The variable is set (`true`) or not (`false`).
    Set(String, bool),
}

impl Condition {
    /// The variable tested.
    pub fn var(&self) -> &str {
        match self {
            Condition::Equals(v, _) | Condition::Set(v, _) => v,
        }
    }

    /// Whether it holds for `vars`.
    pub fn holds(&self, vars: &BTreeMap<String, String>) -> bool {
        match self {
            Condition::Equals(v, value) => vars.get(v) == Some(value),
            Condition::Set(v, set) => vars.contains_key(v) == *set,
        }
    }
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Kind {
    /// Sends a message, then goes on (`None`: the flow ends).
    Say {
        /// The message.
        text: Texts,
        /// Where next; `None` ends the flow.
        next: Option<Target>,
    },
    /// Asks a question and waits for the answer.
    Ask(Box<Question>),
    /// Runs an action from the catalogue, then goes where its result says.
    Action {
        /// The action's name.
        name: String,
        /// Its inputs.
        with: Vec<(String, Template)>,
        /// Where its outputs are kept (`<save>.<output>`).
        save: Option<String>,
        /// Where each result code leads (`other` catches the rest).
        on: Vec<(String, Target)>,
        /// The action moves money: once it has run, a stop no longer says none was sent.
        moves_money: bool,
    },
    /// Goes to the first case that holds.
    Branch {
        /// The cases in order.
        cases: Vec<(Condition, Target)>,
        /// When none holds.
        otherwise: Target,
    },
    /// Goes on at once.
    Go(Target),
}

/// One step.
#[derive(Debug, Clone)]
pub struct Step {
    /// Its id.
    pub id: String,
    /// Where it is defined.
    pub pos: Pos,
    /// What it does.
    pub kind: Kind,
}

/// A compiled flow.
#[derive(Debug, Clone)]
pub struct Flow {
    /// Its id.
    pub id: String,
    /// The file it came from.
    pub file: PathBuf,
    /// How long an idle session in it lives.
    pub session_minutes: u32,
    /// Whether any of its actions moves money.
    pub moves_money: bool,
    /// Whether customers who have not registered may use it.
    pub guests: bool,
    /// Whether it is answered in the middle of another flow's question, which is then asked
    /// again (`aside: true`).
    pub aside: bool,
    /// The first step.
    pub start: String,
    /// Its steps by id.
    pub steps: HashMap<String, Step>,
}

/// Every flow of one version.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// A content hash of the sources: the version sessions are pinned to.
    pub version: String,
    /// The flows by id.
    pub flows: HashMap<String, Flow>,
    /// Trigger words: (language, normalised word) → flow.
    pub triggers: HashMap<(String, String), String>,
    /// The flow each understood request starts.
    pub intents: HashMap<Intent, String>,
    /// The engine's own words (`phrases.yaml`, else the built-in ones).
    pub phrases: super::phrasebook::Phrasebook,
}

impl Step {
    /// Everywhere it may lead.
    pub fn targets(&self) -> Vec<&Target> {
        match &self.kind {
            Kind::Say { next, .. } => next.iter().collect(),
            Kind::Ask(q) => q
                .next
                .iter()
                .chain(&q.on_fail)
                .chain(q.options.iter().filter_map(|o| o.go.as_ref()))
                .collect(),
            Kind::Action { on, .. } => on.iter().map(|(_, to)| to).collect(),
            Kind::Branch { cases, otherwise } => cases.iter().map(|(_, to)| to).chain([otherwise]).collect(),
            Kind::Go(to) => vec![to],
        }
    }
}

impl Bundle {
    /// Whether `flow` moves money, or goes straight on to a flow that does (`transfer`, which
    /// asks where to send before `send_to_customer` or `send_to_bank` takes over).
    pub fn leads_to_money(&self, flow: &str) -> bool {
        let moves = |id: &str| self.flows.get(id).is_some_and(|f| f.moves_money);
        moves(flow)
            || self.flows.get(flow).is_some_and(|f| {
                f.steps.values().flat_map(Step::targets).any(|to| matches!(to, Target::Flow(id) if moves(id)))
            })
    }

    /// The flow a trigger word in `language` (or, failing that, in any language) starts.
    pub fn trigger(&self, language: &str, text: &str) -> Option<&str> {
        let word = normalise(text);
        self.triggers
            .get(&(language.to_owned(), word.clone()))
            .or_else(|| self.triggers.iter().find(|((_, w), _)| *w == word).map(|(_, f)| f))
            .map(String::as_str)
    }

    /// The step `step` of `flow`.
    pub fn step(&self, flow: &str, step: &str) -> Option<&Step> {
        self.flows.get(flow).and_then(|f| f.steps.get(step))
    }
}

/// Lowercase, trimmed, inner spaces collapsed, trailing punctuation, accents and underdots
/// dropped ([`crate::locale::fold`]): how typed words
/// are compared with triggers, titles and global words.
pub fn normalise(text: &str) -> String {
    crate::locale::fold(
        text.split_whitespace().collect::<Vec<_>>().join(" ").trim_end_matches(['.', '!', '?']),
    )
}
