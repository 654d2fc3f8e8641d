//! Any text as an amount: what parses is positive and bounded, and reads back as itself; and
//! the free-text reader never panics on it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use teller::money::{self, MINOR_PER_MAJOR};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(minor) = money::parse_amount(text) {
        assert!(minor > 0, "{text:?} parsed to {minor}");
        let plain = format!("{}.{:02}", minor / MINOR_PER_MAJOR, minor % MINOR_PER_MAJOR);
        assert_eq!(money::parse_amount(&plain).ok(), Some(minor), "{text:?} → {plain}");
        assert!(!money::format_money(minor, "NGN").is_empty());
    }
    let understood = teller::nlu::rules::understand(text, "234");
    if let Some(amount) = understood.amount {
        assert!(amount > 0, "{text:?} understood as {amount}");
    }
});
