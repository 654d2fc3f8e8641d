//! Money as customers type it and as teller shows it: integer minor units in between.
//!
//! No floating point touches an amount. [`parse_amount`] accepts what people write to a bank
//! ("5000", "5,000", "₦5,000.50", "NGN 250", "5k", "1.5m") and refuses everything ambiguous or
//! wrong with a reason: `nan`, `-5`, `1e9`, `5,00.0` (misplaced separators), three decimals.
//! [`format_money`] writes the one format every language uses: symbol, thousands separators, two
//! decimals ("₦5,000.00").
//!
//! A leaf: imports nothing of teller.

use std::fmt;

mod counting;
mod words;

pub use counting::{is_counting_join, is_counting_scale, is_counting_word};
pub use words::{is_number_word, is_scale_word};

/// Minor units per major unit (kobo per naira, cents per shilling): every currency teller
/// supports has two decimals.
pub const MINOR_PER_MAJOR: i64 = 100;

/// The largest amount a customer may type: 10 billion in major units. Limits per product and
/// tier are far below; this only keeps arithmetic far from overflow.
pub const MAX_AMOUNT_MINOR: i64 = 10_000_000_000 * MINOR_PER_MAJOR;

/// Why a typed amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Nothing that looks like a number.
    #[error("not an amount")]
    NotANumber,
    /// Zero or below.
    #[error("the amount must be more than zero")]
    NotPositive,
    /// More than two decimals.
    #[error("an amount has at most two decimals")]
    TooPrecise,
    /// Thousands separators in the wrong places ("5,00").
    #[error("the commas are in the wrong places")]
    Grouping,
    /// Beyond [`MAX_AMOUNT_MINOR`].
    #[error("the amount is too large")]
    TooLarge,
    /// Written in another currency than the account's ("$50", "USD 50", "€20").
    #[error("the amount is in another currency")]
    OtherCurrency,
}

/// How amounts in other currencies are written: refused, never read as the account's (a
/// currency's own marks are taken out of this list for its accounts).
/// Lowercase, as typed amounts are compared.
const FOREIGN_MARKS: [&str; 29] = [
    "us$",
    "usd",
    "$",
    "eur",
    "€",
    "gbp",
    "£",
    "ksh",
    "kes",
    "gh₵",
    "ghs",
    "₵",
    "cfa",
    "xof",
    "zar",
    "r$",
    "₦",
    "ngn",
    "naira",
    "dollars",
    "dollar",
    "euros",
    "euro",
    "pounds",
    "pound",
    "cedis",
    "cedi",
    "shillings",
    "shilling",
];

/// How amounts in `currency` may be written besides bare numbers, lowercase and longest first:
/// its code and symbol, and for the naira its name, the `N` people type for lack of a `₦` key
/// and the `#` many use instead.
fn own_marks(currency: &str) -> Vec<String> {
    let mut marks = vec![currency.to_lowercase(), currency_symbol(currency).trim().to_lowercase()];
    match currency {
        "NGN" => marks.extend(["naira", "n", "#"].map(str::to_owned)),
        "KES" => marks.extend(["ksh", "shillings", "shilling"].map(str::to_owned)),
        "GHS" => marks.extend(["cedis", "cedi"].map(str::to_owned)),
        "USD" => marks.extend(["dollars", "dollar"].map(str::to_owned)),
        _ => {}
    }
    marks.sort_by_key(|m| std::cmp::Reverse(m.chars().count()));
    marks
}

/// A word mark counts only as a word of its own: the `n` of "n250" is the naira, the `n` of
/// "nine" is not.
fn stands_apart(mark: &str, neighbour: Option<char>) -> bool {
    !mark.chars().any(char::is_alphabetic) || neighbour.is_none_or(|c| !c.is_alphabetic())
}

/// `typed` (lowercase) without the marks of `currency` around it, nor a closing "only".
fn unmarked<'a>(typed: &'a str, marks: &[String]) -> &'a str {
    let mut s = typed.trim();
    if let Some(rest) = s.strip_suffix("only")
        && rest.ends_with(char::is_whitespace)
    {
        s = rest.trim_end();
    }
    if let Some((mark, rest)) = marks.iter().find_map(|m| Some((m, s.strip_prefix(m.as_str())?)))
        && stands_apart(mark, rest.chars().next())
    {
        s = rest.trim_start();
    }
    if let Some((mark, rest)) = marks.iter().find_map(|m| Some((m, s.strip_suffix(m.as_str())?)))
        && stands_apart(mark, rest.chars().last())
    {
        s = rest.trim_end();
    }
    s
}

