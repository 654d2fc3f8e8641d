//! Typed answers: what a customer typed, checked and normalised for the session.
//!
//! Each question type has one parser here; the engine stores what it returns (a normalised
//! string: minor units for amounts, international digits for phones, ISO dates) and words a
//! [`Rejection`] in the customer's language.

use chrono::NaiveDate;
use regex::Regex;

use crate::money::{self, AmountError};

/// The longest free-text answer kept.
pub const TEXT_MAX: usize = 200;
/// The longest name kept.
pub const NAME_MAX: usize = 60;

/// A question's answer type, with its own bounds.
#[derive(Debug, Clone)]
pub enum Kind {
    /// Any text up to [`TEXT_MAX`], matching the whole of a pattern when the question has one.
    Text(Option<Regex>),
    /// A person's name: letters, spaces, hyphens, apostrophes and dots.
    Name,
    /// A whole number within bounds.
    Number {
        /// Smallest accepted.
        min: Option<i64>,
        /// Largest accepted.
        max: Option<i64>,
    },
    /// Money, bounds in major units; stored as minor units.
    Amount {
        /// Smallest accepted, in major units.
        min: Option<i64>,
        /// Largest accepted, in major units.
        max: Option<i64>,
    },
    /// A phone number, stored as international digits.
    Phone,
    /// 4 to 6 digits; never stored in the session.
    Pin,
    /// 6 digits; never stored in the session.
    Otp,
    /// A calendar date, day first; stored as `YYYY-MM-DD`.
    Date,
    /// One of the question's options.
    Choice,
    /// Yes or no; stored as `yes` or `no`.
    YesNo,
    /// An identity number matching the whole of a pattern; spaces and dashes are ignored.
    IdNumber(Regex),
    /// A bank account number matching the whole of a pattern (10 digits, a NUBAN, when the
    /// question has none); spaces and dashes are ignored. Not private: it is given to be paid
    /// into, and a request typed at it ("send 3k to zenith 1001234560") is read.
    AccountNumber(Regex),
}

impl Kind {
    /// The name flows give this type (`ask: amount`).
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Text(_) => "text",
            Kind::Name => "name",
            Kind::Number { .. } => "number",
            Kind::Amount { .. } => "amount",
            Kind::Phone => "phone",
            Kind::Pin => "pin",
            Kind::Otp => "otp",
            Kind::Date => "date",
            Kind::Choice => "choice",
            Kind::YesNo => "yes_no",
            Kind::IdNumber(_) => "id_number",
            Kind::AccountNumber(_) => "account_number",
        }
    }

    /// Whether answers of this type are secrets that must never be stored or shown.
    pub fn is_secret(&self) -> bool {
        matches!(self, Kind::Pin | Kind::Otp)
    }

    /// An answer that must not be kept once handled: a secret, or an identity number.
    pub fn is_private(&self) -> bool {
        self.is_secret() || matches!(self, Kind::IdNumber(_))
    }

    /// The longest a stored answer can be, for checking the limits of texts that show it.
    pub fn max_width(&self) -> usize {
        match self {
            Kind::Text(_) => TEXT_MAX,
            Kind::Name => NAME_MAX,
            Kind::Number { .. } | Kind::Amount { .. } => 20,
            Kind::Phone => 15,
            Kind::Pin | Kind::Otp => 6,
            Kind::Date => 10,
            Kind::Choice => 30,
            Kind::YesNo => 3,
            Kind::IdNumber(_) | Kind::AccountNumber(_) => 30,
        }
    }
}

/// Why an answer was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Nothing was typed.
    Empty,
    /// Longer than the type allows.
    TooLong(usize),
    /// Not a name.
    NotName,
    /// A title ("Mrs.", "Dr") where only the name goes.
    Title,
    /// Not a whole number.
    NotNumber,
    /// Below the smallest accepted (in the question's units).
    BelowMin(i64),
    /// Above the largest accepted (in the question's units).
    AboveMax(i64),
    /// Not an amount.
    Amount(AmountError),
    /// Not a phone number.
    NotPhone,
    /// Not 4 to 6 digits.
    NotPin,
    /// Not 6 digits.
    NotOtp,
    /// Not a date.
    NotDate,
    /// Written as a date, but no such day ("31/02/1990").
    NoSuchDate,
    /// A date with a two-digit year ("17/05/90"): the century is not guessed; the date with a
    /// likely one is suggested ("17/05/1990").
    ShortYear(String),
    /// Neither yes nor no.
    NotYesNo,
    /// Does not match the question's pattern.
    NoMatch,
    /// Not one of the options.
    NotAnOption,
}

