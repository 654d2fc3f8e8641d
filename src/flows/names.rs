//! The names flows share: built-in variables, question types, identifiers, and the
//! "did you mean" suggestion for a mistyped one.

pub use crate::locale::{ANY_LANGUAGE, LANGUAGES};
/// The variable that holds, and sets, the customer's language.
pub const LANGUAGE_VARIABLE: &str = "language";
/// The variable that holds the customer's WhatsApp number.
pub const PHONE_VARIABLE: &str = "phone";
/// The variable that holds the bank's name (`BANK_NAME`), for texts that introduce it.
pub const BANK_NAME_VARIABLE: &str = "bank_name";
/// Variables every step can read.
pub const BUILTIN_VARIABLES: [&str; 3] = [LANGUAGE_VARIABLE, PHONE_VARIABLE, BANK_NAME_VARIABLE];
/// The width assumed for a variable of unknown length.
pub(super) const DEFAULT_WIDTH: usize = 60;
/// The question types.
pub const ASK_TYPES: [&str; 12] = [
    "text",
    "name",
    "number",
    "amount",
    "phone",
    "pin",
    "otp",
    "date",
    "choice",
    "yes_no",
    "id_number",
    "account_number",
];

/// Lowercase letters, digits and underscores, starting with a letter.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// ", did you mean `x`?" when a known name is one or two edits away.
pub(super) fn suggestion<'a>(wrong: &str, known: impl Iterator<Item = &'a str>) -> String {
    closest(wrong, known).map_or_else(String::new, |k| format!("; did you mean `{k}`?"))
}

/// The known name one or two edits from `wrong`, the closest.
pub(super) fn closest<'a>(wrong: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known.map(|k| (edit_distance(wrong, k), k)).filter(|(d, _)| *d <= 2).min().map(|(_, k)| k)
}

pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current.push((previous[j] + cost).min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}
