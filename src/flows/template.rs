//! Customer-facing text with variables: `"Send {{amount | money}} to {{recipient | phone}}?"`.
//!
//! A template is parsed once, when flows are compiled; a typo in a variable or a filter is a
//! compile error with its position, never a surprise in front of a customer. Rendering is pure
//! and total: whatever a variable holds, it yields text.

use std::collections::BTreeMap;
use std::fmt;

use crate::money;

/// How a variable is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Minor units as money: "₦5,000.00".
    Money,
    /// A phone number masked: "2348****21".
    Phone,
    /// An ISO date as "22 Nov 2026".
    Date,
    /// A full name as first name and initial: "Ada L.".
    Initial,
    /// An account number masked to its last four digits: "****4821".
    Account,
    /// A phone number in full, written the local way: "0803 123 9999" (to show a customer the
    /// number they typed, so they can see a typo; never for someone else's number).
    Local,
    /// A text the bank wrote with dates in it (a lock's end, a loan's schedule), its dates
    /// written in the customer's language: "14:30, Asabar 5 Disamba".
    Dates,
    /// Fee bands as the bank wrote them, one a line, worded in the customer's language:
    /// "Har zuwa ₦5,000.00: ₦10.75".
    Bands,
}

impl Filter {
    /// Every filter, by the name flows use.
    pub const ALL: [(&'static str, Filter); 8] = [
        ("money", Filter::Money),
        ("phone", Filter::Phone),
        ("date", Filter::Date),
        ("initial", Filter::Initial),
        ("account", Filter::Account),
        ("local", Filter::Local),
        ("dates", Filter::Dates),
        ("bands", Filter::Bands),
    ];

    fn named(name: &str) -> Option<Filter> {
        Filter::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    /// The most characters this filter writes, for checking limits before anything is rendered,
    /// given the most its value can hold (`width`).
    pub fn max_width(self, width: usize) -> usize {
        match self {
            Filter::Money => 24,
            Filter::Phone => 16,
            // "22 Oṣù Kẹsàn-án 2026", with its tone marks.
            Filter::Date => 24,
            // A month or weekday written out can double an English date.
            Filter::Dates | Filter::Bands => width.saturating_mul(2),
            Filter::Initial => 30,
            Filter::Account => 8,
            Filter::Local => 18,
        }
    }
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text as written.
    Literal(String),
    /// A variable, maybe filtered.
    Var {
        /// Its name: `amount`, or `balance.available` for an action's output.
        name: String,
        /// How to show it.
        filter: Option<Filter>,
    },
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    parts: Vec<Part>,
}

/// What is wrong with a template, and where (a character offset into it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Characters from the start of the template.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What rendering needs besides the variables.
#[derive(Debug, Clone, Copy)]
pub struct RenderContext<'a> {
    /// ISO 4217 code for `money`.
    pub currency: &'a str,
    /// The calling code `local` takes off ("234").
    pub country_code: &'a str,
    /// The language `date` writes the month in.
    pub language: &'a str,
}

impl Template {
    /// A template with no text.
    pub const fn empty() -> Template {
        Template { parts: Vec::new() }
    }