/// An identity number as kept: `typed` without the spaces and dashes people group it with.
pub fn compact_id_number(typed: &str) -> String {
    typed.chars().filter(|c| !matches!(c, ' ' | '-')).collect()
}

/// Whether `text` has a digit in any script: what a PIN, code or identity number typed in it
/// would need. Words without one hold none, so they may be read for a request.
pub fn has_digit(text: &str) -> bool {
    text.chars().any(char::is_numeric)
}

/// Checks and normalises `typed` as an answer of `kind`. `country_code` turns a local phone
/// number ("0803…") into an international one ("234803…"); an amount is read in `currency`
/// (one written in another is refused).
pub fn parse(kind: &Kind, typed: &str, country_code: &str, currency: &str) -> Result<String, Rejection> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(Rejection::Empty);
    }
    match kind {
        Kind::Text(pattern) => {
            let count = typed.chars().count();
            if count > TEXT_MAX {
                return Err(Rejection::TooLong(TEXT_MAX));
            }
            let whole = |p: &Regex| p.find(typed).is_some_and(|m| m.start() == 0 && m.end() == typed.len());
            if pattern.as_ref().is_some_and(|p| !whole(p)) {
                return Err(Rejection::NoMatch);
            }
            Ok(typed.to_owned())
        }
        Kind::Name => name(typed),
        Kind::Number { min, max } => {
            let digits: String = typed.chars().filter(|c| *c != ',').collect();
            let n: i64 = if digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()) {
                digits.parse().map_err(|_| Rejection::NotNumber)?
            } else {
                return Err(Rejection::NotNumber);
            };
            bounded(n, *min, *max)?;
            Ok(n.to_string())
        }
        Kind::Amount { min, max } => {
            let minor = money::parse_amount_in(typed, currency).map_err(Rejection::Amount)?;
            let scale = money::MINOR_PER_MAJOR;
            if let Some(min) = min
                && minor < min.saturating_mul(scale)
            {
                return Err(Rejection::BelowMin(*min));
            }
            if let Some(max) = max
                && minor > max.saturating_mul(scale)
            {
                return Err(Rejection::AboveMax(*max));
            }
            Ok(minor.to_string())
        }
        Kind::Phone => phone(typed, country_code).ok_or(Rejection::NotPhone),
        Kind::Pin => secret_digits(typed, 4..=6).ok_or(Rejection::NotPin),
        Kind::Otp => secret_digits(typed, 6..=6).ok_or(Rejection::NotOtp),
        Kind::Date => date(typed).ok_or_else(|| match (looks_like_a_date(typed), with_full_year(typed)) {
            (true, _) => Rejection::NoSuchDate,
            (false, Some(suggested)) => Rejection::ShortYear(suggested),
            (false, None) => Rejection::NotDate,
        }),
        Kind::YesNo => yes_no(typed).map(str::to_owned).ok_or(Rejection::NotYesNo),
        Kind::IdNumber(pattern) | Kind::AccountNumber(pattern) => {
            let compact = compact_id_number(typed);
            if compact.chars().count() > 30 {
                return Err(Rejection::TooLong(30));
            }
            let whole = pattern.find(&compact).is_some_and(|m| m.start() == 0 && m.end() == compact.len());
            if whole { Ok(compact) } else { Err(Rejection::NoMatch) }
        }
        Kind::Choice => Err(Rejection::NotAnOption),
    }
}

fn bounded(n: i64, min: Option<i64>, max: Option<i64>) -> Result<(), Rejection> {
    if let Some(min) = min
        && n < min
    {
        return Err(Rejection::BelowMin(min));
    }
    if let Some(max) = max
        && n > max
    {
        return Err(Rejection::AboveMax(max));
    }
    Ok(())
}

