//! Any text as a phone number: what is accepted is 10 to 15 digits, and accepted again as is.
#![no_main]

use libfuzzer_sys::fuzz_target;
use teller::flows::input::phone;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(number) = phone(text, "234") {
        assert!((10..=15).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit()), "{text:?} → {number}");
        assert_eq!(phone(&format!("+{number}"), "234").as_deref(), Some(number.as_str()), "{text:?}");
    }
});