    /// Parses `{{ name }}` and `{{ name | filter }}` placeholders out of `text`.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut consumed = 0;
        while let Some(open) = rest.find("{{") {
            if let Some(stray) = rest[..open].find("}}") {
                return Err(error(text, consumed + stray, "`}}` without a `{{` before it"));
            }
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let inside_start = consumed + open + 2;
            let Some(close) = rest[open + 2..].find("}}") else {
                return Err(error(text, consumed + open, "`{{` is never closed with `}}`"));
            };
            let inside = &rest[open + 2..open + 2 + close];
            let (name, filter) = match inside.split_once('|') {
                Some((name, filter)) => (name.trim(), Some(filter.trim())),
                None => (inside.trim(), None),
            };
            if !is_variable(name) {
                return Err(error(
                    text,
                    inside_start,
                    format!("`{}` is not a variable name (lowercase letters, digits, _ and one `.`)", name),
                ));
            }
            let filter = match filter {
                None => None,
                Some(f) => Some(Filter::named(f).ok_or_else(|| {
                    let known: Vec<&str> = Filter::ALL.iter().map(|(n, _)| *n).collect();
                    error(text, inside_start, format!("unknown filter `{f}`; one of: {}", known.join(", ")))
                })?),
            };
            parts.push(Part::Var { name: name.to_owned(), filter });
            consumed += open + 2 + close + 2;
            rest = &text[consumed..];
        }
        if let Some(stray) = rest.find("}}") {
            return Err(error(text, consumed + stray, "`}}` without a `{{` before it"));
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// The variable this template is, alone and unfiltered (`"{{amount}}"`); `None` when it has
    /// text around it, a filter, or more than one.
    pub fn single_variable(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Var { name, filter: None }] => Some(name),
            _ => None,
        }
    }

    /// Every variable it shows, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var { name, .. } => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Whether it reads no variable at all.
    pub fn is_literal(&self) -> bool {
        self.variables().next().is_none()
    }

    /// The longest it can render, in UTF-16 units, given the longest each variable can hold.
    pub fn max_len(&self, width_of: impl Fn(&str) -> usize) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Literal(s) => crate::whatsapp::outbound::utf16_len(s),
                Part::Var { name, filter: Some(f) } => f.max_width(width_of(name)),
                Part::Var { name, filter: None } => width_of(name),
            })
            .sum()
    }

    /// The text with every variable filled in; a missing variable renders as nothing (the
    /// compiler proves, path by path, that it cannot be missing).
    pub fn render(&self, vars: &impl Lookup, context: RenderContext<'_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                // A sentence that ends on an abbreviation ("to Ada L.") takes no second stop.
                Part::Literal(s) => match s.strip_prefix('.') {
                    Some(rest) if out.ends_with('.') => out.push_str(rest),
                    _ => out.push_str(s),
                },
                Part::Var { name, filter } => {
                    let value = vars.lookup(name).unwrap_or("");
                    match filter {
                        None => out.push_str(value),
                        Some(Filter::Money) => match value.parse::<i64>() {
                            Ok(minor) => out.push_str(&money::format_money(minor, context.currency)),
                            Err(_) => out.push_str(value),
                        },
                        Some(Filter::Phone) => out.push_str(&crate::phone::mask(value)),
                        Some(Filter::Local) => out.push_str(&local_phone(value, context.country_code)),
                        Some(Filter::Date) => out.push_str(&date_in(value, context.language)),
                        Some(Filter::Initial) => out.push_str(&first_name_initial(value)),
                        Some(Filter::Account) => out.push_str(&mask_account(value)),
                        Some(Filter::Dates) => {
                            out.push_str(&crate::locale::localise_dates_in(value, context.language))
                        }
                        Some(Filter::Bands) => {
                            out.push_str(&crate::locale::localise_bands_in(value, context.language))
                        }
                    }
                }
            }
        }
        out
    }
}

/// Where a template finds its variables' values: a map of them, or a view that lends them
/// without copying them into one (the engine's, which renders a few texts on every message).
pub trait Lookup {
    /// The value of variable `name`, if it has one.
    fn lookup(&self, name: &str) -> Option<&str>;
}

impl Lookup for BTreeMap<String, String> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Template {
    /// The text as a customer might read it, every variable filled with a made-up value of
    /// its kind (₦5,000.00 for money, Ada Obi for a name, ‹name› when nothing fits): the
    /// console's preview.
    pub fn sample(&self, context: RenderContext<'_>) -> String {
        let vars: BTreeMap<String, String> = self
            .parts
            .iter()
            .filter_map(|p| match p {
                Part::Var { name, filter } => Some((name.clone(), sample_value(name, *filter))),
                Part::Literal(_) => None,
            })
            .collect();
        self.render(&vars, context)
    }
}

