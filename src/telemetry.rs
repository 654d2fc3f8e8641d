//! Tracing setup and the helpers that keep customer data out of logs.
//!
//! Log lines are structured: spans carry the request id and route template (see [`crate::http`]),
//! and any phone number goes through [`crate::phone::Masked`] before it reaches a field.
//!
//! Imports: config.

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
