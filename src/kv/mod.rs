//! The KV port: short-lived state with a time to live.
//!
//! Sessions, OTPs, rate-limit counters, caches, short locks and change notifications live here.
//! Every key has a TTL (nothing in the KV is meant to last), which is also what keeps the store
//! bounded. Two adapters implement [`Kv`]: [`redis::RedisKv`] (production and tests; Valkey and
//! `rediss://` work) and [`memory::MemoryKv`] (the embedded default, one process). The behaviour
//! suite in `tests/kv_store.rs` runs against both.
//!
//! Imports: the leaves only.

mod error;
pub mod memory;
pub mod redis;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{Stream, StreamExt};

pub use error::KvError;

use crate::config::KvConfig;

/// A member to add to an index with a write ([`Kv::set_and_index`]).
#[derive(Debug, Clone, Copy)]
pub struct Indexed<'a> {
    /// The index.
    pub index: &'a str,
    /// What to add to it.
    pub member: &'a str,
    /// Its score (when it is due).
    pub score: i64,
    /// The index's own TTL, renewed.
    pub ttl: Duration,
}

/// The key-value store.
#[async_trait]
pub trait Kv: Send + Sync + 'static {
    /// `"redis"` or `"memory"`, for logs and `/health`.
    fn backend(&self) -> &'static str;

    /// Proves the store answers now (used by `/health`).
    async fn ping(&self) -> Result<(), KvError>;

    /// The value under `key`, unless it is missing or expired.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;

    /// Stores `value` under `key` for `ttl`, replacing any value and TTL it had.
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), KvError>;

    /// Stores `value` for `ttl` only if `key` is absent; true when it was stored. Two callers
    /// racing for one key: exactly one gets true (the basis of short locks and idempotency).
    async fn set_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, KvError>;

    /// Adds `by` to the integer under `key` and returns the result. A key this call creates
    /// starts at 0 and gets `ttl`; an existing key keeps its TTL, so a counter is a fixed window.
    async fn increment(&self, key: &str, by: i64, ttl: Duration) -> Result<i64, KvError>;

    /// [`Kv::increment`] of `counter`, and [`Kv::get`] of `key`, in one round trip (a message's
    /// rate count and its customer's session).
    async fn increment_and_get(
        &self,
        counter: &str,
        by: i64,
        ttl: Duration,
        key: &str,
    ) -> Result<(i64, Option<Vec<u8>>), KvError> {
        Ok((self.increment(counter, by, ttl).await?, self.get(key).await?))
    }

    /// [`Kv::set`] of `key`, then, when `indexed` names one, [`Kv::index_add`] of its member to
    /// an index, in one round trip (a session and its place in the sweep's index).
    async fn set_and_index(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
        indexed: Option<Indexed<'_>>,
    ) -> Result<(), KvError> {
        self.set(key, value, ttl).await?;
        if let Some(Indexed { index, member, score, ttl }) = indexed {
            self.index_add(index, member, score, ttl).await?;
        }
        Ok(())
    }

    /// Removes `key` and returns what it held, atomically: of two callers, one gets the value.
    async fn get_and_delete(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;

    /// Removes `key`; true when it existed.
    async fn delete(&self, key: &str) -> Result<bool, KvError>;

    /// How long `key` has left, or `None` when it is missing.
    async fn ttl(&self, key: &str) -> Result<Option<Duration>, KvError>;

    /// Replaces the value under `key` with `value` (and `ttl`) only if it still holds exactly
    /// `expected`; true when replaced. What a cleanup uses so it never overwrites a newer write.
    async fn compare_and_set(
        &self,
        key: &str,
        expected: &[u8],
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, KvError>;

    /// Puts `member` in the sorted index `index` at `score` (moving it if it was there), and
    /// gives the index `ttl` from now. An index finds keys that come due, without scanning.
    async fn index_add(&self, index: &str, member: &str, score: i64, ttl: Duration) -> Result<(), KvError>;

    /// Up to `limit` members of `index` with a score of at most `max`, lowest first.
    async fn index_due(&self, index: &str, max: i64, limit: usize) -> Result<Vec<(String, i64)>, KvError>;

    /// Removes `member` from `index` if its score is still at most `max` (it was not moved on
    /// since it was read); true when removed.
    async fn index_remove(&self, index: &str, member: &str, max: i64) -> Result<bool, KvError>;

    /// Drops what has expired now and returns how many keys that was. Redis expires keys by
    /// itself (0); the memory adapter otherwise drops them only as later writes pass by.
    async fn sweep(&self) -> Result<u64, KvError>;

    /// Sends `message` to every current subscriber of `channel`. Delivery is at most once and
    /// only to subscribers present now: notifications are hints, the SQL store is the truth.
    async fn publish(&self, channel: &str, message: &[u8]) -> Result<(), KvError>;

    /// Subscribes to `channel`. Messages published after this returns are delivered in order.
    /// The subscription ends (yields `None`) if the connection is lost; a subscriber then
    /// resubscribes and assumes it missed something.
    async fn subscribe(&self, channel: &str) -> Result<Subscription, KvError>;
}

/// Messages arriving on a channel.
pub struct Subscription {
    messages: Pin<Box<dyn Stream<Item = Vec<u8>> + Send>>,
}

impl Subscription {
    fn new(messages: impl Stream<Item = Vec<u8>> + Send + 'static) -> Self {
        Subscription { messages: Box::pin(messages) }
    }

    /// The next message, or `None` once the subscription has ended.
    pub async fn next(&mut self) -> Option<Vec<u8>> {
        self.messages.next().await
    }
}

/// Keys that guard against guessing and replay: counts of tries (one-time codes, authenticator
/// codes, admin logins), markers of codes already used and of codes already sent, and rate
/// limits. Evicting one would reopen what it closes, so a full in-memory store evicts other
/// keys, and refuses a write rather than evict one of these. (Redis is configured for the same
/// in production: `volatile-ttl` is not safe there either, `noeviction` is.)
pub const GUARD_PREFIXES: [&str; 8] = [
    "bank:code_tries:",
    "bank:totp_tries:",
    "bank:totp_used:",
    "bank:step_up:",
    "admin_totp_used:",
    "admin_login_ip:",
    "admin_login_failures:",
    "rate:",
];

/// Whether `key` is one a full store must never evict (see [`GUARD_PREFIXES`]).
pub fn is_guard(key: &str) -> bool {
    GUARD_PREFIXES.iter().any(|prefix| key.starts_with(prefix))
}

/// Opens the adapter that `config` names: Redis when `REDIS_URL` is set, memory otherwise.
pub fn connect(config: &KvConfig) -> Result<Arc<dyn Kv>, KvError> {
    Ok(match &config.redis_url {
        Some(url) => Arc::new(redis::RedisKv::connect(url, &config.prefix, config.tls_ca_cert.as_deref())?),
        None => Arc::new(memory::MemoryKv::new(config.memory_max_keys)),
    })
}

/// Rejects TTLs that Redis would refuse or that make no sense: zero, or under a millisecond.
fn check_ttl(ttl: Duration) -> Result<u64, KvError> {
    let millis = u64::try_from(ttl.as_millis()).map_err(|_| KvError::InvalidTtl(ttl))?;
    if millis == 0 {
        return Err(KvError::InvalidTtl(ttl));
    }
    Ok(millis)
}
