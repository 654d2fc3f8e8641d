//! The checks of one step: its kind's fields, its question and options, its branches and
//! action, and the texts it shows (their variables and their length on every path).

use std::collections::HashSet;

use super::actions::OTHER_RESULT;
use marked_yaml::{Span, Spanned};

use super::model::{Case, Choice, Step, Text};
use super::template::Template;
use super::understanding::entity;
use crate::whatsapp::outbound::{
    BUTTON_TITLE_MAX, BUTTONS_MAX, INTERACTIVE_BODY_MAX, ROW_DESCRIPTION_MAX, ROW_ID_MAX, ROW_TITLE_MAX,
    TEXT_BODY_MAX, utf16_len,
};

use super::names::{DEFAULT_WIDTH, suggestion};

use super::names::{ANY_LANGUAGE, ASK_TYPES, LANGUAGE_VARIABLE, LANGUAGES, is_identifier};
use super::report::{Out, Severity};

/// Checks one step; returns where it can go.
pub(super) fn check_step<'a>(
    name: &Spanned<String>,
    step: &'a Step,
    out: &mut Out,
) -> Vec<&'a Spanned<String>> {
    let kinds: Vec<&str> = [
        ("say", step.say.is_some()),
        ("ask", step.ask.is_some()),
        ("action", step.action.is_some()),
        ("branch", step.branch.is_some()),
        ("go", step.go.is_some()),
    ]
    .into_iter()
    .filter_map(|(kind, present)| present.then_some(kind))
    .collect();
    let kind = match kinds.as_slice() {
        [kind] => *kind,
        [] => {
            out.error(
                name.span(),
                format!("step `{}` does nothing: give it one of say, ask, action, branch or go", **name),
            );
            return Vec::new();
        }
        many => {
            out.error(
                name.span(),
                format!("step `{}` has {}: a step does one thing", **name, many.join(" and ")),
            );
            return Vec::new();
        }
    };
    misplaced_fields(kind, step, out);
    let mut exits: Vec<&Spanned<String>> = Vec::new();
    let ends = step.end.as_ref().is_some_and(|e| **e);
    match kind {
        "say" => {
            if let Some(text) = &step.say {
                check_text(text, TEXT_BODY_MAX, "message", out);
            }
            match (&step.next, ends) {
                (Some(next), false) => exits.push(next),
                (None, true) => {}
                (Some(next), true) => out.error(next.span(), "a step that ends the flow has no next"),
                (None, false) => out.error(
                    name.span(),
                    format!("step `{}` has no way out: give it `next:` or `end: true`", **name),
                ),
            }
        }
        "ask" => exits.extend(check_ask(name, step, out)),
        "action" => {
            match &step.on {
                Some(on) if !on.is_empty() => exits.extend(on.values()),
                _ => out.error(
                    name.span(),
                    format!("action step `{}` needs `on:` with where each result leads", **name),
                ),
            }
            if let Some(save) = &step.save {
                check_variable(save, out);
            }
            check_action(step, out);
        }
        "branch" => exits.extend(check_branch(name, step.branch.as_ref(), out)),
        _ => exits.extend(step.go.as_ref()),
    }
    exits
}

/// An action step against the catalogue: the action exists, its inputs are exactly the declared
/// ones, and `on:` handles every result it can return and no other.
pub(super) fn check_action(step: &Step, out: &mut Out) {
    let Some(action) = &step.action else { return };
    let Some(spec) = out.catalogue.spec(action) else {
        let known: Vec<&str> = out.catalogue.specs().map(|s| s.name).collect();
        let listed = if known.is_empty() { "none are registered yet".to_owned() } else { known.join(", ") };
        let hint = suggestion(action, known.iter().copied());
        return out.error(
            action.span(),
            format!("no action `{}` in the catalogue{hint} (actions: {listed})", **action),
        );
    };
    let given: Vec<&str> =
        step.with.as_ref().map(|w| w.keys().map(String::as_str).collect()).unwrap_or_default();
    let missing: Vec<&str> = spec.inputs.iter().copied().filter(|i| !given.contains(i)).collect();
    if !missing.is_empty() {
        let span = step.with.as_ref().map_or(*action.span(), |w| *w.span());
        out.error(&span, format!("action `{}` needs `with:` {}", spec.name, missing.join(", ")));
    }
    if let Some(with) = &step.with {
        for (input, value) in with.iter() {
            if !spec.inputs.contains(&input.as_str()) {
                let hint = suggestion(input, spec.inputs.iter().copied());
                out.error(value.span(), format!("action `{}` takes no input `{input}`{hint}", spec.name));
            }
            check_template(value, out);
        }
    }
    if let Some(on) = &step.on {
        for code in on.keys() {
            if code.as_str() != OTHER_RESULT && spec.result(code).is_none() {
                let codes: Vec<&str> = spec.results.iter().map(|r| r.code).collect();
                out.error(
                    code.span(),
                    format!(
                        "action `{}` never returns `{}`; it returns: {}",
                        spec.name,
                        code.as_str(),
                        codes.join(", ")
                    ),
                );
            }
        }
        let handled = |code: &str| on.keys().any(|k| k.as_str() == code || k.as_str() == OTHER_RESULT);
        let unhandled: Vec<&str> = spec.results.iter().map(|r| r.code).filter(|c| !handled(c)).collect();
        if !unhandled.is_empty() {
            out.error(
                on.span(),
                format!(
                    "`on:` does not say where result {} of `{}` leads (or add `{OTHER_RESULT}:`)",
                    unhandled.join(", "),
                    spec.name
                ),
            );
        }
    }
}

