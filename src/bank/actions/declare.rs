//! An action's inputs and results as Rust types, declared once.
//!
//! `inputs!` makes a struct of the inputs an action reads and `results!` an enum of the results it
//! returns, each variant carrying its outputs as fields. The action's declaration takes its
//! input names and result specs from these types, and its runner builds them, so a runner
//! cannot read an input it did not declare or return a code or output its declaration lacks:
//! either is a Rust compile error. The one check left for run time is the bank's own refusals,
//! shared across actions: `refused` turns one into the action's result of the same code, and an
//! action asked to return a refusal it does not declare fails rather than answer something the
//! flow cannot handle.
//!
//! May import: `flows::actions` (the specs the compiler reads) and `bank::actions`.

use std::collections::BTreeMap;

use crate::flows::actions::{ActionCall, ActionOutcome, ResultSpec};

/// An input as a runner reads it, parsed from the text the flow rendered.
pub(super) trait FromInput: Sized {
    /// Parses `text`, given to `call` as input `name`.
    fn from_input(call: &ActionCall, name: &str, text: &str) -> anyhow::Result<Self>;
}

impl FromInput for String {
    fn from_input(_: &ActionCall, _: &str, text: &str) -> anyhow::Result<Self> {
        Ok(text.to_owned())
    }
}

/// A positive amount in minor units. Flows give it from an `amount` question, which has already
/// refused anything else, so a bad one means a flow passes the wrong thing: an error, not a
/// result.
#[derive(Debug, Clone, Copy)]
pub(super) struct Minor(pub i64);

impl FromInput for Minor {
    fn from_input(call: &ActionCall, name: &str, text: &str) -> anyhow::Result<Self> {
        match text.parse::<i64>() {
            Ok(amount) if amount > 0 => Ok(Minor(amount)),
            _ => {
                anyhow::bail!("action {}: {name} {text:?} is not a positive number of minor units", call.name)
            }
        }
    }
}

/// The text of input `name`, trimmed; empty when the flow gave none.
pub(super) fn text<'a>(call: &'a ActionCall, name: &str) -> &'a str {
    call.inputs.get(name).map_or("", |v| v.trim())
}

/// The results of one action.
pub(super) trait Results: Sized {
    /// Every result, as the flow compiler reads them.
    const RESULTS: &'static [ResultSpec];
    /// The result with `code` when it carries no outputs.
    fn from_code(code: &str) -> Option<Self>;
    /// The result as the host sees it.
    fn outcome(self) -> ActionOutcome;
}

/// The result of the same code as a refusal of the bank's (`code`). An action that does not
/// declare it fails: a flow would have no branch for it.
pub(super) fn refused<R: Results>(call: &ActionCall, code: &str) -> anyhow::Result<R> {
    R::from_code(code).ok_or_else(|| anyhow::anyhow!("action {} cannot return {code:?}", call.name))
}

/// An outcome from a code and its outputs (what `results!` expands to).
pub(super) fn outcome(code: &str, outputs: Vec<(&str, String)>) -> ActionOutcome {
    ActionOutcome {
        code: code.to_owned(),
        outputs: outputs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<BTreeMap<_, _>>(),
    }
}

/// `inputs!(Name { field: Type, … })`: the inputs of an action as a struct, with their names
/// for the declaration and a reader from a call.
macro_rules! inputs {
    ($(#[$meta:meta])* $name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        pub(super) struct $name {
            $(pub $field: $ty,)*
        }

        impl $name {
            /// The input names, for the declaration.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),*];

            /// The inputs of `call`.
            #[allow(unused_variables)]
            pub fn read(call: &$crate::flows::actions::ActionCall) -> anyhow::Result<Self> {
                use $crate::bank::actions::declare::{FromInput, text};
                Ok(Self {
                    $($field: <$ty>::from_input(call, stringify!($field), text(call, stringify!($field)))?,)*
                })
            }
        }
    };
}

