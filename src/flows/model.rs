//! A flow file as written: the YAML schema, with the position of everything a diagnostic may
//! point at. `flows/README.md` is the reference for admins; this is its type-level twin.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use marked_yaml::Spanned;
use serde::Deserialize;

/// One flow file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowFile {
    /// The flow's id; the file must be named `<flow>.yaml`.
    pub flow: Spanned<String>,
    /// What the flow is for, for admins.
    #[serde(default)]
    pub description: Option<String>,
    /// Words that start this flow from anywhere, per language.
    #[serde(default)]
    pub triggers: Option<Spanned<BTreeMap<String, Vec<Spanned<String>>>>>,
    /// The requests, understood from free text, that start this flow ("send 5k to Ada" is a
    /// `transfer`): intents from [`super::understanding::Intent`], each claimed by one flow at most.
    #[serde(default)]
    pub intents: Option<Spanned<Vec<Spanned<String>>>>,
    /// How long an idle session in this flow lives, in minutes (money flows: short).
    #[serde(default)]
    pub session_minutes: Option<Spanned<u32>>,
    /// Whether customers who have not registered may use it (registration, help, language).
    #[serde(default)]
    pub guests: Option<Spanned<bool>>,
    /// Whether, asked for in the middle of another flow's question, it is answered there and
    /// that question asked again, with what was given kept (the balance at a transfer's
    /// amount). It asks nothing (so it moves no money).
    #[serde(default)]
    pub aside: Option<Spanned<bool>>,
    /// The first step.
    pub start: Spanned<String>,
    /// The steps, read one by one from the parsed node (so each error is placed in its step).
    pub steps: serde::de::IgnoredAny,
}

/// Customer-facing text: one string per language, or `any` for text that reads the same in
/// every language (a number, a brand name).
pub type Text = Spanned<IndexMap<Spanned<String>, Spanned<String>>>;

/// One step. Exactly one of `say`, `ask`, `action`, `branch` or `go` says what it does.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Send a message.
    #[serde(default)]
    pub say: Option<Text>,
    /// Ask a question whose answer has this type.
    #[serde(default)]
    pub ask: Option<Spanned<String>>,
    /// The question (for `ask`).
    #[serde(default)]
    pub prompt: Option<Text>,
    /// The choices (for `ask: choice`).
    #[serde(default)]
    pub options: Option<Spanned<Vec<Choice>>>,
    /// Smallest accepted number or amount.
    #[serde(default)]
    pub min: Option<Spanned<i64>>,
    /// Largest accepted number or amount.
    #[serde(default)]
    pub max: Option<Spanned<i64>>,
    /// A regular expression the whole answer must match (required for `id_number`).
    #[serde(default)]
    pub pattern: Option<Spanned<String>>,
    /// Said when an answer is not accepted (a default per type otherwise).
    #[serde(default)]
    pub error: Option<Text>,
    /// Answers accepted before giving up (default 3).
    #[serde(default)]
    pub attempts: Option<Spanned<u32>>,
    /// A value understood from free text that answers this question when the flow starts from
    /// a request (`amount`, `recipient`, `destination`); the customer is not asked again.
    #[serde(default)]
    pub fill: Option<Spanned<String>>,
    /// Where to go after too many unaccepted answers (default: the help flow).
    #[serde(default)]
    pub on_fail: Option<Spanned<String>>,
    /// The session variable the answer or the action's result is kept in.
    #[serde(default)]
    pub save: Option<Spanned<String>>,
    /// Call an action from the bank's catalogue.
    #[serde(default)]
    pub action: Option<Spanned<String>>,
    /// The action's inputs: `name: "{{variable}}"`.
    #[serde(default)]
    pub with: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    /// Where each of the action's result codes leads.
    #[serde(default)]
    pub on: Option<Spanned<IndexMap<Spanned<String>, Spanned<String>>>>,
    /// Conditions tried in order; the first that holds decides where to go.
    #[serde(default)]
    pub branch: Option<Spanned<Vec<Case>>>,
    /// Go straight to another step or flow.
    #[serde(default)]
    pub go: Option<Spanned<String>>,
    /// Where to go after `say` or an accepted answer.
    #[serde(default)]
    pub next: Option<Spanned<String>>,
    /// The flow ends after this step's message.
    #[serde(default)]
    pub end: Option<Spanned<bool>>,
}

/// One option of a choice.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// Its stable id: what analytics, tests and the customer's tap refer to.
    pub id: Spanned<String>,
    /// What the customer sees.
    pub title: Text,
    /// A line under the title (lists only).
    #[serde(default)]
    pub description: Option<Text>,
    /// Where choosing it leads (default: the step's `next`).
    #[serde(default)]
    pub go: Option<Spanned<String>>,
    /// Other words that pick it when typed, `|` between them ("{{line.network_name}}" for
    /// "Yes" at "Is that the right network?"): never shown.
    #[serde(default)]
    pub also: Option<Text>,
    /// Requests that pick it when it is on screen (`[requirements]` for the welcome's "What I
    /// need"), besides the intent its id names.
    #[serde(default)]
    pub intents: Option<Spanned<Vec<Spanned<String>>>>,
}

/// One case of a branch: `if` a condition, `go` there; or `else`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The condition.
    #[serde(default, rename = "if")]
    pub condition: Option<Condition>,
    /// Where to go when it holds.
    #[serde(default)]
    pub go: Option<Spanned<String>>,
    /// Where to go when no case before held.
    #[serde(default, rename = "else")]
    pub otherwise: Option<Spanned<String>>,
}

/// A test on a session variable.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The variable.
    pub var: Spanned<String>,
    /// Holds when the variable has this value.
    #[serde(default)]
    pub equals: Option<Spanned<String>>,
    /// Holds when the variable is set (`true`) or not (`false`).
    #[serde(default)]
    pub set: Option<Spanned<bool>>,
}