/// Parses a template, reporting a typo where it is.
pub(super) fn check_template(value: &Spanned<String>, out: &mut Out) -> Option<Template> {
    match Template::parse(value) {
        Ok(template) => Some(template),
        Err(e) => {
            let (line, column) = out.inside(value.span(), e.offset);
            out.push(line, column, Severity::Error, e.message);
            None
        }
    }
}

/// Fields that only some kinds of step may carry.
pub(super) fn misplaced_fields(kind: &str, step: &Step, out: &mut Out) {
    let question_only: [(&str, Option<&Span>); 8] = [
        ("prompt", step.prompt.as_ref().map(|v| v.span())),
        ("options", step.options.as_ref().map(|v| v.span())),
        ("min", step.min.as_ref().map(|v| v.span())),
        ("max", step.max.as_ref().map(|v| v.span())),
        ("pattern", step.pattern.as_ref().map(|v| v.span())),
        ("attempts", step.attempts.as_ref().map(|v| v.span())),
        ("on_fail", step.on_fail.as_ref().map(|v| v.span())),
        ("fill", step.fill.as_ref().map(|v| v.span())),
    ];
    if kind != "ask" {
        for (field, span) in question_only {
            if let Some(span) = span {
                out.error(span, format!("`{field}` belongs to questions (`ask:`), not to a `{kind}` step"));
            }
        }
    }
    let action_only =
        [("with", step.with.as_ref().map(|v| v.span())), ("on", step.on.as_ref().map(|v| v.span()))];
    if kind != "action" {
        for (field, span) in action_only {
            if let Some(span) = span {
                out.error(span, format!("`{field}` belongs to action steps, not to a `{kind}` step"));
            }
        }
    }
    if let Some(end) = &step.end
        && kind != "say"
    {
        out.error(end.span(), "`end` belongs to `say` steps: say goodbye, then end");
    }
    if let Some(next) = &step.next
        && !matches!(kind, "say" | "ask")
    {
        out.error(
            next.span(),
            format!("`next` belongs to say and ask steps; a `{kind}` step says where it goes itself"),
        );
    }
}

pub(super) fn check_ask<'a>(
    name: &Spanned<String>,
    step: &'a Step,
    out: &mut Out,
) -> Vec<&'a Spanned<String>> {
    let Some(ask) = &step.ask else { return Vec::new() };
    let kind = ask.as_str();
    if !ASK_TYPES.contains(&kind) {
        out.error(ask.span(), format!("unknown question type `{kind}`; one of: {}", ASK_TYPES.join(", ")));
    }
    let interactive = matches!(kind, "choice" | "yes_no");
    match &step.prompt {
        Some(prompt) => {
            let max = if interactive { INTERACTIVE_BODY_MAX } else { TEXT_BODY_MAX };
            check_text(prompt, max, "question", out);
        }
        None => out.error(name.span(), format!("question `{}` needs a `prompt:`", **name)),
    }
    if let Some(error) = &step.error {
        check_text(error, TEXT_BODY_MAX, "error message", out);
    }
    if let Some(attempts) = &step.attempts
        && !(1..=10).contains(&**attempts)
    {
        out.error(attempts.span(), "attempts must be from 1 to 10");
    }
    if let Some(save) = &step.save {
        check_variable(save, out);
        if save.as_str() == LANGUAGE_VARIABLE {
            let all_languages =
                step.options.as_ref().is_some_and(|o| o.iter().all(|c| LANGUAGES.contains(&c.id.as_str())));
            if kind != "choice" || !all_languages {
                out.error(save.span(), format!(
                    "`{LANGUAGE_VARIABLE}` sets the customer's language: only a choice whose option ids are languages ({}) may save to it",
                    LANGUAGES.join(", ")
                ));
            }
        }
    }
    check_fill(step, kind, out);
    check_bounds(step, ask, kind, out);
    ask_exits(name, step, ask, kind, out)
}