/// `results!(Name { Variant = "code" { output, … }, … })`: the results of an action as an enum,
/// each carrying its outputs.
macro_rules! results {
    (@unit $name:ident $variant:ident) => { Some($name::$variant) };
    (@unit $name:ident $variant:ident { $($out:ident),+ }) => { None };
    ($(#[$meta:meta])* $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $code:literal $({ $($out:ident),+ $(,)? })?),+ $(,)?
    }) => {
        $(#[$meta])*
        // Built once per call and turned straight into an outcome: not worth boxing; and its
        // variants are named after the codes, whatever the enum is called.
        #[allow(clippy::large_enum_variant, clippy::enum_variant_names)]
        #[derive(Debug)]
        pub(super) enum $name {
            $($(#[$vmeta])* $variant $({ $($out: String),+ })?,)+
        }

        impl $crate::bank::actions::declare::Results for $name {
            const RESULTS: &'static [$crate::flows::actions::ResultSpec] = &[$(
                $crate::flows::actions::ResultSpec { code: $code, outputs: &[$($(stringify!($out)),+)?] },
            )+];

            fn from_code(code: &str) -> Option<Self> {
                $(if code == $code {
                    return results!(@unit $name $variant $({ $($out),+ })?);
                })+
                None
            }

            fn outcome(self) -> $crate::flows::actions::ActionOutcome {
                match self {
                    $($name::$variant $({ $($out),+ })? => $crate::bank::actions::declare::outcome(
                        $code,
                        vec![$($((stringify!($out), $out)),+)?],
                    ),)+
                }
            }
        }
    };
}

pub(super) use {inputs, results};

#[cfg(test)]
mod tests {
    use super::*;

    inputs!(
        /// A test's inputs.
        TestIn { amount: Minor, to: String }
    );

    results!(
        /// A test's results.
        TestResult { Ok = "ok" { reference, fee }, Locked = "locked" }
    );

    fn call(inputs: &[(&str, &str)]) -> ActionCall {
        ActionCall {
            name: "test".into(),
            inputs: inputs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            customer: "wa:2348000000001".into(),
            idempotency_key: "k".into(),
        }
    }

    #[test]
    fn the_declaration_and_the_outcome_come_from_one_type() {
        assert_eq!(TestIn::NAMES, &["amount", "to"]);
        let codes: Vec<_> = TestResult::RESULTS.iter().map(|r| (r.code, r.outputs)).collect();
        assert_eq!(codes, [("ok", &["reference", "fee"][..]), ("locked", &[][..])]);
        let outcome = TestResult::Ok { reference: "TX1".into(), fee: "10".into() }.outcome();
        assert_eq!(outcome.code, "ok");
        assert_eq!(outcome.outputs.get("reference").map(String::as_str), Some("TX1"));
        assert_eq!(outcome.outputs.get("fee").map(String::as_str), Some("10"));
        assert_eq!(TestResult::Locked.outcome().outputs.len(), 0);
    }

    #[test]
    fn a_refusal_becomes_the_result_of_its_code_or_an_error_naming_it() {
        let call = call(&[]);
        assert!(matches!(refused::<TestResult>(&call, "locked"), Ok(TestResult::Locked)));
        // A result with outputs cannot be made from a bare code.
        assert!(refused::<TestResult>(&call, "ok").is_err());
        let error = refused::<TestResult>(&call, "to_self").unwrap_err().to_string();
        assert_eq!(error, "action test cannot return \"to_self\"");
    }

    #[test]
    fn inputs_are_read_trimmed_and_amounts_must_be_positive_minor_units() {
        let read = TestIn::read(&call(&[("amount", " 5000 "), ("to", " 08031234567 ")])).unwrap();
        assert_eq!((read.amount.0, read.to.as_str()), (5000, "08031234567"));
        for bad in ["nan", "-5", "0", "1e9", "5,00.0", "$50", ""] {
            let error = TestIn::read(&call(&[("amount", bad), ("to", "x")])).err().map(|e| e.to_string());
            assert_eq!(
                error,
                Some(format!("action test: amount {bad:?} is not a positive number of minor units")),
                "{bad}"
            );
        }
    }
}
