//! The rule-based reader: patterns for every intent in every shipped language (English and
//! Nigerian Pidgin; customers mix them, so both are always read), and the entity parsers the
//! flows themselves use (amounts through [`crate::money::parse_amount`], phone numbers through
//! [`crate::flows::input::phone`]), so what the rules extract is exactly what a flow would accept
//! typed.
//!
//! Each pattern has a weight: 5 and 4 for phrases that can mean only one thing ("pay back",
//! "wrong number"), 3 for a request's own word ("balance", "statement"), 2 for a verb that usually
//! carries it ("send", "pay"), 1 for a hint (a greeting before a request). An intent scores its
//! best pattern, transfers gain a point for each of an amount and a recipient, and the rules are
//! confident when the best intent scores at least 2 and more than any other.

use std::sync::LazyLock;

use regex::Regex;

use super::patterns::{PATTERNS, SPELLINGS};
use super::{Intent, Source, Understanding};
use crate::flows::input;
use crate::money;

/// Longest text read (WhatsApp allows 4096): what is beyond is not a request to a bank.
const MAX_CHARS: usize = 1_000;

/// The least weight of a request's own words ("balance"): below it, a verb that usually carries
/// one ("send") or a hint, which may as well be part of an answer (see `patterns`).
const STRONG: u8 = 3;

/// Every pattern, English and Pidgin then Yoruba, Hausa and Igbo, joined into one regex for
/// each intent and weight: the same matches as one regex a pattern, in half the scans and
/// memory (measured in BENCHMARKS.md). A test checks that each group compiles.
static COMPILED: LazyLock<Vec<(Intent, u8, Regex)>> = LazyLock::new(|| {
    let mut groups: std::collections::BTreeMap<(Intent, u8), Vec<&str>> = std::collections::BTreeMap::new();
    for (intent, weight, pattern) in PATTERNS.iter().chain(super::spoken::PATTERNS) {
        groups.entry((*intent, *weight)).or_default().push(pattern);
    }
    groups
        .into_iter()
        .filter_map(|((intent, weight), patterns)| {
            let joined = patterns.iter().map(|p| format!("(?:{p})")).collect::<Vec<_>>().join("|");
            Regex::new(&joined).ok().map(|r| (intent, weight, r))
        })
        .collect()
});

/// Airtime or data for the customer's own line: "for me", "for my line", "recharge my phone",
/// Yoruba "fún mi", Hausa "min", Igbo "maka m" (read only for those requests, with no number).
static OWN_LINE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"\b(for|on|to|into|give) (me|myself|my (own )?(line|number|phone|sim))\b|\b(buy|get|load|recharge) me\b|\bmy (own )?(line|number|phone|sim)\b|\b(fun mi|min|mini|mani|maka m|nye m)\b",
    )
    .ok()
});

/// Words that follow "to"/"give"/"pay" without naming a person.
const NOT_NAMES: &[&str] = &[
    "me", "am", "him", "her", "them", "it", "us", "you", "una", "money", "some", "the", "a", "an", "back",
    "off", "loan", "account", "bank", "wrong", "number", "person", "someone", "send", "pay", "transfer",
    "do", "see", "know", "check", "make", "get", "please", "abeg", "now", "o", "for", "this", "that", "ngn",
    "naira",
];

/// Who a transfer names: after "to", "give", "go" or "for" following a transfer verb; after
/// "pay" or "dash"; or between "send" and an amount ("send mama 2k"). `#` stands for a number.
static RECIPIENT: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"\b(send|transfer|transfa|tranfer|trasfer|pay|wire|move|dash)\b.*?\b(to|give|go|for) (my |a |the )?(?P<name>[a-z][a-z'-]*)",
        r"\b(pay|dash) (my )?(?P<name>[a-z][a-z'-]*)",
        r"\bsend (?P<name>[a-z][a-z'-]*) #",
    ]
    .iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});