/// `min:`, `max:` and `pattern:`, where the question type takes them.
fn check_bounds(step: &Step, ask: &Spanned<String>, kind: &str, out: &mut Out) {
    let numeric = matches!(kind, "number" | "amount");
    for bound in [&step.min, &step.max].into_iter().flatten() {
        if !numeric {
            out.error(
                bound.span(),
                format!("min and max apply to number and amount questions, not `{kind}`"),
            );
        }
    }
    if let (Some(min), Some(max)) = (&step.min, &step.max)
        && **min > **max
    {
        out.error(min.span(), format!("min {} is above max {}", **min, **max));
    }
    match (&step.pattern, kind) {
        // A warning, not an error: releases published before it was said stay valid.
        (Some(pattern), kind) if !matches!(kind, "text" | "id_number" | "account_number") => out.warning(
            pattern.span(),
            format!(
                "a pattern applies to text, id_number and account_number questions, not `{kind}`: nothing checks it"
            ),
        ),
        (Some(pattern), _) => {
            if let Err(e) = regex::Regex::new(pattern) {
                let first = e.to_string().lines().last().unwrap_or_default().trim().to_owned();
                out.error(pattern.span(), format!("pattern is not a valid regular expression: {first}"));
            }
        }
        (None, "id_number") => {
            out.error(ask.span(), "an id_number question needs a `pattern:` the number must match")
        }
        (None, _) => {}
    }
}

/// Where a question goes next: every option and the question itself lead somewhere.
fn ask_exits<'a>(
    name: &Spanned<String>,
    step: &'a Step,
    ask: &Spanned<String>,
    kind: &str,
    out: &mut Out,
) -> Vec<&'a Spanned<String>> {
    let mut exits: Vec<&Spanned<String>> = step.on_fail.iter().collect();
    match (&step.options, kind) {
        (Some(options), "choice") => {
            check_options(options, out);
            for option in options.iter() {
                match (&option.go, &step.next) {
                    (Some(go), _) => exits.push(go),
                    (None, Some(_)) => {}
                    (None, None) => out.error(
                        option.id.span(),
                        format!(
                            "option `{}` leads nowhere: give it `go:` or the question a `next:`",
                            *option.id
                        ),
                    ),
                }
            }
            exits.extend(step.next.as_ref());
        }
        (None, "choice") => out.error(ask.span(), "a choice needs `options:`"),
        (Some(options), _) => {
            out.error(options.span(), format!("options belong to `ask: choice`, not `{kind}`"))
        }
        (None, _) => match &step.next {
            Some(next) => exits.push(next),
            None => out.error(name.span(), format!("question `{}` has no way out: give it `next:`", **name)),
        },
    }
    exits
}

pub(super) fn check_options(options: &Spanned<Vec<Choice>>, out: &mut Out) {
    if options.len() < 2 {
        out.error(options.span(), "a choice needs at least two options");
    }
    let mut ids = HashSet::new();
    for option in options.iter() {
        let id = option.id.as_str();
        if !is_identifier(id) || utf16_len(id) > ROW_ID_MAX {
            out.error(option.id.span(), "an option id is lowercase letters, digits and underscores");
        }
        if !ids.insert(id) {
            out.error(option.id.span(), format!("option id `{id}` is used twice in this choice"));
        }
        check_text(&option.title, ROW_TITLE_MAX, "option title", out);
        if options.len() <= BUTTONS_MAX {
            for (language, title) in option.title.iter() {
                if utf16_len(title) > BUTTON_TITLE_MAX && utf16_len(title) <= ROW_TITLE_MAX {
                    out.warning(title.span(), format!(
                        "option title is over {BUTTON_TITLE_MAX} characters in `{}`: this choice shows as a list, not buttons",
                        language.as_str()
                    ));
                }
            }
        }
        if let Some(description) = &option.description {
            check_text(description, ROW_DESCRIPTION_MAX, "option description", out);
        }
        if let Some(also) = &option.also {
            check_text(also, crate::flows::input::TEXT_MAX, "option's other words", out);
        }
        for name in option.intents.iter().flat_map(|n| n.iter()) {
            super::check::claimable_intent(name, out);
        }
    }
}