fn name(typed: &str) -> Result<String, Rejection> {
    let normal = typed.split_whitespace().collect::<Vec<_>>().join(" ");
    // "My name is Chinedu": the name said in a sentence is the name.
    let words: Vec<&str> = normal.split(' ').collect();
    let folded: Vec<String> = words.iter().map(|w| crate::locale::fold(w)).collect();
    let said = NAME_SAID.iter().find_map(|lead| {
        let lead: Vec<&str> = lead.split(' ').collect();
        let leads = lead.len() < words.len() && folded.iter().zip(&lead).all(|(w, l)| w == l);
        leads.then(|| words[lead.len()..].join(" "))
    });
    let normal = said.unwrap_or(normal);
    if normal.chars().count() > NAME_MAX {
        return Err(Rejection::TooLong(NAME_MAX));
    }
    let letters = normal.chars().filter(|c| c.is_alphabetic()).count();
    let allowed = normal.chars().all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.' | '’'));
    let sentence = normal.split(' ').any(|word| NOT_NAMES.contains(&word.to_lowercase().as_str()));
    if letters < 2 || !allowed || sentence {
        return Err(Rejection::NotName);
    }
    if normal.split(' ').any(|word| TITLES.contains(&word.trim_end_matches('.').to_lowercase().as_str())) {
        return Err(Rejection::Title);
    }
    Ok(form_case(&normal))
}

/// How people lead into their name, folded: "my name is Chinedu", "na Emeka", "orúkọ mi ni
/// Adé", "sunana Musa", "aha m bụ Ngozi".
const NAME_SAID: [&str; 19] = [
    "my name is",
    "my first name is",
    "my surname is",
    "my last name is",
    "my name na",
    "my surname na",
    "they call me",
    "call me",
    "it is",
    "it's",
    "i am",
    "i'm",
    "im",
    "na",
    "oruko mi ni",
    "sunana",
    "suna na",
    "aha m bu",
    "afa m bu",
];

/// Words that are in sentences, never in a name: "what do I need" at a name question is a
/// question, not a customer called What Do I Need.
const NOT_NAMES: [&str; 46] = [
    "what", "how", "why", "where", "when", "who", "which", "is", "are", "do", "does", "did", "can", "could",
    "would", "should", "need", "want", "wan", "i", "me", "my", "you", "your", "please", "pls", "abeg", "the",
    "to", "for", "of", "it", "this", "that", "let", "ok", "okay", "yes", "no", "not", "dey", "wetin", "una",
    "account", "money", "balance",
];

/// Titles people put before a name; a name question wants the name alone.
const TITLES: [&str; 20] = [
    "mr",
    "mrs",
    "miss",
    "ms",
    "mister",
    "dr",
    "doctor",
    "prof",
    "professor",
    "chief",
    "engr",
    "alhaji",
    "alhaja",
    "sir",
    "madam",
    "ma",
    "pastor",
    "rev",
    "barr",
    "hon",
];

/// A name as written on a form: "tunde bakare" and "TUNDE BAKARE" become "Tunde Bakare", each
/// part of "adebayo-smith" and "o'neil" too; a name typed in mixed case ("McDonald") is kept.
pub fn form_case(name: &str) -> String {
    let one_case = !name.chars().any(char::is_lowercase) || !name.chars().any(char::is_uppercase);
    if !one_case {
        return name.to_owned();
    }
    let mut out = String::with_capacity(name.len());
    let mut start = true;
    for c in name.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = matches!(c, ' ' | '-' | '\'' | '’');
    }
    out
}

/// International digits from what people type: `+234 803 123 4567`, `0803-123-4567`,
/// `0803.123.4567`, `+234 (0) 803 123 4567` (the trunk 0 written after the country code is
/// dropped), and `803 123 4567` (a mobile number without its 0).
pub fn phone(typed: &str, country_code: &str) -> Option<String> {
    let typed = typed.trim().replace("(0)", "");
    let plus = typed.starts_with('+');
    if !typed.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '+')) {
        return None;
    }
    let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
    let international = if plus || digits.starts_with(country_code) {
        // "2340803…": the trunk 0 kept after the country code.
        match digits.strip_prefix(country_code).and_then(|rest| rest.strip_prefix('0')) {
            Some(national) if national.len() >= 9 => format!("{country_code}{national}"),
            _ => digits,
        }
    } else if let Some(local) = digits.strip_prefix('0') {
        format!("{country_code}{local}")
    } else if (9..=10).contains(&digits.len()) && digits.starts_with(['7', '8', '9']) {
        // A mobile number without its 0 (mobile ranges start 7, 8 or 9); a 10-digit account
        // number (which may start with anything) is not taken for one.
        format!("{country_code}{digits}")
    } else {
        return None;
    };
    (10..=15).contains(&international.len()).then_some(international)
}

