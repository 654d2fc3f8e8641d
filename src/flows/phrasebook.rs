//! The engine's own words as data: `phrases.yaml` in a set of flows overrides what
//! [`super::phrases`] says, phrase by phrase, so admins edit them in a draft (and the Texts
//! view) like any flow text, with the same checks and the same publish rules.
//!
//! ```yaml
//! phrases:
//!   cancelled:
//!     en: "Okay, I have stopped. Reply \"menu\" whenever you want to start again."
//!     pcm: "Okay, I don stop am. …"
//! refusals:
//!   too_long:
//!     en: "That is too long. Please keep it under {{n}} characters."
//! ```
//!
//! A name not known, a language missing, a placeholder the phrase does not have, or a button
//! longer than WhatsApp takes is an error at its line. A phrase the file leaves out says the
//! built-in words.

use std::collections::HashMap;
use std::sync::LazyLock;

use marked_yaml::LoaderOptions;
use marked_yaml::types::MarkedMappingNode;

use super::input::Rejection;
use super::names::{self, ANY_LANGUAGE, LANGUAGES};
use super::phrases::{self, Phrase};
use super::report::{Out, Severity};
use crate::whatsapp::outbound::{
    BUTTON_TITLE_MAX, INTERACTIVE_BODY_MAX, ROW_TITLE_MAX, TEXT_BODY_MAX, utf16_len,
};

/// The words of one set of flows: overrides by (phrase or refusal key, language).
#[derive(Debug, Clone, Default)]
pub struct Phrasebook {
    said: HashMap<(String, String), String>,
}

/// The words teller ships for its own phrases: `flows/phrases.yaml`, which a set of flows may
/// override phrase by phrase.
pub const SHIPPED: &str = include_str!("../../flows/phrases.yaml");

/// [`SHIPPED`], compiled once. A test compiles it without an error, so it never is empty.
static BUILT_IN: LazyLock<Phrasebook> =
    LazyLock::new(|| compile(SHIPPED, &mut Out::default()).unwrap_or_default());

/// The words teller ships, for a set of flows without a `phrases.yaml` and for what one leaves out.
pub fn shipped() -> &'static Phrasebook {
    &BUILT_IN
}

impl Phrasebook {
    /// `phrase` in `language`: the set's words, else the built-in ones.
    pub fn say(&self, language: &str, phrase: Phrase) -> &str {
        self.words(&key(phrase), language)
    }

    /// Why an answer was refused, in `language`: the set's words, else the built-in ones.
    pub fn refused(&self, language: &str, rejection: &Rejection, amount: bool, currency: &str) -> String {
        phrases::refused_with(rejection, amount, currency, |refusal| {
            self.words(&format!("refusal:{refusal}"), language)
        })
    }

    /// The words under `key` in `language`: this book's, else the shipped ones, else English.
    fn words(&self, key: &str, language: &str) -> &str {
        self.own(key, language)
            .or_else(|| BUILT_IN.own(key, language))
            .or_else(|| BUILT_IN.own(key, "en"))
            .unwrap_or("")
    }
}

impl Phrasebook {
    /// The words stored under `key` (a phrase's name, or `refusal:` and a refusal's) in
    /// `language`, with no fallback.
    pub(super) fn own(&self, key: &str, language: &str) -> Option<&str> {
        self.said.get(&(key.to_owned(), language.to_owned())).map(String::as_str)
    }
}

