//! argon2id within a memory budget: PIN and password hashes, computed and checked.
//!
//! One argon2id check takes about 19 MiB and tens of milliseconds of CPU by design, so an
//! unauthenticated client that can trigger checks (a login form, a PIN typed into chat) could
//! otherwise exhaust memory by asking for many at once. A [`Hasher`] runs at most as many
//! checks at a time as its memory budget holds, each in a buffer of its own that is kept and
//! reused (so the allocator never grows per-thread arenas around 19 MiB allocations), on the
//! blocking pool. A short queue waits for a turn; beyond it, or after a short wait, a check is
//! refused with [`HashError::Busy`], which HTTP answers 503 with `Retry-After` and the
//! dispatcher retries within seconds. No caller holds a SQL transaction or lock while it waits
//! or hashes.
//!
//! A leaf: imports nothing of teller.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// The memory one check takes with teller's parameters (argon2's defaults: m = 19 MiB).
pub const CHECK_BYTES: usize = Params::DEFAULT_M_COST as usize * 1024;
/// Checks that may wait for a turn, per check that may run.
const QUEUE_PER_PERMIT: usize = 4;
/// The longest a check waits for its turn before it is refused.
const WAIT: Duration = Duration::from_secs(2);

/// A check could not be made now, or at all.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Too many checks are running or waiting: refused so memory stays bounded. Retry shortly.
    #[error("too many PIN or password checks at once: try again in a moment")]
    Busy,
    /// The hashing task failed (a bug).
    #[error("hashing failed: {0}")]
    Failed(String),
}

/// Runs argon2id checks, at most as many at a time as its memory budget holds.
pub struct Hasher {
    permits: Semaphore,
    /// How many may run at once (the semaphore's size).
    concurrent: usize,
    /// Checks waiting for a turn now.
    waiting: AtomicUsize,
    /// Memory buffers kept between checks: at most one per check that may run.
    buffers: Mutex<Vec<Vec<Block>>>,
    /// Hashes computed so far (made or checked).
    computed: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher").field("concurrent", &self.concurrent).finish_non_exhaustive()
    }
}

impl Default for Hasher {
    /// A hasher for 64 MiB: three checks at a time.
    fn default() -> Self {
        Hasher::within(64 * 1024 * 1024)
    }
}

impl Hasher {
    /// A hasher that never holds more than `budget` bytes of argon2 memory (at least one check).
    pub fn within(budget: usize) -> Hasher {
        let concurrent = (budget / CHECK_BYTES).max(1);
        Hasher {
            permits: Semaphore::new(concurrent),
            concurrent,
            waiting: AtomicUsize::new(0),
            buffers: Mutex::new(Vec::new()),
            computed: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many checks run at once at most.
    pub fn concurrent(&self) -> usize {
        self.concurrent
    }

    /// How many hashes were computed so far (made or checked).
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// The argon2id hash of `secret` (a PHC string with its own salt).
    pub async fn hash(&self, secret: String) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        let salt_text = salt.as_str().to_owned();
        let params = Params::default();
        let output = self
            .compute(secret, salt_text.clone(), params.clone(), Params::DEFAULT_OUTPUT_LEN)
            .await?
            .ok_or_else(|| HashError::Failed("argon2 refused its own parameters".into()))?;
        let hash =
            argon2::password_hash::Output::new(&output).map_err(|e| HashError::Failed(e.to_string()))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: (&params)
                .try_into()
                .map_err(|e: argon2::password_hash::Error| HashError::Failed(e.to_string()))?,
            salt: Some(salt.as_salt()),
            hash: Some(hash),
        };
        Ok(phc.to_string())
    }

    /// Whether `secret` matches the PHC string `phc`. A hash that cannot be read, or that asks
    /// for more memory than one check may take, matches nothing.
    pub async fn matches(&self, secret: String, phc: String) -> Result<bool, HashError> {
        let Some((params, salt, expected)) = parse(&phc) else { return Ok(false) };
        let output = self.compute(secret, salt, params, expected.len()).await?;
        Ok(output.is_some_and(|output| bool::from(output.as_slice().ct_eq(&expected))))
    }