/// Whether `typed` (lowercase) is written in another currency than one with `marks`.
fn is_foreign(typed: &str, marks: &[String]) -> bool {
    FOREIGN_MARKS.iter().filter(|m| !marks.iter().any(|own| own == *m)).any(|m| {
        let before = typed.strip_prefix(m).map(|rest| rest.chars().next());
        let after = typed.strip_suffix(m).map(|rest| rest.chars().last());
        before.is_some_and(|c| stands_apart(m, c)) || after.is_some_and(|c| stands_apart(m, c))
    })
}

/// An amount in naira minor units, parsed from what a customer typed: [`parse_amount_in`]
/// with `NGN`.
///
/// ```
/// use teller::money::parse_amount;
/// assert_eq!(parse_amount("₦5,000.50"), Ok(500_050));
/// assert_eq!(parse_amount("5k"), Ok(500_000));
/// assert!(parse_amount("1e9").is_err());
/// assert!(parse_amount("-5").is_err());
/// assert!(parse_amount("$50").is_err());
/// ```
pub fn parse_amount(input: &str) -> Result<i64, AmountError> {
    parse_amount_in(input, "NGN")
}

/// An amount in `currency`'s minor units, parsed from what a customer typed: a bare number,
/// or one marked with `currency`'s code or symbol. One marked as another currency is refused
/// ([`AmountError::OtherCurrency`]), never read as `currency`.
pub fn parse_amount_in(input: &str, currency: &str) -> Result<i64, AmountError> {
    let typed = input.trim().to_lowercase();
    let marks = own_marks(currency);
    if is_foreign(&typed, &marks) {
        return Err(AmountError::OtherCurrency);
    }
    let s = unmarked(&typed, &marks);
    if s.starts_with('-') {
        return Err(AmountError::NotPositive);
    }
    counting::parse(s, figures).or_else(|| words::parse(s, figures)).unwrap_or_else(|| figures(s))
}

/// An amount written in figures ("5,000.50", "1.5k") as minor units.
fn figures(s: &str) -> Result<i64, AmountError> {
    let (s, multiplier) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (s[..i].trim_end(), 1_000),
        Some((i, 'm' | 'M')) => (s[..i].trim_end(), 1_000_000),
        _ => (s, 1),
    };
    let (whole, fraction) = match s.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (s, None),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit() || b == b',') {
        return Err(AmountError::NotANumber);
    }
    if whole.contains(',') {
        let mut groups = whole.split(',');
        let first = groups.next().unwrap_or_default();
        if first.is_empty() || first.len() > 3 || groups.any(|g| g.len() != 3) {
            return Err(AmountError::Grouping);
        }
    }
    let digits: String = whole.chars().filter(char::is_ascii_digit).collect();
    let fraction = fraction.unwrap_or("");
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AmountError::NotANumber);
    }
    // "1.5k" is 1,500: the multiplier applies before the two-decimal rule.
    let scale = MINOR_PER_MAJOR * multiplier;
    let fraction_digits = u32::try_from(fraction.len()).map_err(|_| AmountError::TooPrecise)?;
    let fraction_scale = 10_i64.checked_pow(fraction_digits).ok_or(AmountError::TooPrecise)?;
    if scale % fraction_scale != 0 {
        return Err(AmountError::TooPrecise);
    }
    let whole: i64 = if digits.len() > 15 {
        return Err(AmountError::TooLarge);
    } else {
        digits.parse().map_err(|_| AmountError::NotANumber)?
    };
    let fraction: i64 =
        if fraction.is_empty() { 0 } else { fraction.parse().map_err(|_| AmountError::NotANumber)? };
    let minor = whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(fraction * (scale / fraction_scale)))
        .ok_or(AmountError::TooLarge)?;
    if minor == 0 {
        return Err(AmountError::NotPositive);
    }
    if minor > MAX_AMOUNT_MINOR {
        return Err(AmountError::TooLarge);
    }
    Ok(minor)
}

/// The symbol customers know a currency by; the ISO code itself for others.
pub fn currency_symbol(currency: &str) -> &str {
    match currency {
        "NGN" => "₦",
        "KES" => "KSh ",
        "GHS" => "GH₵",
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        other => other,
    }
}

/// An amount written for a customer.
#[derive(Debug, Clone, Copy)]
pub struct Money<'a> {
    /// Minor units.
    pub minor: i64,
    /// ISO 4217 code.
    pub currency: &'a str,
}

impl fmt::Display for Money<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        let per = MINOR_PER_MAJOR.unsigned_abs();
        let (whole, cents) = (abs / per, abs % per);
        let digits = whole.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let symbol = currency_symbol(self.currency);
        let space =
            if symbol.len() == 3 && symbol.chars().all(|c| c.is_ascii_uppercase()) { " " } else { "" };
        write!(f, "{sign}{symbol}{space}{grouped}.{cents:02}")
    }
}