/// A made-up value for variable `name` shown through `filter`.
fn sample_value(name: &str, filter: Option<Filter>) -> String {
    let last = name.rsplit('.').next().unwrap_or(name);
    let value = match filter {
        Some(Filter::Money) => "500000",
        Some(Filter::Phone | Filter::Local) => "2348031234567",
        Some(Filter::Date) => "2026-12-05",
        Some(Filter::Initial) => "Ada Obi",
        Some(Filter::Account) => "0123456789",
        Some(Filter::Dates | Filter::Bands) => return sample_value(name, None),
        None => match last {
            "bank_name" => "Teller Bank",
            "phone" => "2348031234567",
            "language" => "en",
            l if l.contains("name") || l == "recipient" || l == "to" => "Ada Obi",
            l if l.contains("reference") || l == "ref" => "TRF-20261205-0001",
            l if l.contains("account") => "0123456789",
            l if l.contains("until") || l.contains("date") || l.ends_with("_at") => "5 Dec 2026, 14:00",
            l if l.contains("amount") || l.contains("balance") || l.contains("fee") => "₦5,000.00",
            l if l.contains("code") => "482913",
            l if l.contains("count") || l.contains("tries") || l.contains("left") || l == "n" => "2",
            _ => return format!("‹{name}›"),
        },
    };
    value.to_owned()
}

fn error(text: &str, byte_offset: usize, message: impl Into<String>) -> TemplateError {
    let offset = text.get(..byte_offset).map_or(0, |s| s.chars().count());
    TemplateError { offset, message: message.into() }
}

/// `name` or `name.field`, each part an identifier.
pub fn is_variable(name: &str) -> bool {
    let mut parts = name.split('.');
    let ok = |p: Option<&str>| p.is_some_and(super::names::is_identifier);
    match (parts.next(), parts.next(), parts.next()) {
        (first, None, None) => ok(first),
        (first, second @ Some(_), None) => ok(first) && ok(second),
        _ => false,
    }
}

/// An account number as its last four digits: "****4821".
pub fn mask_account(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("****{tail}")
}

/// "Ada Lovelace" → "Ada L."; a single name stays as it is.
pub fn first_name_initial(name: &str) -> String {
    let name = super::input::form_case(name);
    let mut words = name.split_whitespace();
    match (words.next(), words.last()) {
        (Some(first), Some(last)) => match last.chars().next() {
            Some(initial) => format!("{first} {}.", initial.to_uppercase()),
            None => first.to_owned(),
        },
        (Some(first), None) => first.to_owned(),
        (None, _) => String::new(),
    }
}

/// International digits as a local number is written: "2348031239999" → "0803 123 9999";
/// anything else as it is.
pub fn local_phone(digits: &str, country_code: &str) -> String {
    match digits.strip_prefix(country_code) {
        Some(national) if national.len() == 10 && national.bytes().all(|b| b.is_ascii_digit()) => {
            format!("0{} {} {}", &national[..3], &national[3..6], &national[6..])
        }
        _ => digits.to_owned(),
    }
}

/// An ISO date (`2026-11-22`) as "22 Nov 2026"; anything else as it is.
pub fn long_date(iso: &str) -> String {
    date_in(iso, "en")
}

