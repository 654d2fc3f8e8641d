//! From checked flow files to the compiled graph, and the checks that follow every path
//! through it: variables set before they are shown, action inputs collected before the action,
//! money never moved before the PIN or OTP is verified, secrets never shown.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::Path;

use marked_yaml::Spanned;
use sha2::{Digest, Sha256};

use super::actions::{Catalogue, OTHER_RESULT, VERIFIED};
use super::graph::{Bundle, Choice, Condition, Flow, Kind, Pos, Question, Step, Target, Texts};
use super::input;
use super::model::{self, Text};
use super::names::{
    BANK_NAME_VARIABLE, BUILTIN_VARIABLES, DEFAULT_WIDTH, LANGUAGE_VARIABLE, PHONE_VARIABLE, suggestion,
};
use super::parse::Parsed;
use super::report::Out;
use super::template::Template;
use super::understanding::Intent;

/// Idle minutes before a session expires, when the flow does not say: shorter for money.
const SESSION_MINUTES: u32 = 30;
const MONEY_SESSION_MINUTES: u32 = 5;
/// Answers refused before a question gives up, when it does not say.
const ATTEMPTS: u32 = 3;

/// The longest each variable of `flow` can hold: set by a question (its type's longest
/// answer), an action (its outputs) or teller itself.
pub(super) fn widths(flow: &Parsed, catalogue: &Catalogue) -> HashMap<String, usize> {
    let mut widths: HashMap<String, usize> = [
        (PHONE_VARIABLE.to_owned(), 15),
        (LANGUAGE_VARIABLE.to_owned(), 3),
        (BANK_NAME_VARIABLE.to_owned(), 40),
    ]
    .into_iter()
    .collect();
    for (_, step) in &flow.steps {
        let Some(save) = &step.save else { continue };
        if let Some(ask) = &step.ask {
            let width = input_kind(step, ask).map_or(DEFAULT_WIDTH, |k| k.max_width());
            let entry = widths.entry(save.to_string()).or_insert(0);
            *entry = (*entry).max(width);
        } else if let Some(spec) = step.action.as_ref().and_then(|a| catalogue.spec(a)) {
            for output in spec.results.iter().flat_map(|r| r.outputs) {
                widths.insert(format!("{}.{output}", **save), DEFAULT_WIDTH);
            }
        }
    }
    widths
}

fn input_kind(step: &model::Step, ask: &str) -> Option<input::Kind> {
    let (min, max) = (step.min.as_deref().copied(), step.max.as_deref().copied());
    Some(match ask {
        "text" => input::Kind::Text(match step.pattern.as_deref() {
            Some(pattern) => Some(whole(pattern)?),
            None => None,
        }),
        "name" => input::Kind::Name,
        "number" => input::Kind::Number { min, max },
        "amount" => input::Kind::Amount { min, max },
        "phone" => input::Kind::Phone,
        "pin" => input::Kind::Pin,
        "otp" => input::Kind::Otp,
        "date" => input::Kind::Date,
        "choice" => input::Kind::Choice,
        "yes_no" => input::Kind::YesNo,
        "id_number" => input::Kind::IdNumber(whole(step.pattern.as_deref()?)?),
        "account_number" => {
            input::Kind::AccountNumber(whole(step.pattern.as_ref().map_or(NUBAN, |p| p.as_str()))?)
        }
        _ => return None,
    })
}

/// What an `account_number` question takes when it names no pattern: a NUBAN's 10 digits.
const NUBAN: &str = "[0-9]{10}";

/// `pattern` as one that matches a whole answer or nothing: `a|ab` then takes "ab" whole, where
/// a search would stop at "a".
fn whole(pattern: &str) -> Option<regex::Regex> {
    regex::Regex::new(&format!("^(?:{pattern})$")).ok()
}

fn pos(span: &marked_yaml::Span) -> Pos {
    span.start().map_or(Pos { line: 1, column: 1 }, |m| Pos { line: m.line(), column: m.column() })
}

