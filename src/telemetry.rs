//! Tracing setup and the helpers that keep customer data out of logs.
//!
//! Log lines are structured: spans carry the request id and route template (see [`crate::http`]),
//! and any phone number goes through [`MaskedPhone`] before it reaches a field.

use std::fmt;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// The filter used when `RUST_LOG` is unset: our own events at info, chatty dependencies quieter.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info,hyper=warn,redis=warn";

/// Installs the global tracing subscriber for the process.
///
/// Returns an error instead of panicking when a subscriber is already installed (a second call,
/// or a test harness that set its own).
pub fn init(format: LogFormat) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(DEFAULT_FILTER))?;
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init()?,
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer().compact()).try_init()?,
    }
    Ok(())
}

/// A phone number shown in logs as its country prefix and last two digits: `2348******21`.
///
/// Wrap a number in it at the point of logging: `tracing::info!(wa_id = %MaskedPhone(&id))`.
/// Anything that is not a plain digit string is masked whole, since it may be a mistyped number.
#[derive(Clone, Copy)]
pub struct MaskedPhone<'a>(pub &'a str);

impl fmt::Display for MaskedPhone<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const KEEP_HEAD: usize = 4;
        const KEEP_TAIL: usize = 2;
        let digits = self.0.strip_prefix('+').unwrap_or(self.0);
        if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() <= KEEP_HEAD + KEEP_TAIL {
            return f.write_str("********");
        }
        // All ASCII digits, so byte offsets are character boundaries.
        let (head, rest) = digits.split_at(KEEP_HEAD);
        let (middle, tail) = rest.split_at(rest.len() - KEEP_TAIL);
        f.write_str(head)?;
        for _ in 0..middle.len() {
            f.write_str("*")?;
        }
        f.write_str(tail)
    }
}

impl fmt::Debug for MaskedPhone<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// [`MaskedPhone`] as an owned string.
pub fn mask_phone(number: &str) -> String {
    MaskedPhone(number).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_number_keeps_only_its_prefix_and_last_two_digits() {
        assert_eq!(mask_phone("2348012345621"), "2348*******21");
        assert_eq!(mask_phone("+2348012345621"), "2348*******21");
        assert_eq!(mask_phone("447700900123"), "4477******23");
    }

    #[test]
    fn short_or_odd_numbers_are_masked_whole() {
        for odd in ["", "123456", "2348 0123 4562", "ada@example.com", "۲۳۴۸۰۱۲۳۴۵۶۲۱"] {
            assert_eq!(mask_phone(odd), "********", "{odd:?}");
        }
    }
}