/// Reads `text` (a customer's message) with the rules; `country_code` turns local phone numbers
/// international.
pub fn understand(text: &str, country_code: &str) -> Understanding {
    let mut tokens = tokens(text);
    // A bank named: its 10-digit number is an account number, not a phone number.
    let named_bank = find_bank(&mut tokens);
    // "send money go bank": another bank, none named. Only words of a transfer make it one.
    let to_a_bank = named_bank.is_none() && find_words(&mut tokens, TO_A_BANK);
    let bank = named_bank.clone().or(to_a_bank.then_some(None));
    let account = bank.as_ref().and_then(|_| find_account(&mut tokens));
    let phone = find_phone(&mut tokens, country_code);
    // A second number is taken too, so it is read as no amount.
    let second = phone.is_some() && find_phone(&mut tokens, country_code).is_some();
    let Amounts { amount, named: amount_named, several } = find_amount(&mut tokens);
    let words = normalise(&tokens);

    let mut scores = [0u8; Intent::ALL.len()];
    for (intent, weight, pattern) in COMPILED.iter() {
        let slot = &mut scores[*intent as usize];
        if *slot < *weight && pattern.is_match(&words) {
            *slot = *weight;
        }
    }
    let recipient = recipient(&words);
    let transfer = &mut scores[Intent::Transfer as usize];
    // A bank alone ("Zenith", "another bank") is where money goes.
    if named_bank.is_some() {
        *transfer = (*transfer).max(2);
    }
    let named = phone.is_some() || recipient.is_some() || account.is_some();
    if *transfer > 0 || (amount_named && phone.is_some()) {
        *transfer += u8::from(amount_named) + u8::from(named);
    }

    let mut ranked: Vec<(u8, Intent)> =
        Intent::ALL.iter().map(|i| (scores[*i as usize], *i)).filter(|(s, _)| *s > 0).collect();
    ranked.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
    let intent = ranked.first().map(|(_, i)| *i);
    let confident = match ranked.as_slice() {
        [(top, _)] => *top >= 2,
        [(top, _), (second, _), ..] => *top >= 2 && top > second,
        [] => false,
    };
    let understood = Understanding::of(intent, confident, amount, phone, recipient, Source::Rules)
        .with_plan(data_size(&tokens))
        .for_own_line(|| OWN_LINE.as_ref().is_some_and(|own| own.is_match(&words)))
        .with_second_number(|| second)
        .with_second_amount(|| several);
    let understood = match bank {
        Some(bank) => understood.to_bank(bank, account),
        None => understood,
    };
    // One bare word of a request ("send", "how much"), as the lightest patterns weigh.
    understood.weak_when(ranked.first().is_some_and(|(top, _)| *top < STRONG))
}

/// The words of `text` (its first [`MAX_CHARS`] characters), none taken yet.
fn tokens(text: &str) -> Vec<Token> {
    let text: String = text.chars().take(MAX_CHARS).collect();
    text.split_whitespace().map(Token::new).collect()
}

/// Whether `text` names two phone numbers: what a reading by the model, which keeps one, is
/// told too.
pub fn names_two_numbers(text: &str, country_code: &str) -> bool {
    let mut tokens = tokens(text);
    find_phone(&mut tokens, country_code).is_some() && find_phone(&mut tokens, country_code).is_some()
}

/// Whether `text` names two amounts ("5k and 2k to 0803…"): what a reading by the model, which
/// keeps one, is told too.
pub fn names_two_amounts(text: &str, country_code: &str) -> bool {
    let mut tokens = tokens(text);
    if find_bank(&mut tokens).is_some() {
        find_account(&mut tokens);
    }
    while find_phone(&mut tokens, country_code).is_some() {}
    find_amount(&mut tokens).several
}

/// Whether `text` asks for the customer's own line ("for my line", "fún mi"): what a reading
/// by the model, which names no line, is given too.
pub fn names_own_line(text: &str) -> bool {
    let tokens = tokens(text);
    OWN_LINE.as_ref().is_some_and(|own| own.is_match(&normalise(&tokens)))
}

/// The names people give banks, lowercase, with the option id of each in the bank rules; `""`
/// for "another bank" without saying which. Words that are also everyday English ("access",
/// "first") count only followed by "bank" or with an account number in the message.
const BANKS: &[(&str, &str)] = &[
    ("another bank", ""),
    ("other bank", ""),
    ("different bank", ""),
    ("guaranty trust bank", "gtbank"),
    ("guaranty trust", "gtbank"),
    ("gt bank", "gtbank"),
    ("gtbank", "gtbank"),
    ("gtb", "gtbank"),
    ("gtco", "gtbank"),
    ("zenith bank", "zenith"),
    ("zenith", "zenith"),
    ("access bank", "access"),
    ("first bank", "first_bank"),
    ("firstbank", "first_bank"),
    ("fbn", "first_bank"),
    ("united bank for africa", "uba"),
    ("uba", "uba"),
    ("opay", "opay"),
    ("o pay", "opay"),
    ("moniepoint", "moniepoint"),
    ("monie point", "moniepoint"),
    ("kuda bank", "kuda"),
    ("kuda", "kuda"),
    ("palmpay", "palmpay"),
    ("palm pay", "palmpay"),
];