fn texts(text: &Text) -> Texts {
    let by_language = text
        .iter()
        .map(|(language, value)| {
            (language.to_string(), Template::parse(value).unwrap_or_default(), pos(value.span()))
        })
        .collect();
    Texts { by_language }
}

/// Lowers a flow whose structure checked clean.
pub(super) fn lower(path: &Path, flow: &Parsed, catalogue: &Catalogue) -> Flow {
    let mut steps = HashMap::new();
    let mut moves_money = false;
    for (name, step) in &flow.steps {
        let kind = if let Some(say) = &step.say {
            Kind::Say { text: texts(say), next: step.next.as_ref().map(|t| Target::parse(t)) }
        } else if let Some(ask) = &step.ask {
            lower_question(step, ask)
        } else if let Some(action) = &step.action {
            let moves = catalogue.spec(action).is_some_and(|s| s.moves_money);
            moves_money |= moves;
            let with = step
                .with
                .iter()
                .flat_map(|w| w.iter())
                .map(|(input, value)| (input.clone(), Template::parse(value).unwrap_or_default()))
                .collect();
            let on = step
                .on
                .iter()
                .flat_map(|o| o.iter())
                .map(|(code, to)| (code.to_string(), Target::parse(to)))
                .collect();
            Kind::Action {
                name: action.to_string(),
                with,
                save: step.save.as_ref().map(|s| s.to_string()),
                on,
                moves_money: moves,
            }
        } else if let Some(cases) = &step.branch {
            lower_branch(name, cases)
        } else {
            Kind::Go(step.go.as_ref().map_or(Target::Step(name.to_string()), |t| Target::parse(t)))
        };
        steps.insert(name.to_string(), Step { id: name.to_string(), pos: pos(name.span()), kind });
    }
    let default_minutes = if moves_money { MONEY_SESSION_MINUTES } else { SESSION_MINUTES };
    Flow {
        id: flow.file.flow.to_string(),
        file: path.to_owned(),
        session_minutes: flow.file.session_minutes.as_deref().copied().unwrap_or(default_minutes),
        moves_money,
        guests: flow.file.guests.as_deref().copied().unwrap_or(false),
        aside: flow.file.aside.as_deref().copied().unwrap_or(false),
        start: flow.file.start.to_string(),
        steps,
    }
}

fn lower_question(step: &model::Step, ask: &Spanned<String>) -> Kind {
    let options = step
        .options
        .iter()
        .flat_map(|o| o.iter())
        .map(|o| Choice {
            id: o.id.to_string(),
            title: texts(&o.title),
            description: o.description.as_ref().map(texts),
            go: o.go.as_ref().map(|t| Target::parse(t)),
            also: o.also.as_ref().map(texts),
            intents: o.intents.iter().flat_map(|n| n.iter()).filter_map(|n| Intent::parse(n)).collect(),
        })
        .collect();
    Kind::Ask(Box::new(Question {
        kind: input_kind(step, ask).unwrap_or(input::Kind::Text(None)),
        prompt: step.prompt.as_ref().map(texts).unwrap_or_else(|| Texts { by_language: Vec::new() }),
        error: step.error.as_ref().map(texts),
        attempts: step.attempts.as_deref().copied().unwrap_or(ATTEMPTS),
        on_fail: step.on_fail.as_ref().map(|t| Target::parse(t)),
        save: step.save.as_ref().map(|s| s.to_string()),
        next: step.next.as_ref().map(|t| Target::parse(t)),
        options,
        fill: step.fill.as_ref().map(|f| f.to_string()),
    }))
}