pub(super) fn check_branch<'a>(
    name: &Spanned<String>,
    cases: Option<&'a Spanned<Vec<Case>>>,
    out: &mut Out,
) -> Vec<&'a Spanned<String>> {
    let Some(cases) = cases else { return Vec::new() };
    let mut exits = Vec::new();
    let mut has_else = false;
    for (i, case) in cases.iter().enumerate() {
        match (&case.condition, &case.go, &case.otherwise) {
            (Some(condition), Some(go), None) => {
                // A branch may test an action's output too (`balance.available`).
                if !condition
                    .var
                    .split_once('.')
                    .is_some_and(|(save, output)| is_identifier(save) && is_identifier(output))
                {
                    check_variable(&condition.var, out);
                }
                if condition.equals.is_some() == condition.set.is_some() {
                    out.error(condition.var.span(), "a condition tests either `equals:` or `set:`");
                }
                exits.push(go);
            }
            (None, None, Some(otherwise)) => {
                if i + 1 != cases.len() {
                    out.error(
                        otherwise.span(),
                        "`else` must be the last case: the cases after it can never apply",
                    );
                }
                has_else = true;
                exits.push(otherwise);
            }
            _ => out.error(
                cases.span(),
                format!("case {} of step `{}` must be `if:` with `go:`, or `else:` alone", i + 1, **name),
            ),
        }
    }
    if !has_else {
        out.error(name.span(), format!("branch `{}` needs an `else:` for when no case holds", **name));
    }
    exits
}

/// A text exists in every shipped language (or reads the same in all), within `max`.
pub(super) fn check_text(text: &Text, max: usize, what: &str, out: &mut Out) {
    let languages: Vec<&str> = text.keys().map(|k| k.as_str()).collect();
    for key in text.keys() {
        if key.as_str() != ANY_LANGUAGE && !LANGUAGES.contains(&key.as_str()) {
            out.error(key.span(), format!(
                "unknown language `{}`; teller ships {} (or `{ANY_LANGUAGE}` for text that reads the same in all)",
                key.as_str(),
                LANGUAGES.join(", ")
            ));
        }
    }
    if languages.contains(&ANY_LANGUAGE) {
        if languages.len() > 1 {
            out.error(text.span(), format!("a {what} in `{ANY_LANGUAGE}` has no other languages"));
        }
    } else {
        let missing: Vec<&str> = LANGUAGES.iter().copied().filter(|l| !languages.contains(l)).collect();
        if !missing.is_empty() {
            out.error(text.span(), format!("{what} has no translation in {}", missing.join(", ")));
        }
    }
    for (language, value) in text.iter() {
        if value.trim().is_empty() {
            out.error(value.span(), format!("{what} in `{}` is empty", language.as_str()));
        }
        let Some(template) = check_template(value, out) else { continue };
        let len = template.max_len(|var| out.widths.get(var).copied().unwrap_or(DEFAULT_WIDTH));
        if len > max {
            let with_variables =
                if template.is_literal() { "" } else { " with its variables at their longest" };
            out.error(
                value.span(),
                format!(
                    "{what} in `{}` is {len} characters{with_variables}; WhatsApp allows {max}",
                    language.as_str()
                ),
            );
        }
    }
}

pub(super) fn check_variable(name: &Spanned<String>, out: &mut Out) {
    if !is_identifier(name) {
        out.error(name.span(), "a variable name is lowercase letters, digits and underscores");
    }
}

/// What `fill:` may name, and which question types each answers.
pub(super) fn check_fill(step: &Step, kind: &str, out: &mut Out) {
    let Some(fill) = &step.fill else { return };
    let answers = match fill.as_str() {
        entity::AMOUNT => "amount",
        entity::RECIPIENT => "phone",
        entity::DESTINATION | entity::BANK => "choice",
        // Flows written before `account_number` asked for it as an `id_number`.
        entity::ACCOUNT if kind == "id_number" => "id_number",
        entity::ACCOUNT => "account_number",
        entity::PLAN => "text",
        other => {
            out.error(
                fill.span(),
                format!(
                    "unknown value `{other}` to fill; one of: {}{}",
                    entity::ALL.join(", "),
                    suggestion(other, entity::ALL.into_iter())
                ),
            );
            return;
        }
    };
    if matches!(kind, "pin" | "otp") {
        out.error(
            fill.span(),
            "a PIN or a one-time code is always typed by the customer: it cannot be filled",
        );
    } else if kind != answers {
        out.error(fill.span(), format!("`{}` answers `ask: {answers}` questions, not `{kind}`", **fill));
    } else if fill.as_str() == entity::DESTINATION
        && !step.options.as_ref().is_some_and(|o| o.iter().any(|c| c.id.as_str() == "customer"))
    {
        out.warning(
            fill.span(),
            "`destination` fills the option `customer`, which this choice does not have",
        );
    }
}