/// Another bank as where money goes, with no bank named ("send money go bank", "tura kuɗi zuwa
/// banki"): only with the words of a transfer, since "I wan go bank" alone is a walk.
const TO_A_BANK: &[&str] = &[
    "go bank",
    "to bank",
    "to a bank",
    "into bank",
    "to my bank account",
    "to my bank",
    "enter bank",
    "zuwa banki",
    "zuwa wani banki",
];

/// Whether the words of one of `phrases` follow each other in the message; they are taken.
fn find_words(tokens: &mut [Token], phrases: &[&str]) -> bool {
    let words: Vec<String> = tokens.iter().map(|t| t.clean.to_lowercase()).collect();
    for start in 0..tokens.len() {
        for phrase in phrases {
            if let Some(end) = phrase_at(&words, start, phrase) {
                tokens[start..end].iter_mut().for_each(|t| t.taken = true);
                return true;
            }
        }
    }
    false
}

/// Where the words of `phrase` (one space between each) end in `words`, if they begin at
/// `start`.
fn phrase_at(words: &[String], start: usize, phrase: &str) -> Option<usize> {
    let mut end = start;
    for part in phrase.split(' ') {
        if words.get(end)? != part {
            return None;
        }
        end += 1;
    }
    Some(end)
}

/// Bank names that are everyday English too: banks only with an account number in the message.
const AMBIGUOUS_BANKS: [(&str, &str); 2] = [("access", "access"), ("first", "first_bank")];

/// The bank a message names, if any (`Some(None)`: "another bank"); its words are taken.
fn find_bank(tokens: &mut [Token]) -> Option<Option<String>> {
    let words: Vec<String> = tokens.iter().map(|t| t.clean.to_lowercase()).collect();
    let has_account = tokens.iter().any(Token::account_like);
    for start in 0..tokens.len() {
        for (name, id) in BANKS {
            let Some(end) = phrase_at(&words, start, name) else { continue };
            tokens[start..end].iter_mut().for_each(|t| t.taken = true);
            return Some((!id.is_empty()).then(|| (*id).to_owned()));
        }
        if let Some((_, id)) = AMBIGUOUS_BANKS.iter().find(|(name, _)| *name == words[start])
            && has_account
        {
            tokens[start].taken = true;
            return Some(Some((*id).to_owned()));
        }
    }
    None
}

/// A 10-digit account number in the message; its token is taken.
fn find_account(tokens: &mut [Token]) -> Option<String> {
    let token = tokens.iter_mut().find(|t| !t.taken && t.account_like())?;
    token.taken = true;
    Some(token.clean.clone())
}

/// A word as typed, its cleaned form, and whether an entity took it.
struct Token {
    clean: String,
    taken: bool,
}

impl Token {
    fn new(raw: &str) -> Token {
        let clean =
            raw.trim_matches(|c: char| matches!(c, ',' | '.' | '?' | '!' | ':' | ';' | '"' | '(' | ')'));
        Token { clean: clean.to_owned(), taken: false }
    }

    fn numeric(&self) -> bool {
        self.clean.bytes().any(|b| b.is_ascii_digit())
    }

    /// Ten digits: a bank account number (NUBAN) when a bank is named.
    fn account_like(&self) -> bool {
        self.clean.len() == 10 && self.clean.bytes().all(|b| b.is_ascii_digit())
    }

    fn phone_like(&self) -> bool {
        self.numeric() && self.clean.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '(' | ')'))
    }
}

