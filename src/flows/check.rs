//! The flow compiler's checks: everything that can be known wrong about a set of flow files
//! before a customer meets it, reported as `file:line:col: error|warning: message`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use marked_yaml::Spanned;

use super::actions::Catalogue;
use super::graph::{Bundle, REQUIRED_FLOWS};
use super::model::{FlowFile, Step};

use super::understanding::Intent;

use super::check_step::check_step;
#[cfg(test)]
use super::names::edit_distance;
pub use super::names::{
    ANY_LANGUAGE, ASK_TYPES, BUILTIN_VARIABLES, LANGUAGE_VARIABLE, LANGUAGES, PHONE_VARIABLE, is_identifier,
};
use super::names::{closest, suggestion};
use super::parse::{Parsed, parse};
use super::report::Out;

pub use super::report::{Diagnostic, Report, Severity};
/// Checks every `*.yaml` file in `dir` as one set of flows against `catalogue`, which must
/// include the required ones; or the one file `dir` names, on its own.
pub fn check_dir(dir: &Path, catalogue: &Catalogue) -> std::io::Result<Report> {
    if dir.is_file() {
        return Ok(check_sources_with(&[(dir.to_owned(), std::fs::read_to_string(dir)?)], catalogue));
    }
    Ok(compile(&read_dir(dir)?, catalogue).0)
}

/// The flow sources in `dir`: every `*.yaml` (or `*.yml`) file, by name.
pub fn read_dir(dir: &Path) -> std::io::Result<Vec<(PathBuf, String)>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let text = std::fs::read_to_string(&path)?;
        files.push((path, text));
    }
    Ok(files)
}

/// Checks flow sources given as (file name, contents) against `catalogue`, not demanding the
/// required flows (the files need not be a complete set).
pub fn check_sources_with(files: &[(PathBuf, String)], catalogue: &Catalogue) -> Report {
    run(files, catalogue, false).0
}

/// Compiles a complete set of flows: the report, and the bundle when there was no error.
pub fn compile(files: &[(PathBuf, String)], catalogue: &Catalogue) -> (Report, Option<Bundle>) {
    run(files, catalogue, true)
}

fn run(files: &[(PathBuf, String)], catalogue: &Catalogue, whole: bool) -> (Report, Option<Bundle>) {
    let mut out = Out { catalogue: catalogue.clone(), ..Out::default() };
    let mut parsed = Vec::new();
    // A file that does not read is one mistake, reported there: the flow its name promises is
    // taken to exist, so references to it elsewhere are not reported too.
    let mut unread = HashSet::new();
    let mut phrases = Some(super::phrasebook::Phrasebook::default());
    for (path, text) in files {
        out.file = path.clone();
        out.source = text.clone();
        if path.file_name().is_some_and(|n| n == super::texts::PHRASES_FILE) {
            phrases = super::phrasebook::compile(text, &mut out);
            continue;
        }
        match parse(path, text, &mut out) {
            Some(flow) => parsed.push((path.clone(), text, flow)),
            None => {
                unread.extend(path.file_stem().and_then(|s| s.to_str()).map(str::to_owned));
            }
        }
    }
    let mut flow_ids: HashSet<String> = parsed.iter().map(|(_, _, f)| f.file.flow.to_string()).collect();
    flow_ids.extend(unread);
    let mut triggers: HashMap<(String, String), String> = HashMap::new();
    let mut intents: HashMap<Intent, String> = HashMap::new();
    let mut lowered = Vec::new();
    for (path, text, flow) in &parsed {
        out.file = path.clone();
        out.source = (*text).clone();
        out.widths = super::compile::widths(flow, catalogue);
        let errors_before = out.error_count();
        check_flow(flow, &flow_ids, &mut out);
        check_triggers(&flow.file, &mut triggers, &mut out);
        check_intents(&flow.file, &mut intents, &mut out);
        // Path checks need a sound graph: they run on flows whose structure checked clean.
        if out.error_count() == errors_before && flow.unreadable.is_empty() {
            let compiled = super::compile::lower(path, flow, catalogue);
            super::compile::check_paths(&compiled, catalogue, &mut out);
            super::provenance::check(&compiled, catalogue, &mut out);
            lowered.push(compiled);
        }
    }
    if whole {
        for required in REQUIRED_FLOWS {
            if !flow_ids.contains(required) {
                out.file = PathBuf::from(format!("{required}.yaml"));
                out.push(1, 1, Severity::Error, format!("flow `{required}` is required and missing"));
            }
        }
    }
    let mut diagnostics = out.diagnostics;
    diagnostics.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    let report = Report { files: files.len(), diagnostics };
    let bundle = (whole && !report.has_errors())
        .then(|| super::compile::bundle(files, lowered, triggers, intents, phrases.unwrap_or_default()));
    (report, bundle)
}

/// A transition target: a step of this flow or `flow:<id>`.
enum Target<'a> {
    Step(&'a str),
    Flow(&'a str),
}

fn target(raw: &str) -> Target<'_> {
    match raw.strip_prefix("flow:") {
        Some(flow) => Target::Flow(flow.trim()),
        None => Target::Step(raw),
    }
}

