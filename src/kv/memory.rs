//! The in-process KV adapter: the embedded default for a single instance.
//!
//! Keys live in shards, each a map plus an index ordered by expiry. Reads treat an expired key as
//! absent; writes first drop whatever has expired in their shard, so expired keys do not pile up.
//! The store is also bounded: when a shard is full, the key nearest to its expiry is evicted
//! (Redis calls this policy `volatile-ttl`), but never a guard key (tries, used codes, rate
//! limits: [`super::GUARD_PREFIXES`]); when only those are left, a new key is refused as
//! unavailable, and the caller retries once some have expired. Time is tokio's clock, so tests
//! pause and advance it.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use super::{Kv, KvError, Subscription, check_ttl};

const SHARDS: usize = 16;
/// Messages a slow subscriber may fall behind by before it misses some.
const CHANNEL_CAPACITY: usize = 1024;

/// The in-process KV store.
pub struct MemoryKv {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    /// Most keys one shard holds; the total bound divided evenly.
    max_keys_per_shard: usize,
    channels: Mutex<HashMap<String, broadcast::Sender<Vec<u8>>>>,
    indexes: Mutex<HashMap<String, Index>>,
}

/// A sorted index: each member's score, and the members in score order.
struct Index {
    scores: HashMap<String, i64>,
    order: BTreeSet<(i64, String)>,
    expires_at: Instant,
}

#[derive(Default)]
struct Shard {
    entries: HashMap<String, Entry>,
    /// Every entry's (expiry, key), so the soonest to expire is first.
    by_expiry: BTreeSet<(Instant, String)>,
    /// The same for the entries that may be evicted: all but the guard keys.
    evictable: BTreeSet<(Instant, String)>,
}

struct Entry {
    value: Vec<u8>,
    expires_at: Instant,
}

impl MemoryKv {
    /// An empty store holding at most about `max_keys` keys.
    pub fn new(max_keys: usize) -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect();
        MemoryKv {
            shards,
            hasher: RandomState::new(),
            max_keys_per_shard: max_keys.div_ceil(SHARDS).max(1),
            channels: Mutex::new(HashMap::new()),
            indexes: Mutex::new(HashMap::new()),
        }
    }

    /// Keys held now, expired ones not yet dropped included.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).entries.len()).sum()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, Shard> {
        // The remainder is below SHARDS, so it fits a usize and indexes a shard that exists.
        let index = usize::try_from(self.hasher.hash_one(key) % SHARDS as u64).unwrap_or(0);
        lock(&self.shards[index])
    }
}

/// A poisoned lock only means another thread panicked while holding it; every critical section
/// here leaves the shard consistent at each step, so the data is still sound.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shard {
    fn live(&self, key: &str, now: Instant) -> Option<&Entry> {
        self.entries.get(key).filter(|e| e.expires_at > now)
    }

    fn remove(&mut self, key: &str) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        let slot = (entry.expires_at, key.to_owned());
        self.by_expiry.remove(&slot);
        self.evictable.remove(&slot);
        Some(entry)
    }

    fn drop_expired(&mut self, now: Instant) {
        while let Some((at, _)) = self.by_expiry.first() {
            if *at > now {
                break;
            }
            if let Some((at, key)) = self.by_expiry.pop_first() {
                self.entries.remove(&key);
                self.evictable.remove(&(at, key));
            }
        }
    }

    /// Stores an entry, evicting the soonest-to-expire key that is not a guard key when the
    /// shard is full; refuses it when only guard keys are left to evict.
    fn insert(&mut self, key: &str, entry: Entry, now: Instant, max_keys: usize) -> Result<(), KvError> {
        self.drop_expired(now);
        if self.remove(key).is_none() && self.entries.len() >= max_keys {
            let Some((at, evicted)) = self.evictable.pop_first() else {
                tracing::error!(
                    "memory KV is full of keys it must not evict (tries, used codes, rate limits)"
                );
                return Err(KvError::Unavailable(anyhow::anyhow!(
                    "the in-memory KV is full of keys it must not evict: try again once some expire"
                )));
            };
            self.entries.remove(&evicted);
            self.by_expiry.remove(&(at, evicted));
            tracing::warn!("memory KV is full; evicted the key nearest to expiry");
        }
        let slot = (entry.expires_at, key.to_owned());
        if !super::is_guard(key) {
            self.evictable.insert(slot.clone());
        }
        self.by_expiry.insert(slot);
        self.entries.insert(key.to_owned(), entry);
        Ok(())
    }
}

#[async_trait]
impl Kv for MemoryKv {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> Result<(), KvError> {
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let now = Instant::now();
        Ok(self.shard(key).live(key, now).map(|e| e.value.clone()))
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), KvError> {
        check_ttl(ttl)?;
        let now = Instant::now();
        let entry = Entry { value: value.to_vec(), expires_at: now + ttl };
        self.shard(key).insert(key, entry, now, self.max_keys_per_shard)
    }