/// The longest run of up to four number tokens that is a phone number; its tokens are taken.
fn find_phone(tokens: &mut [Token], country_code: &str) -> Option<String> {
    for start in 0..tokens.len() {
        let mut best = None;
        let mut joined = String::new();
        for (end, token) in tokens.iter().enumerate().skip(start).take(4) {
            if token.taken || !token.phone_like() {
                break;
            }
            if end > start {
                joined.push(' ');
            }
            joined.push_str(&token.clean);
            if let Some(phone) = input::phone(&joined, country_code) {
                best = Some((end, phone));
            }
        }
        if let Some((end, phone)) = best {
            tokens[start..=end].iter_mut().for_each(|t| t.taken = true);
            return Some(phone);
        }
    }
    None
}

/// The amount named: the first number that parses as one, with a currency before it or a
/// multiplier after it ("5 k", "2 thousand", "1 million") preferred to a bare number. The second
/// value says whether an amount was named at all, even an invalid one (`-5`, `1e9`): then nothing
/// is filled and the flow asks, rather than another number in the message being taken for it.
/// A data size named ("1GB", "1.5 gb", "500MB"), written as plans are: "1GB".
fn data_size(tokens: &[Token]) -> Option<String> {
    tokens.iter().enumerate().find_map(|(i, token)| {
        let lower = token.clean.to_lowercase();
        let next = tokens.get(i + 1).map(|t| t.clean.to_lowercase()).unwrap_or_default();
        let (number, unit) = match ["gb", "mb"].iter().find(|u| lower.ends_with(**u)) {
            Some(unit) => (lower.trim_end_matches(unit).to_owned(), *unit),
            None if next == "gb" || next == "mb" => (lower.clone(), if next == "gb" { "gb" } else { "mb" }),
            None => return None,
        };
        let numeric = !number.is_empty() && number.chars().all(|c| c.is_ascii_digit() || c == '.');
        numeric.then(|| format!("{number}{}", unit.to_uppercase()))
    })
}

/// What [`find_amount`] read.
struct Amounts {
    /// The amount, in kobo.
    amount: Option<i64>,
    /// Whether an amount was named at all, even an invalid one.
    named: bool,
    /// Whether another amount was named too, with a currency or a multiplier, or of ₦100 or
    /// more ("5k and 2k", "5000 … and another 2000"; not the "2" of "2 bags").
    several: bool,
}

fn find_amount(tokens: &mut [Token]) -> Amounts {
    if let Some(said) = find_amount_in_words(tokens) {
        return Amounts { amount: said.ok(), named: true, several: false };
    }
    let mut found: Option<(i64, bool)> = None;
    let mut named = false;
    let mut amounts = 0;
    for i in 0..tokens.len() {
        if tokens[i].taken || !tokens[i].numeric() {
            continue;
        }
        let next = tokens.get(i + 1).map(|t| t.clean.to_lowercase());
        // A data size ("2GB", "500 MB") is not money.
        let this = tokens[i].clean.to_lowercase();
        let unit = |t: &str| ["gb", "mb", "gig", "gigs"].iter().any(|u| t.ends_with(u));
        if unit(&this) || next.as_deref().is_some_and(|n| ["gb", "mb", "gig", "gigs"].contains(&n)) {
            continue;
        }
        named = true;
        let previous = i.checked_sub(1).map(|p| tokens[p].clean.to_lowercase());
        let multiplier = match next.as_deref() {
            Some("k" | "thousand") => 1_000,
            Some("m" | "million") => 1_000_000,
            _ => 1,
        };
        let currency = previous.as_deref().is_some_and(|p| matches!(p, "₦" | "ngn" | "n" | "naira"))
            || next.as_deref().is_some_and(|n| n == "naira")
            || tokens[i].clean.starts_with(['₦', 'N', 'n', '$', '#'])
            || tokens[i].clean.to_lowercase().ends_with("naira")
            || tokens[i].clean.ends_with(['k', 'K', 'm', 'M'])
            || multiplier > 1;
        tokens[i].taken = true;
        let invalid = Amounts { amount: None, named: true, several: false };
        let Ok(minor) = money::parse_amount(&tokens[i].clean) else {
            // An amount named but not valid: nothing is filled.
            return invalid;
        };
        let Some(minor) = minor.checked_mul(multiplier).filter(|m| *m <= money::MAX_AMOUNT_MINOR) else {
            return invalid;
        };
        if currency || minor >= 100 * money::MINOR_PER_MAJOR {
            amounts += 1;
        }
        match found {
            Some((_, true)) => {}
            Some((_, false)) if !currency => {}
            _ => found = Some((minor, currency)),
        }
    }
    Amounts { amount: found.map(|(minor, _)| minor), named, several: amounts > 1 }
}

