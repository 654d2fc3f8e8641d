//! A session holds an identity number between its question and the action that uses it (a
//! registration's BVN until the account opens, a PIN reset's until it is checked): in the KV it
//! is sealed under `SECRETS_KEY`, and opened only in memory, for the turn that reads it.
//!
//! Which variables hold one is the session's own record ([`Session::private`]), kept by the
//! engine when it takes the answer. A value that no longer opens (its key is gone) is dropped:
//! the flow asks for it again rather than failing for ever.

use std::collections::{BTreeMap, BTreeSet};

use crate::flows::engine::Session;
use crate::sealed::Keys;

use super::Record;

/// What a sealed session value is bound to.
const CONTEXT: &str = "session:private";

/// `record` as the KV keeps it: each private value sealed.
pub(super) fn sealed(mut record: Record, keys: &Keys) -> Record {
    seal(&mut record.session, keys);
    if let Some(previous) = &mut record.previous {
        seal(previous, keys);
    }
    record
}

/// `record` as read from the KV, each private value opened.
pub(super) fn opened(mut record: Record, keys: &Keys) -> Record {
    open(&mut record.session, keys);
    if let Some(previous) = &mut record.previous {
        open(previous, keys);
    }
    record
}

/// Each private value of `session`, and of the flow an aside will go back to, sealed.
fn seal(session: &mut Session, keys: &Keys) {
    seal_vars(&mut session.vars, &session.private, keys);
    if let Some(back) = &mut session.aside {
        seal_vars(&mut back.vars, &back.private, keys);
    }
}

fn open(session: &mut Session, keys: &Keys) {
    open_vars(&mut session.vars, &session.private, keys);
    if let Some(back) = &mut session.aside {
        open_vars(&mut back.vars, &back.private, keys);
    }
}

fn seal_vars(vars: &mut BTreeMap<String, String>, private: &BTreeSet<String>, keys: &Keys) {
    for name in private {
        if let Some(value) = vars.get_mut(name) {
            *value = keys.seal(value, CONTEXT);
        }
    }
}

fn open_vars(vars: &mut BTreeMap<String, String>, private: &BTreeSet<String>, keys: &Keys) {
    for name in private {
        let Some(value) = vars.get_mut(name) else { continue };
        match keys.open(value, CONTEXT) {
            Ok(plain) => *value = plain,
            Err(_) => {
                tracing::warn!(variable = %name, "a sealed session value does not open: it is asked again");
                vars.remove(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holding(id_number: &str) -> Session {
        let mut session = Session::new("en", chrono::Utc::now());
        session.vars.insert("id_number".into(), id_number.into());
        session.vars.insert("first_name".into(), "Ada".into());
        session.private.insert("id_number".into());
        session
    }

    #[test]
    fn a_private_value_is_sealed_at_rest_and_opened_as_it_was() {
        let keys = Keys::ephemeral();
        let record = Record {
            session: holding("22212345678"),
            last_message: None,
            previous: Some(holding("22298765432")),
        };
        let kept = sealed(record.clone(), &keys);
        let bytes = serde_json::to_string(&kept).unwrap_or_default();
        assert!(!bytes.contains("22212345678") && !bytes.contains("22298765432"), "{bytes}");
        assert!(bytes.contains("Ada"), "only private values are sealed: {bytes}");
        assert_eq!(opened(kept, &keys), record);
    }

    #[test]
    fn a_private_value_kept_for_after_an_aside_is_sealed_too() {
        let keys = Keys::ephemeral();
        let mut session = Session::new("en", chrono::Utc::now());
        let registration = holding("22212345678");
        session.aside = Some(Box::new(crate::flows::engine::Back {
            flow: "registration".into(),
            step: "pin".into(),
            vars: registration.vars,
            private: registration.private,
            started_at: 0,
            run: "r1".into(),
            actions: 0,
            moved_money: false,
        }));
        let record = Record { session, last_message: None, previous: None };
        let kept = sealed(record.clone(), &keys);
        let bytes = serde_json::to_string(&kept).unwrap_or_default();
        assert!(!bytes.contains("22212345678") && bytes.contains("Ada"), "{bytes}");
        assert_eq!(opened(kept, &keys), record);
    }

    #[test]
    fn a_value_sealed_under_a_lost_key_is_dropped() {
        let kept = sealed(
            Record { session: holding("22212345678"), last_message: None, previous: None },
            &Keys::ephemeral(),
        );
        let read = opened(kept, &Keys::ephemeral());
        assert_eq!(read.session.vars.get("id_number"), None);
        assert_eq!(read.session.vars.get("first_name").map(String::as_str), Some("Ada"));
    }
}