    async fn set_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, KvError> {
        check_ttl(ttl)?;
        let now = Instant::now();
        let mut shard = self.shard(key);
        if shard.live(key, now).is_some() {
            return Ok(false);
        }
        let entry = Entry { value: value.to_vec(), expires_at: now + ttl };
        shard.insert(key, entry, now, self.max_keys_per_shard)?;
        Ok(true)
    }

    async fn increment(&self, key: &str, by: i64, ttl: Duration) -> Result<i64, KvError> {
        check_ttl(ttl)?;
        let now = Instant::now();
        let mut shard = self.shard(key);
        let (current, expires_at) = match shard.live(key, now) {
            Some(entry) => {
                let text = std::str::from_utf8(&entry.value).map_err(|_| KvError::WrongType("an integer"))?;
                let n: i64 = text.parse().map_err(|_| KvError::WrongType("an integer"))?;
                (n, entry.expires_at)
            }
            None => (0, now + ttl),
        };
        let next = current.checked_add(by).ok_or(KvError::WrongType("an integer in range"))?;
        let entry = Entry { value: next.to_string().into_bytes(), expires_at };
        shard.insert(key, entry, now, self.max_keys_per_shard)?;
        Ok(next)
    }

    async fn get_and_delete(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let now = Instant::now();
        let entry = self.shard(key).remove(key);
        Ok(entry.filter(|e| e.expires_at > now).map(|e| e.value))
    }

