//! A queue's wake-up: what tells its workers that work was queued, and how often it did.
//!
//! The count is what lets a worker that finished a round decide, without asking the database,
//! whether it must look again: work queued while its round ran may be behind a customer the
//! round held, which a worker woken meanwhile passed over as busy (see [`crate::rounds`]).
//!
//! Imports: only the leaves.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;
use tokio::sync::futures::Notified;

/// Wakes a queue's workers when work was queued, and counts the times it did.
pub struct Wake {
    notify: Notify,
    signals: AtomicU64,
    /// Names this wake-up where it is relayed between instances, so that an instance can tell
    /// its own wake-ups coming back from the others'.
    origin: String,
}

impl Default for Wake {
    fn default() -> Self {
        Wake {
            notify: Notify::new(),
            signals: AtomicU64::new(0),
            origin: uuid::Uuid::new_v4().simple().to_string(),
        }
    }
}

impl Wake {
    /// Work was queued: counts it, and wakes one waiting worker, or the next to wait.
    pub fn signal(&self) {
        // Counted before the wake, so a worker woken by it never reads the count without it.
        self.signals.fetch_add(1, Ordering::SeqCst);
        self.notify.notify_one();
    }

    /// The signals so far.
    pub fn signals(&self) -> u64 {
        self.signals.load(Ordering::SeqCst)
    }

    /// Resolves at the next signal, or at once for a signal that found no worker waiting.
    pub fn notified(&self) -> Notified<'_> {
        self.notify.notified()
    }

    /// This wake-up's name among instances.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_signal_is_counted_and_kept_for_the_next_worker_to_wait() {
        let wake = Wake::default();
        assert_eq!(wake.signals(), 0);
        wake.signal();
        assert_eq!(wake.signals(), 1);
        // Nobody was waiting: the next to wait is woken at once.
        tokio::time::timeout(Duration::from_secs(1), wake.notified())
            .await
            .expect("kept for the next waiter");
        assert_ne!(Wake::default().origin(), wake.origin(), "each wake-up has its own name");
    }
}