fn digits_only(typed: &str, lengths: std::ops::RangeInclusive<usize>) -> Option<String> {
    (lengths.contains(&typed.len()) && typed.bytes().all(|b| b.is_ascii_digit())).then(|| typed.to_owned())
}

/// Words that may stand around a PIN or code said in a sentence ("my PIN is 4821", "na 4821",
/// "PIN mi ni 4821", "the code is 123456"), in the five languages: they name it and say "is".
const AROUND_A_SECRET: [&str; 32] = [
    "my", "new", "the", "pin", "code", "otp", "is", "it", "it's", "its", "here", "this", "na", "be", "e",
    "dey", "wey", "abeg", "please", "pls", "ok", "okay", "sorry", "oh", "o", "mi", "ni", "dina", "ɗina",
    "shine", "m", "bụ",
];

/// One group of `lengths` digits, alone or with only [`AROUND_A_SECRET`]'s words around it: the
/// whole message says the PIN or code, and nothing else ("send 5000" is not a PIN).
fn secret_digits(typed: &str, lengths: std::ops::RangeInclusive<usize>) -> Option<String> {
    if let Some(digits) = digits_only(typed, lengths.clone()) {
        return Some(digits);
    }
    if typed.chars().count() > 60 {
        return None;
    }
    let mut found = None;
    for word in typed.split(|c: char| c.is_whitespace() || matches!(c, ':' | ',' | '.' | '=' | '!')) {
        if word.is_empty() {
            continue;
        }
        if word.bytes().all(|b| b.is_ascii_digit()) {
            if found.is_some() {
                return None;
            }
            found = Some(digits_only(word, lengths.clone())?);
        } else if !AROUND_A_SECRET.contains(&word.to_lowercase().replace('’', "'").as_str()) {
            return None;
        }
    }
    found
}

/// Day, month and year in figures, each in range on its own ("31/02/1990"): a date that does
/// not exist, rather than something else typed.
fn looks_like_a_date(typed: &str) -> bool {
    let parts: Vec<u32> = typed.split(['/', '-', '.']).filter_map(|p| p.trim().parse().ok()).collect();
    matches!(parts.as_slice(), [d, m, y] if (1..=31).contains(d) && (1..=12).contains(m) && (1900..=2200).contains(y))
}

/// "17/05/90" as "17/05/1990" (and "3-4-05" as "03/04/2005"): day, month and a two-digit
/// year; the years up to 10 taken as this century's, the others as the last's. A suggestion
/// only: nobody is registered on a guessed century.
fn with_full_year(typed: &str) -> Option<String> {
    let parts: Vec<&str> = typed.split(['/', '-', '.']).map(str::trim).collect();
    let [day, month, year] = parts.as_slice() else { return None };
    if year.len() != 2 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (day, month, year): (u32, u32, u32) = (day.parse().ok()?, month.parse().ok()?, year.parse().ok()?);
    let full = if year <= 10 { 2000 + year } else { 1900 + year };
    chrono::NaiveDate::from_ymd_opt(i32::try_from(full).ok()?, month, day)
        .map(|d| d.format("%d/%m/%Y").to_string())
}

fn date(typed: &str) -> Option<String> {
    const FORMATS: [&str; 7] =
        ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d %b %Y", "%d %B %Y", "%b %d %Y"];
    let cleaned = typed.replace(',', " ");
    // "1st of May 1990", "May 17th, 1990": the day's ordinal ending and "of" go.
    let cleaned = cleaned
        .split_whitespace()
        .filter(|word| !word.eq_ignore_ascii_case("of"))
        .map(|word| match word.len().checked_sub(2).and_then(|at| word.split_at_checked(at)) {
            Some((day, end))
                if !day.is_empty()
                    && day.bytes().all(|b| b.is_ascii_digit())
                    && ["st", "nd", "rd", "th"].iter().any(|o| end.eq_ignore_ascii_case(o)) =>
            {
                day
            }
            _ => word,
        })
        .collect::<Vec<_>>()
        .join(" ");
    FORMATS
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(&cleaned, f).ok())
        .filter(|d| (1900..=2200).contains(&chrono::Datelike::year(d)))
        .map(|d| d.format("%Y-%m-%d").to_string())
}