    async fn delete(&self, key: &str) -> Result<bool, KvError> {
        let now = Instant::now();
        let entry = self.shard(key).remove(key);
        Ok(entry.is_some_and(|e| e.expires_at > now))
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>, KvError> {
        let now = Instant::now();
        Ok(self.shard(key).live(key, now).map(|e| e.expires_at - now))
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: &[u8],
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, KvError> {
        check_ttl(ttl)?;
        let now = Instant::now();
        let mut shard = self.shard(key);
        if shard.live(key, now).is_none_or(|e| e.value != expected) {
            return Ok(false);
        }
        let entry = Entry { value: value.to_vec(), expires_at: now + ttl };
        shard.insert(key, entry, now, self.max_keys_per_shard)?;
        Ok(true)
    }

    async fn index_add(&self, index: &str, member: &str, score: i64, ttl: Duration) -> Result<(), KvError> {
        check_ttl(ttl)?;
        let now = Instant::now();
        let mut indexes = lock(&self.indexes);
        let entry = indexes.entry(index.to_owned()).or_insert_with(|| Index {
            scores: HashMap::new(),
            order: BTreeSet::new(),
            expires_at: now,
        });
        if entry.expires_at <= now {
            entry.scores.clear();
            entry.order.clear();
        }
        entry.expires_at = now + ttl;
        if let Some(old) = entry.scores.insert(member.to_owned(), score) {
            entry.order.remove(&(old, member.to_owned()));
        }
        entry.order.insert((score, member.to_owned()));
        Ok(())
    }

    async fn index_due(&self, index: &str, max: i64, limit: usize) -> Result<Vec<(String, i64)>, KvError> {
        let now = Instant::now();
        let indexes = lock(&self.indexes);
        let Some(entry) = indexes.get(index).filter(|i| i.expires_at > now) else { return Ok(Vec::new()) };
        Ok(entry
            .order
            .iter()
            .take_while(|(score, _)| *score <= max)
            .take(limit)
            .map(|(score, member)| (member.clone(), *score))
            .collect())
    }

    async fn index_remove(&self, index: &str, member: &str, max: i64) -> Result<bool, KvError> {
        let now = Instant::now();
        let mut indexes = lock(&self.indexes);
        let Some(entry) = indexes.get_mut(index).filter(|i| i.expires_at > now) else { return Ok(false) };
        match entry.scores.get(member) {
            Some(&score) if score <= max => {
                entry.scores.remove(member);
                entry.order.remove(&(score, member.to_owned()));
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn sweep(&self) -> Result<u64, KvError> {
        let now = Instant::now();
        let mut dropped = 0;
        for shard in &self.shards {
            let mut shard = lock(shard);
            let before = shard.entries.len();
            shard.drop_expired(now);
            dropped += before - shard.entries.len();
        }
        let mut indexes = lock(&self.indexes);
        let before = indexes.len();
        indexes.retain(|_, index| index.expires_at > now);
        dropped += before - indexes.len();
        lock(&self.channels).retain(|_, sender| sender.receiver_count() > 0);
        Ok(u64::try_from(dropped).unwrap_or(u64::MAX))
    }

    async fn publish(&self, channel: &str, message: &[u8]) -> Result<(), KvError> {
        let mut channels = lock(&self.channels);
        // A failed send means nobody listens any more: forget the channel so the map stays small.
        if let Some(sender) = channels.get(channel)
            && sender.send(message.to_vec()).is_err()
        {
            channels.remove(channel);
        }
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<Subscription, KvError> {
        let mut channels = lock(&self.channels);
        channels.retain(|_, sender| sender.receiver_count() > 0);
        let receiver = channels
            .entry(channel.to_owned())
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe();
        let messages = BroadcastStream::new(receiver).filter_map(|item| match item {
            Ok(message) => Some(message),
            Err(lagged) => {
                tracing::warn!(error = %lagged, "a KV subscriber fell behind and missed messages");
                None
            }
        });
        Ok(Subscription::new(messages))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_key_expires_when_its_ttl_runs_out() {
        let kv = MemoryKv::new(100);
        kv.set("otp", b"123", Duration::from_secs(300)).await.unwrap();
        tokio::time::advance(Duration::from_secs(299)).await;
        assert_eq!(kv.get("otp").await.unwrap().as_deref(), Some(&b"123"[..]));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(kv.get("otp").await.unwrap(), None);
        assert_eq!(kv.ttl("otp").await.unwrap(), None);
        assert!(!kv.delete("otp").await.unwrap(), "an expired key does not count as deleted");
    }

    #[tokio::test(start_paused = true)]
    async fn expired_keys_are_dropped_by_later_writes() {
        let kv = MemoryKv::new(10_000);
        for i in 0..1000 {
            kv.set(&format!("session:{i}"), b"x", Duration::from_secs(60)).await.unwrap();
        }
        tokio::time::advance(Duration::from_secs(61)).await;
        // Writes to every shard sweep what expired there.
        for i in 0..200 {
            kv.set(&format!("fresh:{i}"), b"y", Duration::from_secs(60)).await.unwrap();
        }
        assert_eq!(kv.len(), 200);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_store_evicts_the_key_nearest_to_expiry_and_stays_bounded() {
        let kv = MemoryKv::new(SHARDS * 4);
        kv.set("soonest", b"x", Duration::from_secs(1)).await.unwrap();
        for i in 0..10_000 {
            kv.set(&format!("k{i}"), b"v", Duration::from_secs(3600)).await.unwrap();
        }
        assert!(kv.len() <= SHARDS * 4, "holds {} keys", kv.len());
        assert_eq!(kv.get("soonest").await.unwrap(), None);
        assert!(kv.get("k9999").await.unwrap().is_some(), "the newest key survives");
    }

    /// A flood of ordinary keys (sessions) fills the store: the guard keys (a code's tries,
    /// a used code, a rate counter) are never the ones evicted, even when they expire first;
    /// once only they are left, a new key is refused rather than one of them dropped.
    #[tokio::test(start_paused = true)]
    async fn a_full_store_never_evicts_a_guard_key() {
        let kv = MemoryKv::new(SHARDS * 4);
        let guards = [
            "bank:code_tries:7",
            "bank:totp_used:7:123456",
            "rate:customer:wa:1:99",
            "admin_login_failures:x:ip",
        ];
        for guard in guards {
            kv.set(guard, b"3", Duration::from_secs(1)).await.unwrap();
        }
        for i in 0..10_000 {
            kv.set(&format!("session:{i}"), b"v", Duration::from_secs(3600)).await.unwrap();
        }
        assert!(kv.len() <= SHARDS * 4, "still bounded: {} keys", kv.len());
        for guard in guards {
            assert_eq!(kv.get(guard).await.unwrap().as_deref(), Some(&b"3"[..]), "{guard} survived");
        }
        // One key per shard: once every shard holds a guard key, nothing is evicted for a new
        // key; it is refused as unavailable (retried once some expire).
        let tiny = MemoryKv::new(SHARDS);
        let mut kept = Vec::new();
        for n in 0..400 {
            let key = format!("rate:x:{n}");
            if tiny.set(&key, b"1", Duration::from_secs(60)).await.is_ok() {
                kept.push(key);
            }
        }
        assert_eq!(kept.len(), SHARDS, "one guard key per shard, the rest refused");
        let refused = tiny.set("session:late", b"v", Duration::from_secs(60)).await;
        assert!(matches!(refused, Err(KvError::Unavailable(_))), "{refused:?}");
        for key in &kept {
            assert!(tiny.get(key).await.unwrap().is_some(), "{key} was evicted");
        }
        tokio::time::advance(Duration::from_secs(61)).await;
        tiny.set("session:late", b"v", Duration::from_secs(60)).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_counter_keeps_the_ttl_of_its_first_increment() {
        let kv = MemoryKv::new(100);
        assert_eq!(kv.increment("pin-tries", 1, Duration::from_secs(900)).await.unwrap(), 1);
        tokio::time::advance(Duration::from_secs(600)).await;
        assert_eq!(kv.increment("pin-tries", 1, Duration::from_secs(900)).await.unwrap(), 2);
        tokio::time::advance(Duration::from_secs(300)).await;
        assert_eq!(kv.get("pin-tries").await.unwrap(), None, "the window closed 900 s after it opened");
        assert_eq!(kv.increment("pin-tries", 1, Duration::from_secs(900)).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn channels_nobody_listens_to_are_forgotten() {
        let kv = MemoryKv::new(100);
        for i in 0..100 {
            let sub = kv.subscribe(&format!("ch{i}")).await.unwrap();
            drop(sub);
        }
        kv.subscribe("live").await.unwrap();
        assert!(lock(&kv.channels).len() <= 2);
    }
}
