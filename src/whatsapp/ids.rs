//! Identifiers at the WhatsApp edge, parsed once so the rest of teller never sees raw strings.

use std::fmt;

/// A WhatsApp message id (`wamid.…`), ours or a customer's. Opaque; only its shape is checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(String);

impl MessageId {
    /// Accepts a non-empty id of at most 256 printable ASCII characters.
    pub fn parse(raw: &str) -> Option<MessageId> {
        let ok = !raw.is_empty() && raw.len() <= 256 && raw.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| MessageId(raw.to_owned()))
    }

    /// The id as Meta wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A customer's WhatsApp user id: the digits of their number as WhatsApp knows it. Replies go to
/// this, never to a number the customer typed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct WaId(String);

impl WaId {
    /// Accepts 6 to 20 ASCII digits (an optional leading `+` is dropped).
    pub fn parse(raw: &str) -> Option<WaId> {
        let digits = raw.strip_prefix('+').unwrap_or(raw);
        let ok = (6..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| WaId(digits.to_owned()))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Masked, so a `WaId` in a log line or a `Debug` dump never shows the whole number.
impl fmt::Debug for WaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WaId({})", crate::phone::Masked(&self.0))
    }
}

/// A business-scoped user id (BSUID, `CC.<digits and letters>`), which identifies a customer to
/// this business even when their phone number is hidden behind a username. Not enough on its own
/// to authenticate anyone for money.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bsuid(String);

impl Bsuid {
    /// Accepts `CC.` followed by 1 to 140 ASCII letters, digits or dots.
    pub fn parse(raw: &str) -> Option<Bsuid> {
        let (country, rest) = raw.split_once('.')?;
        let ok = country.len() == 2
            && country.bytes().all(|b| b.is_ascii_uppercase())
            && (1..=140).contains(&rest.len())
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.');
        ok.then(|| Bsuid(raw.to_owned()))
    }

    /// The id as Meta wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_accept_what_meta_sends_and_nothing_else() {
        assert!(MessageId::parse("wamid.HBgLMjM0ODAxMjM0NTY3FQIAEhggQjk=").is_some());
        assert!(MessageId::parse("").is_none());
        assert!(MessageId::parse("wamid with space").is_none());
        assert!(MessageId::parse(&"w".repeat(257)).is_none());

        assert_eq!(WaId::parse("+2348012345621").unwrap().as_str(), "2348012345621");
        for bad in ["", "12345", "2348-0123", "٢٣٤٨٠١٢٣٤٥٦", &"1".repeat(21)] {
            assert!(WaId::parse(bad).is_none(), "{bad:?}");
        }
        assert!(!format!("{:?}", WaId::parse("2348012345621").unwrap()).contains("012345"));

        assert!(Bsuid::parse("US.13491208655302741918").is_some());
        assert!(Bsuid::parse("US.ENT.1234").is_some());
        for bad in ["13491208655302741918", "us.123", "USA.123", "US.", "US.12 3"] {
            assert!(Bsuid::parse(bad).is_none(), "{bad:?}");
        }
    }
}
