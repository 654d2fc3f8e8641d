//! The languages teller speaks. A leaf: it imports nothing of teller.

/// The languages teller ships; every customer-facing text exists in each.
pub const LANGUAGES: [&str; 2] = ["en", "pcm"];
/// The key of a text that reads the same in every language.
pub const ANY_LANGUAGE: &str = "any";