fn check_flow(flow: &Parsed, flow_ids: &HashSet<String>, out: &mut Out) {
    let file = &flow.file;
    if !is_identifier(&file.flow) {
        out.error(file.flow.span(), "a flow id is lowercase letters, digits and underscores");
    }
    if let Some(minutes) = &file.session_minutes
        && !(1..=1440).contains(&**minutes)
    {
        out.error(minutes.span(), "session_minutes must be from 1 to 1440 (a day)");
    }
    if file.aside.as_deref().copied().unwrap_or(false) {
        check_aside(flow, out);
    }
    let steps: HashMap<&str, &Step> = flow.steps.iter().map(|(name, step)| (name.as_str(), step)).collect();
    let defined = |name: &str| steps.contains_key(name) || flow.unreadable.iter().any(|u| u == name);
    for (name, _) in &flow.steps {
        if !is_identifier(name) {
            out.error(name.span(), "a step id is lowercase letters, digits and underscores");
        }
    }
    if !defined(file.start.as_str()) {
        out.error(file.start.span(), format!("start step `{}` is not defined in this flow", *file.start));
    }

    let mut edges: HashMap<&str, Vec<&str>> = HashMap::new();
    // A mistyped step name is one mistake: reachability follows the step it was surely meant
    // to be, and is not judged at all past one that resembles none.
    let mut lost_exit = false;
    for (name, step) in &flow.steps {
        let exits = check_step(name, step, out);
        let mut successors = Vec::new();
        for exit in exits {
            match target(exit) {
                Target::Step(to) if defined(to) => successors.push(to),
                Target::Step(to) => {
                    out.error(
                        exit.span(),
                        format!("no step `{to}` in this flow{}", suggestion(to, steps.keys().copied())),
                    );
                    match closest(to, steps.keys().copied()) {
                        Some(meant) => successors.push(meant),
                        None => lost_exit = true,
                    }
                }
                Target::Flow(to) if !flow_ids.contains(to) => {
                    out.error(
                        exit.span(),
                        format!("no flow `{to}`{}", suggestion(to, flow_ids.iter().map(String::as_str))),
                    );
                }
                Target::Flow(_) => {}
            }
        }
        edges.insert(name.as_str(), successors);
    }

    // Every step must be reachable from the start.
    let mut reached: HashSet<&str> = HashSet::new();
    let mut stack = vec![file.start.as_str()];
    while let Some(step) = stack.pop() {
        if reached.insert(step) {
            stack.extend(edges.get(step).into_iter().flatten().copied());
        }
    }
    // An unreadable step hides where it leads: reachability would only guess.
    if steps.contains_key(file.start.as_str()) && flow.unreadable.is_empty() && !lost_exit {
        for (name, _) in &flow.steps {
            if !reached.contains(name.as_str()) {
                out.error(
                    name.span(),
                    format!("step `{}` can never be reached from `{}`", **name, *file.start),
                );
            }
        }
    }
}

/// An aside is answered in the middle of another flow, which then goes on: it may ask nothing,
/// the question on screen being the other flow's. So it moves no money either, which only a
/// path through a PIN question may.
fn check_aside(flow: &Parsed, out: &mut Out) {
    for (_, step) in &flow.steps {
        if let Some(ask) = &step.ask {
            out.error(
                ask.span(),
                "an aside (`aside: true`) asks nothing: it is answered at another flow's question",
            );
        }
    }
}

fn check_triggers(file: &FlowFile, claimed: &mut HashMap<(String, String), String>, out: &mut Out) {
    let Some(triggers) = &file.triggers else { return };
    for (language, words) in triggers.iter() {
        if !LANGUAGES.contains(&language.as_str()) {
            out.error(triggers.span(), format!("triggers for unknown language `{language}`"));
        }
        for word in words {
            let normal = super::graph::normalise(word);
            if super::phrases::global(&normal).is_some() {
                out.error(
                    word.span(),
                    format!("`{normal}` is a global word and works everywhere; no flow may claim it"),
                );
                continue;
            }
            let key = (language.clone(), normal.clone());
            match claimed.get(&key) {
                Some(owner) if owner != file.flow.as_str() => {
                    out.error(word.span(), format!("trigger `{normal}` is already claimed by flow `{owner}`"))
                }
                Some(_) => {}
                None => {
                    claimed.insert(key, file.flow.to_string());
                }
            }
        }
    }
}

/// Intents a flow may claim: every one but `cancel`, which stops whatever is under way.
fn check_intents(file: &FlowFile, claimed: &mut HashMap<Intent, String>, out: &mut Out) {
    let Some(intents) = &file.intents else { return };
    for name in intents.iter() {
        let Some(intent) = claimable_intent(name, out) else { continue };
        match claimed.get(&intent) {
            Some(owner) if owner != file.flow.as_str() => {
                out.error(name.span(), format!("intent `{intent}` is already claimed by flow `{owner}`"));
            }
            Some(_) => {}
            None => {
                claimed.insert(intent, file.flow.to_string());
            }
        }
    }
}

/// The intent `name` names, when a flow or an option may answer it (every one but `cancel`,
/// which stops whatever is under way); else an error.
pub(super) fn claimable_intent(name: &Spanned<String>, out: &mut Out) -> Option<Intent> {
    let Some(intent) = Intent::parse(name) else {
        let known = Intent::ALL.iter().map(|i| i.as_str());
        out.error(
            name.span(),
            format!(
                "unknown intent `{}`; one of: {}{}",
                **name,
                Intent::ALL.map(|i| i.as_str()).join(", "),
                suggestion(name, known)
            ),
        );
        return None;
    };
    if intent == Intent::Cancel {
        out.error(
            name.span(),
            "`cancel` stops whatever is under way, like the word `cancel`; no flow or option may claim it",
        );
        return None;
    }
    Some(intent)
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
