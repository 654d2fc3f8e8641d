//! Phone numbers as teller keys and shows them: one customer key, one mask. A leaf: it
//! imports nothing of teller.
//!
//! A customer's routing key is `wa:<wa_id>` (their WhatsApp number, digits only). Shown to
//! anyone but its owner (replies about someone else, the console, logs), a number is its
//! first four digits and last two: `2348****21`, always four stars, so the length is hidden
//! too. Anything that is not a plain digit string of at least eight digits is hidden whole,
//! since it may be a mistyped number.

use std::fmt;

/// The prefix of a customer key made from a WhatsApp number.
pub const KEY_PREFIX: &str = "wa:";

/// The customer key of WhatsApp number `wa_id`.
pub fn customer_key(wa_id: &str) -> String {
    format!("{KEY_PREFIX}{wa_id}")
}

/// The WhatsApp number inside customer key `key`, when it was made from one.
pub fn wa_id_of(key: &str) -> Option<&str> {
    key.strip_prefix(KEY_PREFIX)
}

/// A phone number shown masked; wrap it at the point of logging:
/// `tracing::info!(wa_id = %Masked(&id))`.
#[derive(Clone, Copy)]
pub struct Masked<'a>(pub &'a str);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEAD: usize = 4;
        const TAIL: usize = 2;
        let digits = self.0.strip_prefix('+').unwrap_or(self.0);
        if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() < 8 {
            return f.write_str("****");
        }
        // All ASCII digits, so byte offsets are character boundaries.
        write!(f, "{}****{}", &digits[..HEAD], &digits[digits.len() - TAIL..])
    }
}

impl fmt::Debug for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// [`Masked`] as an owned string.
pub fn mask(number: &str) -> String {
    Masked(number).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_keeps_its_first_four_and_last_two_digits_behind_four_stars() {
        assert_eq!(mask("2348012345621"), "2348****21");
        assert_eq!(mask("+2348012345621"), "2348****21");
        assert_eq!(mask("447700900123"), "4477****23");
        assert_eq!(mask("23480123"), "2348****23");
    }

    #[test]
    fn short_or_odd_numbers_are_masked_whole() {
        for odd in ["", "1234567", "2348 0123 4562", "ada@example.com", "۲۳۴۸۰۱۲۳۴۵۶۲۱"] {
            assert_eq!(mask(odd), "****", "{odd:?}");
        }
    }

    #[test]
    fn a_key_is_made_from_a_number_and_read_back() {
        assert_eq!(customer_key("2348031234521"), "wa:2348031234521");
        assert_eq!(wa_id_of("wa:2348031234521"), Some("2348031234521"));
        assert_eq!(wa_id_of("bsuid:abc"), None);
    }
}