/// An amount written in words ("ten thousand naira", "a million"): a run of number words with a
/// scale in it ("hundred", "thousand", "million") or the currency after it, so the "one" of "one
/// transfer" is not taken for ₦1. Its tokens are taken.
fn find_amount_in_words(tokens: &mut [Token]) -> Option<Result<i64, money::AmountError>> {
    let lower: Vec<String> = tokens.iter().map(|t| t.clean.to_lowercase()).collect();
    let word = |i: usize| lower.get(i).map(String::as_str).unwrap_or("");
    for start in 0..tokens.len() {
        let opens = money::is_number_word(word(start))
            || (word(start) == "a" && money::is_scale_word(word(start + 1)))
            || money::is_counting_scale(word(start))
            || (money::is_counting_word(word(start)) && money::is_counting_scale(word(start + 1)));
        if tokens[start].taken || !opens {
            continue;
        }
        let mut end = start + 1;
        while end < tokens.len()
            && !tokens[end].taken
            && (money::is_number_word(word(end))
                || money::is_counting_word(word(end))
                || (money::is_counting_join(word(end)) && money::is_counting_word(word(end + 1)))
                || (money::is_counting_scale(word(end - 1)) && tokens[end].numeric())
                || (word(end) == "and" && money::is_number_word(word(end + 1))))
        {
            end += 1;
        }
        let scaled = (start..end).any(|i| money::is_scale_word(word(i)) || money::is_counting_scale(word(i)));
        let currency = matches!(word(end), "naira" | "ngn");
        if !scaled && !currency {
            continue;
        }
        let end = if currency { end + 1 } else { end };
        // A figure before the words belongs to them: "2 thousand", "1.5 million".
        let start = match start.checked_sub(1) {
            Some(before) if !tokens[before].taken && tokens[before].numeric() => before,
            _ => start,
        };
        let said = lower[start..end].join(" ");
        tokens[start..end].iter_mut().for_each(|t| t.taken = true);
        return Some(money::parse_amount(&said));
    }
    None
}

/// Lowercase words without punctuation or apostrophes, a held-down letter typed once and short
/// forms spelled out ([`SPELLINGS`]); numbers become `#`.
fn normalise(tokens: &[Token]) -> String {
    let mut words = Vec::with_capacity(tokens.len());
    for token in tokens {
        if token.clean.to_lowercase().starts_with("tck-") {
            words.push("ticketref".to_owned());
            continue;
        }
        let lower = token.clean.to_lowercase();
        if token.numeric() && ["gb", "mb"].iter().any(|u| lower.ends_with(u)) {
            // A data size: the unit is what it says.
            words.push("datasize".to_owned());
            continue;
        }
        if token.taken || token.numeric() {
            words.push("#".to_owned());
            continue;
        }
        let lower = crate::locale::fold(&token.clean).replace(['\'', '’'], "");
        for word in lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            let word = squash_repeats(word);
            match SPELLINGS.iter().find(|(short, _)| *short == word) {
                Some((_, full)) => words.push((*full).to_owned()),
                None => words.push(word),
            }
        }
    }
    words.join(" ")
}

/// A letter typed three or more times in a row, typed once: "hiii" → "hi", "pleaseee" → "please".
fn squash_repeats(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    for (i, c) in chars.iter().enumerate() {
        let run_start = i >= 2 && chars[i - 1] == *c && chars[i - 2] == *c;
        let in_run = i >= 1 && chars[i - 1] == *c && chars.get(i + 1) == Some(c);
        if !run_start && !in_run {
            out.push(*c);
        }
    }
    out
}

