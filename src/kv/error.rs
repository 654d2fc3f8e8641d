//! The KV store's error type.

use std::time::Duration;

/// What went wrong talking to the KV store.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The store cannot be reached or did not answer in time. Nothing may be assumed about a
    /// write that failed this way; the caller may retry.
    #[error("the KV store is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// A TTL of zero or under a millisecond: every key must expire, and not instantly.
    #[error("invalid TTL {0:?}: it must be at least one millisecond")]
    InvalidTtl(Duration),
    /// The key holds something other than what the operation expects (e.g. increment on text).
    #[error("the value under the key is not {0}")]
    WrongType(&'static str),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl KvError {
    /// True when retrying later may succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, KvError::Unavailable(_))
    }
}