fn lower_branch(name: &Spanned<String>, cases: &Spanned<Vec<model::Case>>) -> Kind {
    let mut conditions = Vec::new();
    let mut otherwise = Target::Step(name.to_string());
    for case in cases.iter() {
        match (&case.condition, &case.go, &case.otherwise) {
            (Some(c), Some(go), _) => {
                let condition = match (&c.equals, &c.set) {
                    (Some(value), _) => Condition::Equals(c.var.to_string(), value.to_string()),
                    (None, set) => Condition::Set(c.var.to_string(), set.as_deref().copied().unwrap_or(true)),
                };
                conditions.push((condition, Target::parse(go)));
            }
            (_, _, Some(e)) => otherwise = Target::parse(e),
            _ => {}
        }
    }
    Kind::Branch { cases: conditions, otherwise }
}

/// What is known on arrival at a step, whatever the path: the variables set on every path, and
/// whether every path passed a verified PIN or OTP.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Known {
    vars: BTreeSet<String>,
    verified: bool,
}

impl Known {
    fn meet(&mut self, other: &Known) -> bool {
        let before = (self.vars.len(), self.verified);
        self.vars.retain(|v| other.vars.contains(v));
        self.verified &= other.verified;
        before != (self.vars.len(), self.verified)
    }
}

/// The steps a step can lead to within its flow, each with what taking that way establishes.
fn edges<'a>(step: &'a Step, catalogue: &Catalogue) -> Vec<(&'a str, Vec<String>, bool, bool)> {
    // (to, variables set, verifies, forgets secrets)
    let mut out = Vec::new();
    let mut to = |target: &'a Target, set: Vec<String>, verifies: bool, forget: bool| {
        if let Target::Step(s) = target {
            out.push((s.as_str(), set, verifies, forget));
        }
    };
    match &step.kind {
        Kind::Say { next, .. } => {
            if let Some(next) = next {
                to(next, Vec::new(), false, false);
            }
        }
        Kind::Ask(q) => {
            let saved: Vec<String> = q.save.iter().cloned().collect();
            if q.options.is_empty() {
                if let Some(next) = &q.next {
                    to(next, saved.clone(), false, false);
                }
            } else {
                for option in &q.options {
                    if let Some(after) = q.after(Some(option)) {
                        to(after, saved.clone(), false, false);
                    }
                }
            }
            if let Some(on_fail) = &q.on_fail {
                to(on_fail, Vec::new(), false, false);
            }
        }
        Kind::Action { name, save, on, .. } => {
            let spec = catalogue.spec(name);
            for (code, target) in on {
                let results: Vec<_> = match spec {
                    Some(spec) if code == OTHER_RESULT => {
                        spec.results.iter().filter(|r| !on.iter().any(|(c, _)| c == r.code)).collect()
                    }
                    Some(spec) => spec.result(code).into_iter().collect(),
                    None => Vec::new(),
                };
                // `other` may stand for several results: only outputs common to all are sure.
                let mut set: Option<BTreeSet<String>> = None;
                for result in &results {
                    let outputs: BTreeSet<String> = match save {
                        Some(save) => result.outputs.iter().map(|o| format!("{save}.{o}")).collect(),
                        None => BTreeSet::new(),
                    };
                    set = Some(match set {
                        None => outputs,
                        Some(s) => s.intersection(&outputs).cloned().collect(),
                    });
                }
                let verifies = spec.is_some_and(|s| s.verifies) && code == VERIFIED;
                to(target, set.unwrap_or_default().into_iter().collect(), verifies, true);
            }
        }
        Kind::Branch { cases, otherwise } => {
            for (condition, target) in cases {
                let set = match condition {
                    Condition::Equals(v, _) | Condition::Set(v, true) => vec![v.clone()],
                    Condition::Set(_, false) => Vec::new(),
                };
                to(target, set, false, false);
            }
            to(otherwise, Vec::new(), false, false);
        }
        Kind::Go(target) => to(target, Vec::new(), false, false),
    }
    out
}