/// `minor` in `currency` as customers read it: "₦5,000.00".
pub fn format_money(minor: i64, currency: &str) -> String {
    Money { minor, currency }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_people_type_is_read_exactly() {
        for (typed, minor) in [
            ("5000", 500_000),
            ("5,000", 500_000),
            ("5,000.5", 500_050),
            ("₦5,000.50", 500_050),
            ("NGN 250", 25_000),
            ("n250", 25_000),
            ("5k", 500_000),
            ("1.5k", 150_000),
            ("2M", 200_000_000),
            ("1,234,567.89", 123_456_789),
            ("0.01", 1),
            ("  42  ", 4_200),
            ("#2000", 200_000),
            ("# 2,000", 200_000),
            ("2500naira", 250_000),
            ("1000 naira", 100_000),
            ("N1,000 only", 100_000),
            ("3.5k", 350_000),
            ("1.2m", 120_000_000),
            ("ten thousand naira", 1_000_000),
            ("Ten Thousand", 1_000_000),
            ("five", 500),
            ("two hundred and fifty", 25_000),
            ("twenty-five thousand", 2_500_000),
            ("a thousand", 100_000),
            ("one hundred thousand", 10_000_000),
            ("two hundred and fifty thousand naira", 25_000_000),
            ("one million five hundred thousand", 150_000_000),
            ("1.5 million", 150_000_000),
            ("5 thousand", 500_000),
            ("20 k", 2_000_000),
            ("fourty thousand", 4_000_000),
            ("nine thousand", 900_000),
        ] {
            assert_eq!(parse_amount(typed), Ok(minor), "{typed}");
        }
    }

    #[test]
    fn ambiguous_or_wrong_amounts_are_refused_with_a_reason() {
        for (typed, error) in [
            ("nan", AmountError::NotANumber),
            ("", AmountError::NotANumber),
            ("fivve", AmountError::NotANumber),
            ("thousand thousand", AmountError::NotANumber),
            ("five thousand million", AmountError::NotANumber),
            ("two 5", AmountError::NotANumber),
            ("zero", AmountError::NotPositive),
            ("ten billion billion", AmountError::NotANumber),
            ("twenty billion", AmountError::TooLarge),
            ("1e9", AmountError::NotANumber),
            ("-5", AmountError::NotPositive),
            ("0", AmountError::NotPositive),
            ("0.00", AmountError::NotPositive),
            ("5,00.0", AmountError::Grouping),
            ("5,0000", AmountError::Grouping),
            (",500", AmountError::Grouping),
            ("5.001", AmountError::TooPrecise),
            ("1.234567k", AmountError::TooPrecise),
            ("1.2.3", AmountError::NotANumber),
            ("99999999999999999999", AmountError::TooLarge),
            ("20000000000", AmountError::TooLarge),
            ("inf", AmountError::NotANumber),
            ("5 000", AmountError::NotANumber),
        ] {
            assert_eq!(parse_amount(typed), Err(error), "{typed}");
        }
    }

    #[test]
    fn another_currency_is_refused_never_read_as_the_accounts() {
        for typed in [
            "$50",
            "USD 50",
            "usd50",
            "50 USD",
            "KSh 50",
            "GH₵50",
            "€20",
            "£20",
            "20 EUR",
            "US$ 5",
            "50 dollars",
            "ten pounds",
        ] {
            assert_eq!(parse_amount(typed), Err(AmountError::OtherCurrency), "{typed}");
        }
        assert_eq!(parse_amount_in("KSh 50", "KES"), Ok(5_000), "the account's own currency");
        assert_eq!(parse_amount_in("KES 50", "KES"), Ok(5_000));
        assert_eq!(parse_amount_in("₦50", "KES"), Err(AmountError::OtherCurrency), "not shillings");
        assert_eq!(parse_amount_in("$50", "USD"), Ok(5_000));
        assert_eq!(parse_amount_in("N50", "NGN"), Ok(5_000));
        assert_eq!(parse_amount_in("1000 naira", "KES"), Err(AmountError::OtherCurrency));
        assert_eq!(parse_amount_in("50 dollars", "USD"), Ok(5_000));
    }

    #[test]
    fn amounts_show_symbol_separators_and_two_decimals() {
        assert_eq!(format_money(500_000, "NGN"), "₦5,000.00");
        assert_eq!(format_money(1_000, "NGN"), "₦10.00");
        assert_eq!(format_money(5, "NGN"), "₦0.05");
        assert_eq!(format_money(123_456_789, "KES"), "KSh 1,234,567.89");
        assert_eq!(format_money(-250, "NGN"), "-₦2.50");
        assert_eq!(format_money(100, "XOF"), "XOF 1.00");
    }
}
