//! Amounts written in words, as customers type them: "ten thousand", "two hundred and fifty",
//! "a thousand", "5 thousand", "1.5 million", "20 k". English and Pidgin count with the same
//! words, so one reader serves both.

use super::{AmountError, MAX_AMOUNT_MINOR, MINOR_PER_MAJOR};

/// `text` (lowercase, its currency marks already taken off) as minor units when it is written
/// with number words; `None` when it has none, so it is read as figures. `figure` reads a
/// token written in figures ("1.5") as minor units.
pub(super) fn parse(
    text: &str,
    figure: impl Fn(&str) -> Result<i64, AmountError>,
) -> Option<Result<i64, AmountError>> {
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|t| !t.is_empty() && *t != "and")
        .collect();
    if !tokens.iter().any(|t| t.chars().any(char::is_alphabetic)) {
        return None;
    }
    Some(read(&tokens, figure))
}

fn read(tokens: &[&str], figure: impl Fn(&str) -> Result<i64, AmountError>) -> Result<i64, AmountError> {
    let too_large = || AmountError::TooLarge;
    // What is counted so far (minor units), the group being read, and the last scale used:
    // scales must fall ("a million five hundred thousand"), never repeat or rise.
    let (mut total, mut group, mut last_scale): (i64, Option<i64>, i64) = (0, None, i64::MAX);
    for token in tokens {
        if let Some(n) = small(token) {
            group = Some(group.unwrap_or(0).checked_add(n * MINOR_PER_MAJOR).ok_or_else(too_large)?);
        } else if *token == "hundred" {
            let n = group.unwrap_or(MINOR_PER_MAJOR);
            if n >= 1_000 * MINOR_PER_MAJOR {
                return Err(AmountError::NotANumber);
            }
            group = Some(n * 100);
        } else if let Some(scale) = scale(token) {
            if scale >= last_scale {
                return Err(AmountError::NotANumber);
            }
            let n = group.take().unwrap_or(MINOR_PER_MAJOR);
            total = n.checked_mul(scale).and_then(|n| total.checked_add(n)).ok_or_else(too_large)?;
            last_scale = scale;
        } else if matches!(*token, "a" | "an") && group.is_none() {
            group = Some(MINOR_PER_MAJOR);
        } else if token.starts_with(|c: char| c.is_ascii_digit()) && group.is_none() {
            group = Some(figure(token)?);
        } else {
            return Err(AmountError::NotANumber);
        }
    }
    let minor = total.checked_add(group.unwrap_or(0)).ok_or_else(too_large)?;
    match minor {
        0 => Err(AmountError::NotPositive),
        m if m > MAX_AMOUNT_MINOR => Err(AmountError::TooLarge),
        m => Ok(m),
    }
}

/// Zero to ninety-nine, as one word.
fn small(word: &str) -> Option<i64> {
    const UNITS: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 8] = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
    // "fourty" is how many write it.
    let word = if word == "fourty" { "forty" } else { word };
    let position = |list: &[&str]| list.iter().position(|w| *w == word).and_then(|i| i64::try_from(i).ok());
    position(&UNITS).or_else(|| position(&TENS).map(|i| (i + 2) * 10))
}

/// What a scale word multiplies by.
fn scale(word: &str) -> Option<i64> {
    match word {
        "thousand" | "k" => Some(1_000),
        "million" | "m" => Some(1_000_000),
        "billion" => Some(1_000_000_000),
        _ => None,
    }
}

/// Whether `word` (lowercase) is a number word: "ten", "hundred", "thousand".
pub fn is_number_word(word: &str) -> bool {
    small(word).is_some() || is_scale_word(word)
}

/// Whether `word` (lowercase) scales what comes before it: "hundred", "thousand", "million".
pub fn is_scale_word(word: &str) -> bool {
    word == "hundred" || (scale(word).is_some() && word.len() > 1)
}
