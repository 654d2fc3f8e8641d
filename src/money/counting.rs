//! Amounts in Yoruba, Hausa and Igbo words, as customers type them: the scale comes first and
//! its count after ("dubu biyar", "puku ise", "ẹgbẹ̀rún márùn-ún": five thousand), groups are
//! joined by "da", "na", "àti" ("dubu biyu da ɗari biyar": 2,500), a half is "rabi", "ọkara",
//! "ààbọ̀" or "ìdajì", and figures mix in ("dubu 5"). Accents and underdots are optional.

use std::borrow::Cow;

use super::{AmountError, MAX_AMOUNT_MINOR, MINOR_PER_MAJOR};

/// What each scale word multiplies by.
const SCALES: [(&str, i64); 11] = [
    ("dubu", 1_000),
    ("puku", 1_000),
    ("egberun", 1_000),
    ("dari", 100),
    ("nari", 100),
    ("ogorun", 100),
    ("ogorunun", 100),
    ("miliyan", 1_000_000),
    ("nde", 1_000_000),
    ("milionu", 1_000_000),
    ("milioonu", 1_000_000),
];

/// Counts, in the three languages (Yoruba's hundreds from 200 to 800 are single words).
const COUNTS: [(&str, i64); 57] = [
    ("daya", 1),
    ("biyu", 2),
    ("uku", 3),
    ("hudu", 4),
    ("biyar", 5),
    ("shida", 6),
    ("bakwai", 7),
    ("takwas", 8),
    ("tara", 9),
    ("goma", 10),
    ("ashirin", 20),
    ("talatin", 30),
    ("arbain", 40),
    ("hamsin", 50),
    ("otu", 1),
    ("abuo", 2),
    ("ato", 3),
    ("ano", 4),
    ("ise", 5),
    ("isii", 6),
    ("asaa", 7),
    ("asato", 8),
    ("itoolu", 9),
    ("iteghete", 9),
    ("iri", 10),
    ("kan", 1),
    ("okan", 1),
    ("meji", 2),
    ("eeji", 2),
    ("meta", 3),
    ("eeta", 3),
    ("merin", 4),
    ("eerin", 4),
    ("marun", 5),
    ("maarun", 5),
    ("aarun", 5),
    ("mefa", 6),
    ("eefa", 6),
    ("meje", 7),
    ("eeje", 7),
    ("mejo", 8),
    ("eejo", 8),
    ("mesan", 9),
    ("eesan", 9),
    ("mewa", 10),
    ("mewaa", 10),
    ("eewaa", 10),
    ("ogun", 20),
    ("ogbon", 30),
    ("ogoji", 40),
    ("aadota", 50),
    ("igba", 200),
    ("oodunrun", 300),
    ("irinwo", 400),
    ("eedegbeta", 500),
    ("egbeta", 600),
    ("egberin", 800),
];

/// "And a half" after a count ("dubu biyu da rabi"), or "half" before a scale ("rabin dubu").
const HALVES: [&str; 6] = ["rabi", "rabin", "okara", "aabo", "abo", "idaji"];
/// Words joining the groups of one amount.
const JOINS: [&str; 5] = ["da", "na", "ati", "le", "sha"];

/// `word` folded as the counting words are written: no accents, no apostrophes, and Yoruba's
/// echoed vowel dropped ("márùn-ún" is "marun"). A word of plain lowercase letters and digits,
/// as most are, is its own folded form: it is lent back, not rebuilt, since every word of every
/// message is asked about.
pub(super) fn folded(word: &str) -> Cow<'_, str> {
    if word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
        return Cow::Borrowed(word);
    }
    let word = crate::locale::fold(word).replace(['\'', '’'], "");
    Cow::Owned(word.trim_end_matches("-un").trim_end_matches("-an").replace('-', ""))
}

fn scale(word: &str) -> Option<i64> {
    SCALES.iter().find(|(w, _)| *w == word).map(|(_, n)| *n)
}

fn count(word: &str) -> Option<i64> {
    COUNTS.iter().find(|(w, _)| *w == word).map(|(_, n)| *n)
}

/// Whether `word` joins the parts of one amount ("da", "na", "àti").
pub fn is_counting_join(word: &str) -> bool {
    JOINS.contains(&folded(word).as_ref())
}

/// Whether `word` is one of these counting words (a scale, a count or a half).
pub fn is_counting_word(word: &str) -> bool {
    let word = folded(word);
    scale(&word).is_some() || count(&word).is_some() || HALVES.contains(&word.as_ref())
}

/// Whether `word` is a scale ("dubu", "puku", "ẹgbẹ̀rún", "ɗari"…).
pub fn is_counting_scale(word: &str) -> bool {
    let word = folded(word);
    scale(&word).is_some() || count(&word).is_some_and(|n| n >= 200)
}

/// `text` (lowercase, currency marks off) as minor units when it opens with one of these words;
/// `None` otherwise. `figure` reads a count written in figures.
pub(super) fn parse(
    text: &str,
    figure: impl Fn(&str) -> Result<i64, AmountError>,
) -> Option<Result<i64, AmountError>> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| folded(w).into_owned())
        .filter(|w| !w.is_empty() && w != "naira")
        .collect();
    let first = words.first()?;
    let counted_scale = count(first).is_some() && words.get(1).is_some_and(|w| scale(w).is_some());
    if !(scale(first).is_some()
        || count(first).is_some_and(|n| n >= 200)
        || HALVES.contains(&first.as_str())
        || counted_scale)
    {
        return None;
    }
    Some(read(&words, figure))
}