/// Follows every path of `flow` and reports what may be missing where it is used.
pub(super) fn check_paths(flow: &Flow, catalogue: &Catalogue, out: &mut Out) {
    let facts = Facts::of(flow, catalogue);
    let known = known_at_each_step(flow, catalogue, &facts.secrets);
    let mut ids: Vec<&String> = flow.steps.keys().collect();
    ids.sort_by_key(|id| flow.steps[*id].pos.line);
    for id in ids {
        let step = &flow.steps[id];
        let Some(here) = known.get(id.as_str()) else { continue };
        let mut uses: Vec<(&Texts, &str)> = Vec::new();
        match &step.kind {
            Kind::Say { text, .. } => uses.push((text, "message")),
            Kind::Ask(q) => {
                uses.push((&q.prompt, "question"));
                uses.extend(q.error.iter().map(|e| (e, "error message")));
                for option in &q.options {
                    uses.push((&option.title, "option title"));
                    uses.extend(option.description.iter().map(|d| (d, "option description")));
                    uses.extend(option.also.iter().map(|a| (a, "option's other words")));
                }
                if q.kind.is_secret()
                    && !matches!(q.after(None).and_then(|t| step_of(flow, t)), Some(Kind::Action { .. }))
                {
                    out.error_at(step.pos, format!(
                        "the answer to `{}` is a secret, used once and never kept: the step after it must be the action that checks it",
                        step.id
                    ));
                }
            }
            Kind::Action { name, with, .. } => check_action(step, name, with, here, &facts, catalogue, out),
            Kind::Branch { cases, .. } => {
                for (condition, _) in cases {
                    let var = condition.var();
                    if !facts.set_anywhere.contains(var) {
                        let close = suggestion(var, facts.set_anywhere.iter().map(String::as_str));
                        out.error_at(
                            step.pos,
                            format!(
                                "branch `{}` tests `{var}`, which no step of this flow sets{close}",
                                step.id
                            ),
                        );
                    }
                }
            }
            Kind::Go(_) => {}
        }
        for (texts, what) in uses {
            check_shown(texts, what, step, here, &facts, out);
        }
    }
}

/// What holds of a flow wherever its paths go.
struct Facts {
    /// Answers to PIN and OTP questions: secrets that live only until the next action.
    secrets: BTreeSet<String>,
    /// Every variable some step sets.
    set_anywhere: BTreeSet<String>,
}

impl Facts {
    fn of(flow: &Flow, catalogue: &Catalogue) -> Facts {
        let secrets = flow
            .steps
            .values()
            .filter_map(|s| match &s.kind {
                Kind::Ask(q) if q.kind.is_secret() => q.save.clone(),
                _ => None,
            })
            .collect();
        let mut set_anywhere: BTreeSet<String> = BUILTIN_VARIABLES.iter().map(|v| (*v).to_owned()).collect();
        // A branch's own test is no place where its variable is set.
        for step in flow.steps.values().filter(|s| !matches!(s.kind, Kind::Branch { .. })) {
            for (_, set, _, _) in edges(step, catalogue) {
                set_anywhere.extend(set);
            }
        }
        Facts { secrets, set_anywhere }
    }
}

/// What is known on entering each reachable step, on every path to it.
fn known_at_each_step<'f>(
    flow: &'f Flow,
    catalogue: &Catalogue,
    secrets: &BTreeSet<String>,
) -> HashMap<&'f str, Known> {
    let entry = Known { vars: BUILTIN_VARIABLES.iter().map(|v| (*v).to_owned()).collect(), verified: false };
    let mut known: HashMap<&str, Known> = HashMap::from([(flow.start.as_str(), entry)]);
    let mut queue: VecDeque<&str> = VecDeque::from([flow.start.as_str()]);
    while let Some(id) = queue.pop_front() {
        let (Some(step), Some(here)) = (flow.steps.get(id), known.get(id).cloned()) else { continue };
        for (to, set, verifies, forget) in edges(step, catalogue) {
            let mut there = here.clone();
            if forget {
                there.vars.retain(|v| !secrets.contains(v));
            }
            there.vars.extend(set);
            there.verified |= verifies;
            let changed = match known.get_mut(to) {
                Some(existing) => existing.meet(&there),
                None => {
                    known.insert(to, there);
                    true
                }
            };
            if changed {
                queue.push_back(to);
            }
        }
    }
    known
}