fn recipient(words: &str) -> Option<String> {
    RECIPIENT.iter().find_map(|pattern| {
        pattern
            .captures_iter(words)
            .filter_map(|c| c.name("name"))
            .map(|m| m.as_str())
            .find(|name| !NOT_NAMES.contains(name) && !super::Intent::ALL.iter().any(|i| i.as_str() == *name))
            .map(str::to_owned)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_in_its_group() {
        let all = PATTERNS.iter().chain(super::super::spoken::PATTERNS);
        let groups: std::collections::BTreeSet<(Intent, u8)> =
            all.clone().map(|(i, w, _)| (*i, *w)).collect();
        assert_eq!(COMPILED.len(), groups.len(), "a group did not compile");
        for (_, _, pattern) in all {
            assert!(Regex::new(pattern).is_ok(), "{pattern}");
        }
    }

    fn read(text: &str) -> Understanding {
        understand(text, "234")
    }

    #[test]
    fn a_second_number_is_noted_and_read_as_no_amount() {
        let two = read("send 5k to 08031234567 and 2k to 08051112222");
        assert_eq!(two.decided(), Some(Intent::Transfer));
        assert_eq!(
            (two.amount, two.phone.as_deref(), two.more),
            (Some(500_000), Some("2348031234567"), true)
        );
        assert!(names_two_numbers("send 5k to 08031234567 and 2k to 08051112222", "234"));
        let one = read("send 5k to 08031234567");
        assert!(!one.more && !names_two_numbers("send 5k to 08031234567", "234"));
        assert!(!read("balance").more, "no number, nothing more");
    }

    #[test]
    fn a_second_amount_for_money_or_airtime_is_noted_and_the_first_taken() {
        for text in ["send 5k and 2k to 08031234567", "send 5000 to 08031234567 and another 2000"] {
            let two = read(text);
            assert_eq!(
                (two.decided(), two.amount, two.more),
                (Some(Intent::Transfer), Some(500_000), true),
                "{text}"
            );
            assert!(names_two_amounts(text, "234"), "{text}");
        }
        let airtime = read("recharge 500 and 1000 for 08031234567");
        assert_eq!((airtime.decided(), airtime.more), (Some(Intent::Airtime), true));
        for text in [
            "send 3000 to 08031234567 for 2 bags of rice",
            "send 5k to 08031234567",
            "I want a loan of 20k, I can pay back 2k a week",
            "send 2k to zenith 0123456789",
        ] {
            assert!(!read(text).more, "{text}");
        }
        assert!(
            !names_two_amounts("send 5k to 08031234567 and 08051112222", "234"),
            "numbers are not amounts"
        );
    }

    #[test]
    fn airtime_and_data_carry_the_line_the_amount_and_the_plan() {
        let airtime = read("abeg load 1k MTN for 0803 123 4567");
        assert_eq!(airtime.decided(), Some(Intent::Airtime));
        assert_eq!((airtime.amount, airtime.phone.as_deref()), (Some(100_000), Some("2348031234567")));
        let fills = airtime.fills();
        assert_eq!(fills.get(entity_destination()).map(String::as_str), Some("customer"));
        let data = read("buy 1.5GB for 08031234567");
        assert_eq!(data.decided(), Some(Intent::Data));
        assert_eq!((data.amount, data.plan.as_deref()), (None, Some("1.5GB")), "a size is not money");
        assert_eq!(read("I want 500 mb data").plan.as_deref(), Some("500MB"));
        assert_eq!(read("buy data").plan, None);
        assert_eq!(read("send 2gb to mum").decided(), Some(Intent::Data), "a size sent is data");
        assert_eq!(read("send 5k to mum").plan, None);
    }

    #[test]
    fn a_new_account_is_asked_for_in_every_language_and_ones_own_account_is_not_one() {
        let asks = [
            "I want to open an account",
            "How do I open an acct?",
            "abeg I wan open account",
            "register me",
            "mo fẹ́ ṣí àkáǹtì",
            "ina son buɗe asusu",
            "achọrọ m imepe akaụntụ",
        ];
        for text in asks {
            assert_eq!(read(text).decided(), Some(Intent::OpenAccount), "{text}");
        }
        assert_ne!(read("open my account").intent, Some(Intent::OpenAccount));
        // "sí" (into) folds like "ṣí" (open): money going into an account is not a new one.
        assert_eq!(read("mo fẹ́ fi owó sí àkáǹtì mi").decided(), Some(Intent::Fund));
        assert_eq!(read("block my account").decided(), Some(Intent::Block));
        assert_eq!(read("check my account").decided(), Some(Intent::Balance));
        assert_eq!(read("what is my account number").decided(), Some(Intent::Balance));
        assert_eq!(read("my line is registered").intent, None, "registered is not a request");
    }

    #[test]
    fn airtime_or_data_for_me_is_for_the_customers_own_line() {
        assert!(OWN_LINE.is_some(), "the pattern compiles");
        let own = |text: &str| read(text).fills().get(entity_destination()).cloned();
        for text in [
            "buy 500 naira airtime for my line",
            "recharge my phone 1k",
            "abeg load card 200 for me",
            "buy me 1GB data",
            "ra airtime 500 fún mi",
            "achọrọ m ịzụ data 1GB maka m",
        ] {
            assert_eq!(own(text).as_deref(), Some("self"), "{text}");
        }
        assert_eq!(own("load 1k for 08031234567").as_deref(), Some("customer"), "a number named");
        assert_eq!(own("buy airtime for my mum"), None, "someone else, number not yet named");
        assert_eq!(own("send 5k to me").as_deref(), None, "a transfer has no own line");
        assert!(!read("buy airtime").own_line);
    }

    fn entity_destination() -> &'static str {
        crate::flows::understanding::entity::DESTINATION
    }

    #[test]
    fn amounts_are_read_as_customers_write_them() {
        for (text, minor) in [
            ("send 5k to 08031234567", 500_000),
            ("send ₦5,000 to mum", 500_000),
            ("send N5000 to mum", 500_000),
            ("send NGN 250 to mum", 25_000),
            ("send 5000 naira to mum", 500_000),
            ("send 2 thousand to mum", 200_000),
            ("send 1.5k to mum", 150_000),
            ("send 1m to mum", 100_000_000),
            ("send 7,500.50 to mum", 750_050),
            ("send ten thousand naira to 08031234567", 1_000_000),
            ("abeg send two thousand five hundred to mama", 250_000),
            ("send a million to dad", 100_000_000),
            ("send #2000 to mum", 200_000),
            ("send 2500naira to mum", 250_000),
            ("transfer five naira to 08031234567", 500),
        ] {
            assert_eq!(read(text).amount, Some(minor), "{text}");
        }
    }

    #[test]
    fn a_bank_and_an_account_number_take_the_bank_path() {
        let read = read("send 3k to zenith 0001234567");
        assert_eq!(read.decided(), Some(Intent::Transfer));
        assert_eq!(
            (read.to_bank, read.bank.as_deref(), read.account.as_deref()),
            (true, Some("zenith"), Some("0001234567"))
        );
        assert_eq!((read.phone, read.amount), (None, Some(300_000)));
        let read = super::understand("abeg send 5k give gtb 0123456789", "234");
        assert_eq!(read.bank.as_deref(), Some("gtbank"));
        let read = super::understand("Another bank", "234");
        assert_eq!((read.decided(), read.to_bank, read.bank), (Some(Intent::Transfer), true, None));
        let read = super::understand("first bank", "234");
        assert_eq!(read.bank.as_deref(), Some("first_bank"));
        // "access" is a bank only as one.
        assert!(!super::understand("I cannot access my account", "234").to_bank);
        assert_eq!(super::understand("send 2k to access 0123456789", "234").bank.as_deref(), Some("access"));
        // A phone number stays a phone number.
        let read = super::understand("send 2k to 08031234567", "234");
        assert_eq!((read.to_bank, read.phone.as_deref()), (false, Some("2348031234567")));
    }

    #[test]
    fn money_sent_to_a_bank_none_named_takes_the_bank_path_and_a_walk_to_the_bank_is_no_transfer() {
        for text in
            ["abeg send money go bank", "I wan transfer 5k to my bank account", "tura kuɗi zuwa banki"]
        {
            let read = read(text);
            assert_eq!(
                (read.decided(), read.to_bank, read.bank.as_deref()),
                (Some(Intent::Transfer), true, None),
                "{text}"
            );
        }
        for text in ["I wan go bank tomorrow", "I went to the bank"] {
            let read = read(text);
            assert!(read.decided() != Some(Intent::Transfer) && !read.to_bank, "{text}");
        }
    }

    #[test]
    fn invalid_amounts_fill_nothing() {
        for text in
            ["send nan to mum", "send -5 to mum", "send 1e9 to mum", "send 5,00.0 to mum", "send 0 to mum"]
        {
            let understood = read(text);
            assert_eq!(understood.intent, Some(Intent::Transfer), "{text}");
            assert_eq!(understood.amount, None, "{text}");
        }
        // An invalid amount is not replaced by another number in the message.
        assert_eq!(read("send -5 to mum, not 500").amount, None);
    }

    #[test]
    fn phone_numbers_in_local_and_international_forms() {
        for text in [
            "send 5k to 08031234567",
            "send 5k to 0803 123 4567",
            "send 5k to 0803-123-4567",
            "send 5k to +234 803 123 4567",
            "send 5k to 2348031234567",
            "08031234567 5k",
        ] {
            let understood = read(text);
            assert_eq!(understood.phone.as_deref(), Some("2348031234567"), "{text}");
            assert_eq!(understood.amount, Some(500_000), "{text}");
            assert!(understood.confident, "{text}");
        }
    }

    #[test]
    fn intents_in_english_and_pidgin() {
        for (text, intent) in [
            ("what's my balance?", Intent::Balance),
            ("wetin be my balance", Intent::Balance),
            ("how much dey my account", Intent::Balance),
            ("send money", Intent::Transfer),
            ("abeg send 2k give 08031234567", Intent::Transfer),
            ("send me my statement", Intent::Statement),
            ("wetin I don spend", Intent::Statement),
            ("I need a loan", Intent::Loan),
            ("abeg borrow me 10k", Intent::Loan),
            ("pay back my loan", Intent::Repay),
            ("how much I still owe", Intent::Repay),
            ("talk to a human", Intent::Person),
            ("abeg block my account", Intent::Block),
            ("dem never credit me", Intent::Complaint),
            ("my complaint", Intent::ComplaintStatus),
            ("I send money to wrong number o", Intent::Complaint),
            ("good morning", Intent::Greeting),
            ("how far", Intent::Greeting),
            ("never mind", Intent::Cancel),
            ("abeg stop", Intent::Cancel),
        ] {
            let understood = read(text);
            assert_eq!(understood.decided(), Some(intent), "{text}: {understood:?}");
        }
    }

    #[test]
    fn short_forms_misspellings_and_held_letters_are_read_as_meant() {
        for (text, intent) in [
            ("wat is my acct bal", Intent::Balance),
            ("chk blance plz", Intent::Balance),
            ("trf 2k to 08031234567", Intent::Transfer),
            ("Hiiii", Intent::Greeting),
            ("hellooo good morning", Intent::Greeting),
            ("I forgot my pin", Intent::ForgotPin),
            ("who sent me money", Intent::Statement),
            ("I wan pay back wetin I borrow", Intent::Repay),
            ("borrow me 5k make I pay back next week", Intent::Loan),
        ] {
            let understood = read(text);
            assert_eq!(understood.decided(), Some(intent), "{text}: {understood:?}");
        }
        assert_eq!(squash_repeats("pleaseee"), "please");
        assert_eq!(squash_repeats("good"), "good");
        assert_eq!(squash_repeats("ééé"), "é");
    }

    #[test]
    fn recipients_are_named_people_not_words() {
        assert_eq!(read("send 2k to Tunde").recipient.as_deref(), Some("tunde"));
        assert_eq!(read("send money give my brother").recipient.as_deref(), Some("brother"));
        assert_eq!(read("Pay Chidi 4000").recipient.as_deref(), Some("chidi"));
        assert_eq!(read("send 2k to 08031234567").recipient, None);
        assert_eq!(read("I want to send money").recipient, None);
    }

    #[test]
    fn entities_of_other_requests_are_not_kept() {
        let understood = read("can I see my last 5 transactions");
        assert_eq!(understood.decided(), Some(Intent::Statement));
        assert_eq!(understood.amount, None);
    }

    #[test]
    fn unsure_or_nothing() {
        for text in ["thank you", "ok", "lol", "👍", "", "   ", "who are you"] {
            assert_eq!(read(text).decided(), None, "{text}");
        }
        let long = "send ".repeat(10_000);
        assert_eq!(read(&long).intent, Some(Intent::Transfer));
    }

    #[test]
    fn a_bare_word_that_may_carry_a_request_is_weak_and_one_naming_a_value_or_its_own_words_is_not() {
        for text in ["the transfer", "na about money wey I send", "how much is the minimum?", "send"] {
            let read = read(text);
            assert!(read.decided().is_some() && read.weak, "{text}: {read:?}");
        }
        for text in ["send money", "send 5k", "send to mum", "Zenith", "balance", "I don't know my BVN"] {
            let read = read(text);
            assert!(read.decided().is_some() && !read.weak, "{text}: {read:?}");
        }
    }
}