/// Groups of "scale [count] [half]", "half scale" or a Yoruba hundred, joined; the total.
fn read(words: &[String], figure: impl Fn(&str) -> Result<i64, AmountError>) -> Result<i64, AmountError> {
    let (mut total, mut i, mut last_scale) = (0i64, 0usize, i64::MAX);
    while i < words.len() {
        let word = words[i].as_str();
        let add = if JOINS.contains(&word) {
            i += 1;
            continue;
        } else if HALVES.contains(&word) {
            // "Half a thousand", or "and a half" of the group before.
            match words.get(i + 1).and_then(|w| scale(w)) {
                Some(s) => {
                    i += 1;
                    s / 2
                }
                None => return Err(AmountError::NotANumber),
            }
        } else if let Some(s) = scale(word) {
            let (n, used) = counted(&words[i + 1..], &figure)?;
            i += used;
            if s >= last_scale {
                return Err(AmountError::NotANumber);
            }
            last_scale = s;
            let is_half = |at: usize| words.get(at).is_some_and(|w| HALVES.contains(&w.as_str()));
            let joined = words.get(i + 1).is_some_and(|w| JOINS.contains(&w.as_str()));
            let half = is_half(i + 1) || (joined && is_half(i + 2));
            i += if is_half(i + 1) {
                1
            } else if half {
                2
            } else {
                0
            };
            s.checked_mul(n).ok_or(AmountError::TooLarge)? + if half { s / 2 } else { 0 }
        } else if let Some((n, s)) = count(word).zip(words.get(i + 1).and_then(|w| scale(w))) {
            // A count before its scale, as Igbo also says it: "otu puku", one thousand.
            i += 1;
            n.checked_mul(s).ok_or(AmountError::TooLarge)?
        } else if let Some(n) = count(word) {
            n
        } else {
            return Err(AmountError::NotANumber);
        };
        total = total.checked_add(add).ok_or(AmountError::TooLarge)?;
        i += 1;
    }
    let minor = total.checked_mul(MINOR_PER_MAJOR).ok_or(AmountError::TooLarge)?;
    match minor {
        0 => Err(AmountError::NotPositive),
        m if m > MAX_AMOUNT_MINOR => Err(AmountError::TooLarge),
        m => Ok(m),
    }
}

/// The count after a scale (1 when none), and how many words it took: units and tens added
/// ("goma sha biyu"), Igbo tens multiplied ("iri abụọ"), or one figure ("dubu 5").
fn counted(
    words: &[String],
    figure: &impl Fn(&str) -> Result<i64, AmountError>,
) -> Result<(i64, usize), AmountError> {
    if let Some(first) = words.first()
        && first.starts_with(|c: char| c.is_ascii_digit())
    {
        return Ok((figure(first)? / MINOR_PER_MAJOR, 1));
    }
    let (mut n, mut used) = (0i64, 0usize);
    while let Some(word) = words.get(used) {
        match count(word).filter(|n| *n < 200) {
            Some(c)
                if word == "iri" && words.get(used + 1).and_then(|w| count(w)).is_some_and(|m| m < 10) =>
            {
                n += c * count(&words[used + 1]).unwrap_or(1);
                used += 2;
            }
            Some(c) => {
                n += c;
                used += 1;
            }
            // "goma sha biyu", "iri na ise": a join inside a count, when a count follows.
            None if word == "sha" && words.get(used + 1).and_then(|w| count(w)).is_some() => used += 1,
            None => break,
        }
    }
    Ok((if used == 0 { 1 } else { n }, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(text: &str) -> Option<Result<i64, AmountError>> {
        parse(&text.to_lowercase(), super::super::parse_amount).map(|r| r.map(|m| m / MINOR_PER_MAJOR))
    }

    #[test]
    fn amounts_in_yoruba_hausa_and_igbo_words() {
        for (said, naira) in [
            ("dubu biyar", 5_000),
            ("dubu biyu da ɗari biyar", 2_500),
            ("dubu biyu da rabi", 2_500),
            ("rabin dubu", 500),
            ("ɗari biyar", 500),
            ("dubu goma sha biyu", 12_000),
            ("naira dubu 5", 5_000),
            ("puku ise", 5_000),
            ("puku abụọ na ọkara", 2_500),
            ("puku iri", 10_000),
            ("puku iri abụọ", 20_000),
            ("narị ise", 500),
            ("ọkara puku", 500),
            ("ẹgbẹ̀rún márùn-ún", 5_000),
            ("egberun meji aabo", 2_500),
            ("ẹgbẹ̀rún mẹ́wàá", 10_000),
            ("ìdajì ẹgbẹ̀rún", 500),
            ("ẹ̀ẹ́dẹ́gbẹ̀ta", 500),
            ("ẹgbẹ̀rún kan àti ẹ̀ẹ́dẹ́gbẹ̀ta", 1_500),
            ("ọgọ́rùn-ún márùn-ún", 500),
            ("miliyan daya", 1_000_000),
            ("otu puku", 1_000),
            ("otu puku na narị ise", 1_500),
        ] {
            assert_eq!(amount(said), Some(Ok(naira)), "{said}");
        }
    }

    #[test]
    fn other_words_are_not_amounts_and_nonsense_is_refused() {
        assert_eq!(amount("five thousand"), None);
        assert_eq!(amount("biyu"), None, "a count alone is not read as naira");
        assert_eq!(amount("dubu kudi"), Some(Err(AmountError::NotANumber)));
        assert_eq!(amount("dubu miliyan"), Some(Err(AmountError::NotANumber)), "scales fall");
        assert_eq!(amount("miliyan 5000000"), Some(Err(AmountError::TooLarge)));
    }
}