/// `yes` or `no` for the ways customers say them, in every shipped language.
pub fn yes_no(typed: &str) -> Option<&'static str> {
    const YES: [&str; 35] = [
        "yes",
        "y",
        "yeah",
        "yea",
        "yep",
        "yes o",
        "yes please",
        "ok",
        "okay",
        "k",
        "sure",
        "na so",
        "oya",
        "i agree",
        "confirm",
        "correct",
        "go ahead",
        "do it",
        "do am",
        "send",
        "send it",
        "send am",
        "yes send",
        "i gree",
        "oya send am",
        "ok send",
        "ok send it",
        "ok send am",
        "okay send",
        "okay send it",
        "yes send it",
        "yes send am",
        "proceed",
        "👍",
        "👌",
    ];
    const NO: [&str; 20] = [
        "no",
        "n",
        "nope",
        "no o",
        "no thanks",
        "i no want",
        "no be so",
        "not now",
        "cancel",
        "cancel it",
        "cancel am",
        "dont send",
        "don't send",
        "do not send",
        "no send am",
        "no send",
        "no dont",
        "i no gree",
        "decline",
        "👎",
    ];
    // Yes and no in Yoruba, Hausa and Igbo, folded (no accents or underdots).
    const YES_SPOKEN: [&str; 14] = [
        "beeni",
        "bee ni",
        "beeni o",
        "o daa",
        "mo gba",
        "eh",
        "to",
        "haka ne",
        "na amince",
        "ee",
        "ee biko",
        "o di mma",
        "kwado",
        "anabatara m",
    ];
    const NO_SPOKEN: [&str; 11] =
        ["rara", "rara o", "mi o fe", "ko si", "a'a", "aa", "a a", "babu", "mba", "mba biko", "achoghi m"];
    // A comma between the words ("ok, send it") and an emoji's skin tone change nothing.
    let typed: String = typed
        .chars()
        .filter(|c| !('\u{1F3FB}'..='\u{1F3FF}').contains(c))
        .map(|c| if c == ',' { ' ' } else { c })
        .collect();
    let normal = crate::locale::fold(typed.trim().trim_end_matches(['.', '!']));
    let normal = normal.split_whitespace().collect::<Vec<_>>().join(" ");
    if YES.contains(&normal.as_str()) || YES_SPOKEN.contains(&normal.as_str()) {
        Some("yes")
    } else if NO.contains(&normal.as_str()) || NO_SPOKEN.contains(&normal.as_str()) {
        Some("no")
    } else {
        None
    }
}