/// An action step: every input set on every path, and money moved only after verification.
fn check_action(
    step: &Step,
    name: &str,
    with: &[(String, Template)],
    here: &Known,
    facts: &Facts,
    catalogue: &Catalogue,
    out: &mut Out,
) {
    for (input, template) in with {
        for var in template.variables().filter(|var| !here.vars.contains(*var)) {
            let why = missing(var, &facts.set_anywhere, &step.id);
            out.error_at(step.pos, format!("input `{input}` of action `{name}` uses `{var}`, which {why}"));
        }
    }
    if catalogue.spec(name).is_some_and(|s| s.moves_money) && !here.verified {
        let verifiers: Vec<&str> = catalogue.specs().filter(|s| s.verifies).map(|s| s.name).collect();
        out.error_at(step.pos, format!(
            "action `{name}` moves money, but not every path to step `{}` verifies the customer's PIN or OTP first (a `{VERIFIED}` from {})",
            step.id,
            if verifiers.is_empty() { "a verifying action".to_owned() } else { verifiers.join(" or ") }
        ));
    }
}

/// Text a step shows: no secret, and nothing not set on every path to it.
fn check_shown(texts: &Texts, what: &str, step: &Step, here: &Known, facts: &Facts, out: &mut Out) {
    for (template, at) in texts.all() {
        let mut reported = BTreeSet::new();
        for var in template.variables().filter(|v| reported.insert(*v)) {
            if facts.secrets.contains(var) {
                out.error_at(at, format!("{what} shows `{var}`, a PIN or OTP: secrets are never shown"));
            } else if !here.vars.contains(var) {
                let why = missing(var, &facts.set_anywhere, &step.id);
                out.error_at(at, format!("{what} shows `{{{{{var}}}}}`, which {why}"));
            }
        }
    }
}

fn step_of<'a>(flow: &'a Flow, target: &Target) -> Option<&'a Kind> {
    match target {
        Target::Step(s) => flow.steps.get(s).map(|s| &s.kind),
        Target::Flow(_) => None,
    }
}

/// Why `var` may be missing at `step`.
fn missing(var: &str, set_anywhere: &BTreeSet<String>, step: &str) -> String {
    if set_anywhere.contains(var) {
        format!("is not set on every path to step `{step}`")
    } else {
        format!("no step of this flow sets{}", suggestion(var, set_anywhere.iter().map(String::as_str)))
    }
}

/// The bundle of a complete, error-free set of flows; its version is a hash of the sources.
pub(super) fn bundle(
    files: &[(std::path::PathBuf, String)],
    flows: Vec<Flow>,
    triggers: HashMap<(String, String), String>,
    intents: HashMap<Intent, String>,
    phrases: super::phrasebook::Phrasebook,
) -> Bundle {
    Bundle {
        version: version(files),
        flows: flows.into_iter().map(|f| (f.id.clone(), f)).collect(),
        triggers,
        intents,
        phrases,
    }
}

/// A content hash of flow sources, independent of their order and directory.
pub fn version(files: &[(std::path::PathBuf, String)]) -> String {
    let mut named: Vec<(String, &str)> = files
        .iter()
        .map(|(path, text)| {
            (path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), text.as_str())
        })
        .collect();
    named.sort();
    let mut hash = Sha256::new();
    for (name, text) in named {
        hash.update((name.len() as u64).to_be_bytes());
        hash.update(name.as_bytes());
        hash.update((text.len() as u64).to_be_bytes());
        hash.update(text.as_bytes());
    }
    hex::encode(&hash.finalize()[..8])
}