/// The name `phrase` has in `phrases.yaml`: its variant in snake case (`CancelledNothingSent`
/// is `cancelled_nothing_sent`).
pub fn key(phrase: Phrase) -> String {
    let mut out = String::new();
    for (i, c) in format!("{phrase:?}").chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// How the customer sees the phrase `name` of `section`, and WhatsApp's limit there.
pub fn shown_as(section: &str, name: &str) -> (&'static str, usize) {
    match (section, name) {
        ("refusals", _) => ("refusal", TEXT_BODY_MAX),
        (_, "resume" | "restart" | "yes" | "no" | "list_button") => ("button", BUTTON_TITLE_MAX),
        (_, "pin_form_button" | "signup_form_button" | "identity_form_button" | "code_form_button") => {
            ("button", BUTTON_TITLE_MAX)
        }
        (_, "more_options" | "first_options") => ("list row", ROW_TITLE_MAX),
        (_, "resume_offer") => ("question", INTERACTIVE_BODY_MAX),
        _ => ("phrase", TEXT_BODY_MAX),
    }
}

/// Checks `phrases.yaml` (its text `source`) into `out`; the phrasebook when it has no error.
pub(super) fn compile(source: &str, out: &mut Out) -> Option<Phrasebook> {
    let errors_before = out.error_count();
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    let root = match marked_yaml::parse_yaml_with_options(0, source, options) {
        Ok(root) => root,
        Err(e) => {
            out.push(1, 1, Severity::Error, format!("not valid YAML: {e}"));
            return None;
        }
    };
    let Some(root) = root.as_mapping() else {
        out.error(root.span(), "phrases.yaml maps `phrases:` and `refusals:` to their words");
        return None;
    };
    let mut book = Phrasebook::default();
    for (section, map) in root.iter() {
        let known: Vec<String> = match section.as_str() {
            "phrases" => Phrase::ALL.iter().map(|p| key(*p)).collect(),
            "refusals" => phrases::REFUSAL_KEYS.iter().map(|k| (*k).to_owned()).collect(),
            other => {
                let hint = names::suggestion(other, ["phrases", "refusals"].into_iter());
                out.error(section.span(), format!("`{other}` is not a part of phrases.yaml{hint}"));
                continue;
            }
        };
        let Some(map) = map.as_mapping() else {
            out.error(map.span(), format!("`{}:` maps each phrase's name to its words", section.as_str()));
            continue;
        };
        for (name, texts) in map.iter() {
            if !known.iter().any(|k| k == name.as_str()) {
                let hint = names::suggestion(name.as_str(), known.iter().map(String::as_str));
                out.error(name.span(), format!("there is no phrase `{}`{hint}", name.as_str()));
                continue;
            }
            let Some(texts) = texts.as_mapping() else {
                out.error(texts.span(), format!("`{}` needs its words in each language", name.as_str()));
                continue;
            };
            phrase(section.as_str(), name.as_str(), texts, &mut book, out);
        }
    }
    (out.error_count() == errors_before).then_some(book)
}

fn phrase(section: &str, name: &str, texts: &MarkedMappingNode, book: &mut Phrasebook, out: &mut Out) {
    let allowed = phrases::placeholders(section, name);
    let (shown_as, limit) = shown_as(section, name);
    let stored = if section == "refusals" { format!("refusal:{name}") } else { name.to_owned() };
    let missing: Vec<&str> = LANGUAGES
        .into_iter()
        .filter(|l| texts.get_node(l).is_none() && texts.get_node(ANY_LANGUAGE).is_none())
        .collect();
    if !missing.is_empty() {
        out.error(texts.span(), format!("`{name}` has no text in {}", missing.join(", ")));
    }
    for (language, value) in texts.iter() {
        let lang = language.as_str();
        if !LANGUAGES.contains(&lang) && lang != ANY_LANGUAGE {
            let hint = names::suggestion(lang, LANGUAGES.into_iter());
            out.error(language.span(), format!("`{lang}` is not a language teller speaks{hint}"));
            continue;
        }
        let Some(value) = value.as_scalar().map(|v| v.as_str()) else {
            out.error(value.span(), format!("the `{lang}` text of `{name}` must be text"));
            continue;
        };
        if value.trim().is_empty() {
            out.error(language.span(), format!("the `{lang}` text of `{name}` is empty"));
            continue;
        }
        let filled = match placeholders(value, allowed) {
            Ok(filled) => filled,
            Err(unknown) => {
                let have = if allowed.is_empty() {
                    "it has none".to_owned()
                } else {
                    format!(
                        "it has {}",
                        allowed.iter().map(|a| format!("{{{{{a}}}}}")).collect::<Vec<_>>().join(", ")
                    )
                };
                out.error(
                    &value_span(texts, lang),
                    format!("`{name}` has no placeholder `{{{{{unknown}}}}}`: {have}"),
                );
                continue;
            }
        };
        if limit < TEXT_BODY_MAX && utf16_len(value) > limit {
            out.error(
                &value_span(texts, lang),
                format!("a {shown_as} is at most {limit} characters; this is {}", utf16_len(value)),
            );
            continue;
        }
        let languages: Vec<&str> = if lang == ANY_LANGUAGE { LANGUAGES.to_vec() } else { vec![lang] };
        for l in languages {
            book.said.entry((stored.clone(), l.to_owned())).or_insert_with(|| filled.clone());
        }
    }
}

fn value_span(texts: &MarkedMappingNode, language: &str) -> marked_yaml::Span {
    texts.get_node(language).map_or(*texts.span(), |n| *n.span())
}

/// `text` with each `{{name}}` written `{name}` (how the built-in words are filled); the first
/// name not in `allowed` otherwise.
fn placeholders(text: &str, allowed: &[&str]) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(after.chars().take(20).collect());
        };
        let name = after[..close].trim();
        if !allowed.contains(&name) {
            return Err(name.to_owned());
        }
        out.push('{');
        out.push_str(name);
        out.push('}');
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(source: &str) -> (Vec<String>, Option<Phrasebook>) {
        let mut out = Out { source: source.to_owned(), ..Out::default() };
        let book = compile(source, &mut out);
        (out.diagnostics.iter().map(|d| format!("{}:{} {}", d.line, d.column, d.message)).collect(), book)
    }

    #[test]
    fn phrases_override_the_built_in_words_and_the_rest_stay() {
        let (errors, book) = check(
            "phrases:\n  cancelled:\n    en: \"Stopped.\"\n    pcm: \"I don stop.\"\n    yo: \"Mo ti dá a dúró.\"\n    ha: \"Na tsaya.\"\n    ig: \"Akwụsịla m.\"\nrefusals:\n  too_long:\n    any: \"Under {{n}}.\"\n",
        );
        assert_eq!(errors, Vec::<String>::new());
        let book = book.unwrap();
        assert_eq!(book.say("pcm", Phrase::Cancelled), "I don stop.");
        assert_eq!(book.say("en", Phrase::NothingToCancel), shipped().say("en", Phrase::NothingToCancel));
        assert_eq!(book.say("ha", Phrase::Cancelled), "Na tsaya.");
        let refusal = book.refused("yo", &Rejection::TooLong(30), false, "NGN");
        assert_eq!(refusal, "Under 30.");
    }

    #[test]
    fn each_mistake_is_one_error_at_its_line() {
        let (errors, book) = check(
            "phrases:\n  canceled:\n    en: x\n    pcm: y\n  resume:\n    en: \"Continue where you stopped please\"\n    pcm: \"Continue\"\n    yo: \"Tẹ̀síwájú\"\n    ha: \"Ci gaba\"\n    ig: \"Gaa n'ihu\"\n  yes:\n    en: \"Yes\"\nrefusals:\n  too_long:\n    en: \"Under {{amount}}\"\n    pcm: \"Under {{n}}\"\n    yo: \"{{n}}\"\n    ha: \"{{n}}\"\n    ig: \"{{n}}\"\n",
        );
        assert!(book.is_none());
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(
            errors[0].starts_with("2:3 there is no phrase `canceled`; did you mean `cancelled`?"),
            "{errors:?}"
        );
        assert!(errors[1].starts_with("6:9 a button is at most 20 characters"), "{errors:?}");
        assert!(errors[2].starts_with("12:7 `yes` has no text in pcm, yo, ha, ig"), "{errors:?}");
        assert!(
            errors[3].starts_with("15:9 `too_long` has no placeholder `{{amount}}`: it has {{n}}"),
            "{errors:?}"
        );
    }

    #[test]
    fn names_are_the_variants_in_snake_case() {
        assert_eq!(key(Phrase::CancelledNothingSent), "cancelled_nothing_sent");
        assert_eq!(key(Phrase::Yes), "yes");
    }
}

#[cfg(test)]
mod shipped {
    use super::*;

    /// The shipped `flows/phrases.yaml` is the built-in words: it compiles cleanly and says
    /// every phrase and refusal in every language, so nothing the engine says is missing.
    #[test]
    fn the_shipped_phrases_file_says_everything_in_every_language() {
        let mut out = Out::default();
        let book = compile(SHIPPED, &mut out).unwrap_or_else(|| panic!("{:?}", out.diagnostics));
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        for language in LANGUAGES {
            for phrase in Phrase::ALL {
                assert!(book.own(&key(phrase), language).is_some_and(|w| !w.is_empty()), "{phrase:?}");
                assert_eq!(shipped().say(language, phrase), book.own(&key(phrase), language).unwrap_or(""));
            }
            for refusal in phrases::REFUSAL_KEYS {
                assert!(
                    book.own(&format!("refusal:{refusal}"), language).is_some(),
                    "{refusal} in {language}"
                );
            }
        }
    }
}