/// Whether `typed` says no outright ("no", "no thanks", "rárá"): at a question it answers no
/// option of, the customer does not want to go on. A lone "n", a slip as often as a no, is not.
pub fn refusal(typed: &str) -> bool {
    let letters = typed.trim().trim_end_matches(['.', '!']);
    yes_no(typed) == Some("no") && !letters.eq_ignore_ascii_case("n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(kind: &Kind, typed: &str) -> String {
        parse(kind, typed, "234", "NGN").unwrap_or_else(|e| format!("rejected: {e:?}"))
    }

    #[test]
    fn an_account_number_is_read_like_an_identity_number_but_is_not_private() {
        let account = Kind::AccountNumber(Regex::new("^(?:[0-9]{10})$").unwrap());
        assert_eq!(ok(&account, "1001 234-560"), "1001234560");
        assert_eq!(ok(&account, "100123456"), "rejected: NoMatch");
        assert!(!account.is_private() && Kind::IdNumber(Regex::new("x").unwrap()).is_private());
    }

    #[test]
    fn yes_and_no_in_every_language_with_or_without_accents() {
        for yes in ["Bẹ́ẹ̀ni", "beeni", "Eh", "haka ne", "Ee", "ọ dị mma", "Yes o"] {
            assert_eq!(yes_no(yes), Some("yes"), "{yes}");
        }
        for no in ["Rárá", "rara", "A'a", "a’a", "Mba", "mbà", "no o"] {
            assert_eq!(yes_no(no), Some("no"), "{no}");
        }
        assert_eq!(yes_no("maybe"), None);
        for yes in ["ok send", "Ok, send it", "👍", "👍🏽", "👌🏿", "okay send it."] {
            assert_eq!(yes_no(yes), Some("yes"), "{yes}");
        }
        assert_eq!(yes_no("👎🏾"), Some("no"));
        assert_eq!(yes_no("ok send 5000"), None, "a new amount is no yes");
        for no in ["No", "no thanks", "Nope.", "I no want", "Rárá", "mba"] {
            assert!(refusal(no), "{no}");
        }
        for not in ["n", "N ", "N.", "yes", "maybe", "no 2"] {
            assert!(!refusal(not), "{not}");
        }
    }

    #[test]
    fn each_type_normalises_what_it_accepts() {
        assert_eq!(ok(&Kind::Name, "  ada   lovelace "), "Ada Lovelace");
        assert_eq!(ok(&Kind::Name, "TUNDE"), "Tunde");
        assert_eq!(ok(&Kind::Name, "adebayo-smith o'neil"), "Adebayo-Smith O'Neil");
        assert_eq!(ok(&Kind::Name, "McDonald"), "McDonald");
        assert_eq!(ok(&Kind::Number { min: Some(1), max: Some(12) }, "12"), "12");
        assert_eq!(ok(&Kind::Amount { min: Some(100), max: None }, "₦5,000"), "500000");
        assert_eq!(ok(&Kind::Phone, "0803 123 4567"), "2348031234567");
        assert_eq!(ok(&Kind::Phone, "+234 803 123 4567"), "2348031234567");
        assert_eq!(ok(&Kind::Phone, "+234 (0) 803 000 0001"), "2348030000001");
        assert_eq!(ok(&Kind::Phone, "+2340803 000 0001"), "2348030000001");
        assert_eq!(ok(&Kind::Phone, "803 000 0001"), "2348030000001");
        assert_eq!(ok(&Kind::Phone, "0803.000.0001"), "2348030000001");
        assert_eq!(ok(&Kind::Phone, "(0803) 000-0001"), "2348030000001");
        assert_eq!(ok(&Kind::Pin, "4821"), "4821");
        assert_eq!(ok(&Kind::Otp, "123456"), "123456");
        assert_eq!(ok(&Kind::Date, "2/11/1990"), "1990-11-02");
        assert_eq!(ok(&Kind::Date, "2 Nov 1990"), "1990-11-02");
        assert_eq!(ok(&Kind::Date, "1st of May 1995"), "1995-05-01");
        assert_eq!(ok(&Kind::Date, "May 17th, 1990"), "1990-05-17");
        assert_eq!(ok(&Kind::Date, "22ND OF DECEMBER 1988"), "1988-12-22");
        assert_eq!(parse(&Kind::Date, "1st of Smarch 1995", "234", "NGN"), Err(Rejection::NotDate));
        assert_eq!(ok(&Kind::YesNo, "Na so"), "yes");
        let bvn = Kind::IdNumber(Regex::new("[0-9]{11}").unwrap());
        assert_eq!(ok(&bvn, "123 4567 8901"), "12345678901");
        assert_eq!(parse(&bvn, "1234567890123", "234", "NGN"), Err(Rejection::NoMatch));
    }

    #[test]
    fn wrong_answers_say_why() {
        let amount = Kind::Amount { min: Some(100), max: Some(50_000) };
        assert_eq!(parse(&amount, "50", "234", "NGN"), Err(Rejection::BelowMin(100)));
        assert_eq!(parse(&amount, "50,001", "234", "NGN"), Err(Rejection::AboveMax(50_000)));
        assert_eq!(parse(&amount, "nan", "234", "NGN"), Err(Rejection::Amount(AmountError::NotANumber)));
        assert_eq!(parse(&Kind::Name, "R2D2", "234", "NGN"), Err(Rejection::NotName));
        assert_eq!(ok(&Kind::Name, "My name is chinedu eze"), "Chinedu Eze");
        assert_eq!(ok(&Kind::Name, "na Emeka"), "Emeka");
        assert_eq!(ok(&Kind::Name, "I'm Ngozi"), "Ngozi");
        assert_eq!(ok(&Kind::Name, "Goodluck Nnamdi"), "Goodluck Nnamdi");
        assert_eq!(ok(&Kind::Name, "Nafisat"), "Nafisat");
        assert_eq!(ok(&Kind::Name, "Orúkọ mi ni Adé"), "Adé");
        assert_eq!(ok(&Kind::Name, "Sunana Musa"), "Musa");
        assert_eq!(ok(&Kind::Name, "Aha m bụ Ngozi Eze"), "Ngozi Eze");
        assert_eq!(ok(&Kind::Name, "Na"), "Na", "a lead alone is not one");
        for sentence in
            ["what do I need", "ok let me open", "how much", "I want to open account", "KIs it free"]
        {
            assert_eq!(parse(&Kind::Name, sentence, "234", "NGN"), Err(Rejection::NotName), "{sentence}");
        }
        assert_eq!(parse(&Kind::Name, "Mrs.", "234", "NGN"), Err(Rejection::Title));
        assert_eq!(parse(&Kind::Name, "Dr Ada", "234", "NGN"), Err(Rejection::Title));
        assert_eq!(parse(&Kind::Pin, "12a4", "234", "NGN"), Err(Rejection::NotPin));
        for said in [
            "my pin is 4821",
            "My PIN: 4821",
            "na 4821 o",
            "it’s 4821",
            "PIN mi ni 4821",
            "PIN dina 4821",
            "my new pin is 4821",
        ] {
            assert_eq!(ok(&Kind::Pin, said), "4821", "{said}");
        }
        assert_eq!(ok(&Kind::Otp, "the code is 123456."), "123456");
        for not_a_pin in ["send 5000", "4821 4821", "my pin is 48", "pin 1234567", "I forgot 4821", "12 34"] {
            assert_eq!(parse(&Kind::Pin, not_a_pin, "234", "NGN"), Err(Rejection::NotPin), "{not_a_pin}");
        }
        assert_eq!(parse(&Kind::Otp, "code 4821", "234", "NGN"), Err(Rejection::NotOtp));
        assert_eq!(parse(&Kind::Otp, "12345", "234", "NGN"), Err(Rejection::NotOtp));
        assert_eq!(parse(&Kind::Phone, "12345", "234", "NGN"), Err(Rejection::NotPhone));
        // A bank account number is not a phone number without its 0.
        assert_eq!(parse(&Kind::Phone, "2012345678", "234", "NGN"), Err(Rejection::NotPhone));
        assert_eq!(parse(&Kind::Phone, "0803/000/0001", "234", "NGN"), Err(Rejection::NotPhone));
        assert_eq!(parse(&Kind::Date, "31/02/2020", "234", "NGN"), Err(Rejection::NoSuchDate));
        let short = |typed: &str| parse(&Kind::Date, typed, "234", "NGN");
        assert_eq!(short("17/05/90"), Err(Rejection::ShortYear("17/05/1990".into())));
        assert_eq!(short("3-4-05"), Err(Rejection::ShortYear("03/04/2005".into())));
        assert_eq!(short("31/02/90"), Err(Rejection::NotDate), "no such day is suggested");
        assert_eq!(short("17/05/190"), Err(Rejection::NotDate));
        assert_eq!(parse(&Kind::Date, "next week", "234", "NGN"), Err(Rejection::NotDate));
        assert_eq!(parse(&Kind::YesNo, "maybe", "234", "NGN"), Err(Rejection::NotYesNo));
        assert_eq!(parse(&Kind::Text(None), "   ", "234", "NGN"), Err(Rejection::Empty));
        assert_eq!(
            parse(&Kind::Number { min: None, max: None }, "-1", "234", "NGN"),
            Err(Rejection::NotNumber)
        );
        let long = "x".repeat(TEXT_MAX + 1);
        assert_eq!(parse(&Kind::Text(None), &long, "234", "NGN"), Err(Rejection::TooLong(TEXT_MAX)));
    }

    #[test]
    fn a_text_question_with_a_pattern_takes_only_what_matches_it_whole() {
        // As the compiler builds it: anchored, so `a|ab` takes "ab" whole.
        let plan = Kind::Text(Some(Regex::new("^(?:(?i)([0-9]{1,2}|.*[0-9] ?gb.*))$").unwrap()));
        for answer in ["2", "1GB", "5gb", "1 gb 7 days"] {
            assert_eq!(parse(&plan, answer, "234", "NGN").as_deref(), Ok(answer), "{answer}");
        }
        for answer in ["what's my balance?", "the cheap one", "123"] {
            assert_eq!(parse(&plan, answer, "234", "NGN"), Err(Rejection::NoMatch), "{answer}");
        }
        assert_eq!(
            parse(&Kind::Text(None), "anything at all", "234", "NGN").as_deref(),
            Ok("anything at all")
        );
    }
}