    /// argon2id of `secret` with `params` and the base64 `salt`, `len` bytes long, in a buffer
    /// of the pool; `None` when argon2 refuses the inputs.
    async fn compute(
        &self,
        secret: String,
        salt: String,
        params: Params,
        len: usize,
    ) -> Result<Option<Vec<u8>>, HashError> {
        if params.block_count() * std::mem::size_of::<Block>() > CHECK_BYTES {
            return Ok(None);
        }
        let _permit = self.turn().await?;
        self.computed.fetch_add(1, Ordering::Relaxed);
        let mut blocks = self.buffer();
        let result = tokio::task::spawn_blocking(move || {
            let mut salt_bytes = [0u8; 64];
            let salt = argon2::password_hash::Salt::from_b64(&salt)
                .and_then(|s| s.decode_b64(&mut salt_bytes).map(<[u8]>::to_vec));
            let output = salt.ok().and_then(|salt| {
                let mut out = vec![0u8; len];
                Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                    .hash_password_into_with_memory(secret.as_bytes(), &salt, &mut out, &mut blocks[..])
                    .ok()
                    .map(|()| out)
            });
            (output, blocks)
        })
        .await;
        match result {
            Ok((output, blocks)) => {
                self.give_back(blocks);
                Ok(output)
            }
            Err(e) => Err(HashError::Failed(e.to_string())),
        }
    }

    /// Waits for a turn, within the queue's length and [`WAIT`].
    async fn turn(&self) -> Result<tokio::sync::SemaphorePermit<'_>, HashError> {
        if let Ok(permit) = self.permits.try_acquire() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.concurrent * QUEUE_PER_PERMIT {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(HashError::Busy);
        }
        let permit = tokio::time::timeout(WAIT, self.permits.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match permit {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(HashError::Busy),
        }
    }

    /// A kept buffer, or a new one (there are never more than checks that may run).
    fn buffer(&self) -> Vec<Block> {
        let kept = self.buffers.lock().ok().and_then(|mut b| b.pop());
        kept.unwrap_or_else(|| vec![Block::default(); CHECK_BYTES / std::mem::size_of::<Block>()])
    }

    fn give_back(&self, blocks: Vec<Block>) {
        if let Ok(mut buffers) = self.buffers.lock()
            && buffers.len() < self.concurrent
        {
            buffers.push(blocks);
        }
    }
}

/// The parameters, base64 salt and expected output of an argon2id PHC string.
fn parse(phc: &str) -> Option<(Params, String, Vec<u8>)> {
    let parsed = PasswordHash::new(phc).ok()?;
    if Algorithm::try_from(parsed.algorithm).ok()? != Algorithm::Argon2id {
        return None;
    }
    let params = Params::try_from(&parsed).ok()?;
    let salt = parsed.salt?.as_str().to_owned();
    let expected = parsed.hash?.as_bytes().to_vec();
    Some((params, salt, expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_matches_only_its_secret_and_reads_as_standard_argon2id() {
        let hasher = Hasher::default();
        let hash = hasher.hash("4821".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(!hash.contains("4821"));
        assert!(hasher.matches("4821".into(), hash.clone()).await.unwrap());
        assert!(!hasher.matches("4822".into(), hash.clone()).await.unwrap());
        assert!(!hasher.matches("4821".into(), "garbage".into()).await.unwrap());
        // The argon2 crate's own verifier agrees, so hashes made before stay valid.
        use argon2::password_hash::PasswordVerifier;
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default().verify_password(b"4821", &parsed).is_ok());
    }

    #[tokio::test]
    async fn hashes_made_by_the_argon2_crate_are_checked() {
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let hash = Argon2::default().hash_password(b"correct horse", &salt).unwrap().to_string();
        let hasher = Hasher::within(1);
        assert_eq!(hasher.concurrent(), 1, "a budget below one check still allows one");
        assert!(hasher.matches("correct horse".into(), hash.clone()).await.unwrap());
        assert!(!hasher.matches("wrong horse".into(), hash).await.unwrap());
    }

    #[tokio::test]
    async fn a_hash_asking_for_more_memory_than_a_check_may_take_matches_nothing() {
        let greedy = "$argon2id$v=19$m=1048576,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8Cq0bVrAsJ3GPQR3vmR0cZxKv3pCl7xzT0rS3Xl4Jm8";
        assert!(!Hasher::default().matches("x".into(), greedy.into()).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn beyond_the_queue_checks_are_refused_not_queued_without_bound() {
        let hasher = std::sync::Arc::new(Hasher::within(CHECK_BYTES));
        let hash = hasher.hash("4821".into()).await.unwrap();
        let checks: Vec<_> = (0..40)
            .map(|_| {
                let (hasher, hash) = (hasher.clone(), hash.clone());
                tokio::spawn(async move { hasher.matches("4821".into(), hash).await })
            })
            .collect();
        let mut busy = 0;
        for check in checks {
            match check.await.unwrap() {
                Ok(matched) => assert!(matched),
                Err(HashError::Busy) => busy += 1,
                Err(other) => panic!("{other}"),
            }
        }
        assert!(busy >= 40 - 1 - QUEUE_PER_PERMIT, "only one runs and four wait: {busy} refused");
        assert!(hasher.buffers.lock().unwrap().len() <= 1, "no more buffers than checks at once");
    }
}