/// An ISO date as customers read it in `language` ("22 Nov 2026", "22 Nuwamba 2026"); anything
/// else as it is.
pub fn date_in(iso: &str, language: &str) -> String {
    match chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d") {
        Ok(date) => crate::locale::date(date, language),
        Err(_) => iso.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    const NGN: RenderContext<'static> =
        RenderContext { currency: "NGN", country_code: "234", language: "en" };

    #[test]
    fn dates_are_written_in_the_customers_language() {
        let t = Template::parse(
            "{{day | date}} · {{loan.schedule | dates}} · {{verify.until | dates}} · {{name}}",
        )
        .unwrap();
        let values = vars(&[
            ("day", "2026-12-22"),
            ("loan.schedule", "5 Jan 2027: ₦100.00"),
            ("verify.until", "14:30 on Sat 5 Dec"),
            ("name", "22 Dec 2026"),
        ]);
        let hausa = RenderContext { language: "ha", ..NGN };
        assert_eq!(
            t.render(&values, hausa),
            "22 Disamba 2026 · 5 Janairu 2027: ₦100.00 · 14:30, Asabar 5 Disamba · 22 Dec 2026"
        );
        assert_eq!(
            t.render(&values, NGN),
            "22 Dec 2026 · 5 Jan 2027: ₦100.00 · 14:30 on Sat 5 Dec · 22 Dec 2026"
        );
    }

    #[test]
    fn a_typed_number_is_shown_back_in_full_the_local_way() {
        assert_eq!(local_phone("2348031239999", "234"), "0803 123 9999");
        assert_eq!(local_phone("44207123456", "234"), "44207123456", "not this country's: as it is");
        let t = Template::parse("No customer has {{to | local}}.").unwrap();
        assert_eq!(t.render(&vars(&[("to", "2348031239999")]), NGN), "No customer has 0803 123 9999.");
    }

    #[test]
    fn variables_are_filled_and_filtered() {
        let t =
            Template::parse("Send {{amount | money}} to {{ who|initial }} ({{to | phone}}) on {{day|date}}?")
                .unwrap();
        let v = vars(&[
            ("amount", "500000"),
            ("who", "ada lovelace"),
            ("to", "2348031234521"),
            ("day", "2026-11-02"),
        ]);
        assert_eq!(t.render(&v, NGN), "Send ₦5,000.00 to Ada L. (2348****21) on 2 Nov 2026?");
        assert_eq!(t.variables().collect::<Vec<_>>(), ["amount", "who", "to", "day"]);
    }

    #[test]
    fn a_sentence_ending_on_an_initial_takes_no_second_stop() {
        let t = Template::parse("Enter your PIN to send it to {{who | initial}}. Or {{n}}.").unwrap();
        let v = vars(&[("who", "Ada Lovelace"), ("n", "not")]);
        assert_eq!(t.render(&v, NGN), "Enter your PIN to send it to Ada L. Or not.");
        let plain = Template::parse("{{who}}...").unwrap();
        assert_eq!(plain.render(&vars(&[("who", "Ada")]), NGN), "Ada...");
    }

    #[test]
    fn dotted_names_read_action_outputs() {
        let t = Template::parse("{{balance.available|money}}").unwrap();
        assert_eq!(t.render(&vars(&[("balance.available", "1")]), NGN), "₦0.01");
    }

    #[test]
    fn typos_are_errors_with_their_offset() {
        let cases = [
            ("Hi {{name", 3, "never closed"),
            ("Hi name}}", 7, "without a `{{`"),
            ("Hi {{ Name }}", 5, "not a variable name"),
            ("{{amount | mony}}", 2, "unknown filter `mony`"),
            ("{{a.b.c}}", 2, "not a variable name"),
            ("₦{{}}", 3, "not a variable name"),
        ];
        for (text, offset, message) in cases {
            let err = Template::parse(text).unwrap_err();
            assert_eq!(err.offset, offset, "{text}");
            assert!(err.message.contains(message), "{text}: {}", err.message);
        }
    }

    #[test]
    fn widths_bound_what_can_be_rendered() {
        let t = Template::parse("Hi {{name}}, you have {{x|money}}").unwrap();
        assert_eq!(t.max_len(|_| 10), 3 + 10 + 11 + 24);
        assert!(Template::parse("plain").is_ok_and(|t| t.is_literal()));
    }

    #[test]
    fn masking_hides_the_middle() {
        assert_eq!(mask_account("0123456789"), "****6789");
        assert_eq!(first_name_initial("  Chinedu  "), "Chinedu");
        assert_eq!(long_date("22/11/2026"), "22/11/2026");
    }
}
