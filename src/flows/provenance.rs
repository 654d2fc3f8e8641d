//! Where the money goes is the customer's to say. An action that moves money declares the
//! inputs that say how much and to whom ([`MoneyInput`]); each must be filled only from the
//! customer's own answers (to questions of the types it allows) or from the bank's records,
//! never from text the flow's author wrote. Otherwise one person who may publish flows could
//! rewrite a harmless flow to ask for the PIN "for your safety" and send money to a number of
//! their choosing.
//!
//! Every value a flow holds is traced to its origins: an answer (by question type), text
//! written in the flow, or the bank's records (an action with no inputs, the customer's own
//! number). An action's outputs inherit the origins of its inputs: a payee found for a typed
//! phone number is the customer's; one found for a number written in the flow is the author's.
//! The trace is over the whole flow, whatever the path (any step that may set a variable
//! counts), so it is never fooled by a branch.

use std::collections::{BTreeSet, HashMap};

use super::actions::{Catalogue, MoneyInput};
use super::graph::{Flow, Kind};
use super::report::Out;
use super::template::Template;

/// Where a value may have come from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Origin {
    /// The customer's answer to a question of this type.
    Answer(&'static str),
    /// Text the flow's author wrote.
    Written,
    /// The bank's records.
    Records,
}

/// Each variable's origins; an action's outputs under `<save>.` (its outputs are `<save>.<x>`).
type Origins = HashMap<String, BTreeSet<Origin>>;

/// The origins of variable `var`, when some step sets it.
fn lookup<'o>(origins: &'o Origins, var: &str) -> Option<&'o BTreeSet<Origin>> {
    let saved = var.split_once('.').map(|(save, _)| format!("{save}."));
    origins.get(var).or_else(|| saved.and_then(|prefix| origins.get(&prefix)))
}

/// The origins of what `template` renders: its variables', and the author's for any text,
/// filter or second variable around them (a money input is one variable, as it is). While
/// origins are still being found a variable not yet seen adds nothing; once they are all
/// found, one no step sets is taken as the author's (`unknown_written`): nothing unknown passes.
fn of_template(template: &Template, origins: &Origins, unknown_written: bool) -> BTreeSet<Origin> {
    let mut out = BTreeSet::new();
    for var in template.variables() {
        match lookup(origins, var) {
            Some(found) => out.extend(found.iter().cloned()),
            None if unknown_written => {
                out.insert(Origin::Written);
            }
            None => {}
        }
    }
    if template.single_variable().is_none() {
        out.insert(Origin::Written);
    }
    out
}

/// The origins of every variable `flow` may set, grown to a fixed point (they only grow, and
/// are bounded by the types, so this ends).
fn origins(flow: &Flow) -> Origins {
    let mut origins: Origins = HashMap::new();
    origins.insert(super::names::PHONE_VARIABLE.to_owned(), BTreeSet::from([Origin::Records]));
    origins.insert(super::names::LANGUAGE_VARIABLE.to_owned(), BTreeSet::from([Origin::Answer("choice")]));
    loop {
        let mut changed = false;
        for step in flow.steps.values() {
            let (var, found) = match &step.kind {
                Kind::Ask(q) => match &q.save {
                    Some(save) => (save.clone(), BTreeSet::from([Origin::Answer(q.kind.name())])),
                    None => continue,
                },
                Kind::Action { with, save: Some(save), .. } => {
                    let mut found: BTreeSet<Origin> = with
                        .iter()
                        .flat_map(|(_, template)| of_template(template, &origins, false))
                        .collect();
                    if with.is_empty() {
                        found.insert(Origin::Records);
                    }
                    (format!("{save}."), found)
                }
                _ => continue,
            };
            let entry = origins.entry(var).or_default();
            let before = entry.len();
            entry.extend(found);
            changed |= entry.len() != before;
        }
        if !changed {
            return origins;
        }
    }
}

/// Reports each money action of `flow` whose amount or counterparty may come from anywhere but
/// the customer's answers or the bank's records.
pub(super) fn check(flow: &Flow, catalogue: &Catalogue, out: &mut Out) {
    let origins = origins(flow);
    let mut steps: Vec<_> = flow.steps.values().collect();
    steps.sort_by_key(|s| s.pos.line);
    for step in steps {
        let Kind::Action { name, with, .. } = &step.kind else { continue };
        let Some(spec) = catalogue.spec(name) else { continue };
        for MoneyInput { input, answers } in spec.money_inputs {
            let Some((_, template)) = with.iter().find(|(i, _)| i == input) else { continue };
            let allowed = |o: &Origin| match o {
                Origin::Records => true,
                Origin::Answer(kind) => answers.contains(kind),
                Origin::Written => false,
            };
            let Some(wrong) = of_template(template, &origins, true).into_iter().find(|o| !allowed(o)) else {
                continue;
            };
            let from = match wrong {
                Origin::Answer(kind) => format!("the answer to a `{kind}` question"),
                _ => "text written in the flow".to_owned(),
            };
            let may = answers.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(" or ");
            out.error_at(
                step.pos,
                format!(
                    "action `{name}` moves money: its `{input}` must come from the customer's answer to a {may} question or from the bank's records, but here it can come from {from}"
                ),
            );
        }
    }
}
