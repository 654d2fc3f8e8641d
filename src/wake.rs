//! A queue's wake-up: what tells its workers that work was queued, how often it did, and for
//! which customers.
//!
//! The count and the names are what let a worker that finished a round decide, without asking
//! the database, whether it must look again: work queued while its round ran, for a customer
//! the round held, was passed over as busy by any worker woken meanwhile (see
//! [`crate::rounds`]). Work queued for anyone else was found by the worker its wake-up woke.
//!
//! Imports: only the leaves.

use std::collections::VecDeque;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;
use tokio::sync::futures::Notified;

/// How many names of the latest signals are kept. A round that began before the oldest kept
/// looks again whatever it held, so this needs only to cover the signals of a round's length:
/// at 1,000 messages a second, a name each, a second of them.
const KEPT: usize = 1024;

/// A customer as a wake-up names them: their ordering key, hashed. Two customers who share a
/// hash cost at most a round that finds nothing.
pub fn key(customer: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    customer.hash(&mut hasher);
    hasher.finish()
}

/// Wakes a queue's workers when work was queued, and keeps, for the latest signals, whom they
/// were for.
pub struct Wake {
    notify: Notify,
    recent: Mutex<Recent>,
    /// Names this wake-up where it is relayed between instances, so that an instance can tell
    /// its own wake-ups coming back from the others'.
    origin: String,
}

/// The latest signals.
#[derive(Default)]
struct Recent {
    /// The signals so far; each signal's number is the count with it.
    signals: u64,
    /// The customers the latest signals named, each with its signal's number, oldest first;
    /// `None` for a signal that named nobody (it concerns every round).
    named: VecDeque<(u64, Option<u64>)>,
    /// The latest signal some of whose names are no longer kept.
    forgotten: u64,
    /// Every signal up to this one was counted before a round began whose claim saw its work
    /// (0 after a round failed: its claim may not have run).
    seen: u64,
    /// A worker was nudged: the next one woken runs its round whatever was seen.
    nudged: bool,
}

impl Recent {
    fn push(&mut self, name: Option<u64>) {
        if self.named.len() == KEPT
            && let Some((signal, _)) = self.named.pop_front()
        {
            self.forgotten = signal;
        }
        self.named.push_back((self.signals, name));
    }
}

impl Default for Wake {
    fn default() -> Self {
        Wake {
            notify: Notify::new(),
            recent: Mutex::new(Recent::default()),
            origin: uuid::Uuid::new_v4().simple().to_string(),
        }
    }
}

impl Wake {
    /// Work was queued for someone unknown (another instance's, a notice's): counts it, and
    /// wakes one waiting worker, or the next to wait. It concerns every round it came during.
    pub fn signal(&self) {
        self.signal_for(&[]);
    }

    /// Work was queued for `customers` ([`key`]s; none is as [`Wake::signal`]): counts it, and
    /// wakes one waiting worker, or the next to wait.
    pub fn signal_for(&self, customers: &[u64]) {
        {
            // Counted and named before the wake, so a worker woken by it never reads the
            // count without it.
            let mut recent = self.recent();
            recent.signals += 1;
            if customers.is_empty() {
                recent.push(None);
            }
            for &customer in customers {
                recent.push(Some(customer));
            }
        }
        self.notify.notify_one();
    }

    /// Wakes one waiting worker, or the next to wait, for work already counted but not
    /// claimed (what a full batch left, a customer a late send freed): no signal, so it concerns
    /// no round, and the worker woken runs its round even if every signal was seen.
    pub fn nudge(&self) {
        self.recent().nudged = true;
        self.notify.notify_one();
    }

    /// A round begins: its claim will see the work of every signal so far, which was committed
    /// before it was counted. Returns the signals so far.
    pub fn round_begins(&self) -> u64 {
        let mut recent = self.recent();
        recent.seen = recent.seen.max(recent.signals);
        recent.signals
    }

    /// A round failed, perhaps before its claim ran: no signal counts as seen.
    pub fn round_failed(&self) {
        self.recent().seen = 0;
    }

    /// Whether a worker just woken has nothing to look for: every signal so far was seen by a
    /// round's claim, and no worker was nudged since. A signal's work is then claimed, or held
    /// by a round that looks again for it ([`Wake::concerns`]), or behind a claimed message
    /// that says so.
    pub fn woken_for_nothing(&self) -> bool {
        let mut recent = self.recent();
        if std::mem::take(&mut recent.nudged) {
            return false;
        }
        recent.signals <= recent.seen
    }

    /// The signals so far.
    pub fn signals(&self) -> u64 {
        self.recent().signals
    }

    /// Whether a signal after the first `since` may be for one of `held`: it named one of
    /// them, or named nobody, or its names are no longer kept.
    pub fn concerns(&self, since: u64, held: &[u64]) -> bool {
        let recent = self.recent();
        if recent.signals == since {
            return false;
        }
        if recent.forgotten > since {
            return true;
        }
        recent
            .named
            .iter()
            .rev()
            .take_while(|(signal, _)| *signal > since)
            .any(|(_, name)| name.is_none_or(|name| held.contains(&name)))
    }

    /// Resolves at the next signal, or at once for a signal that found no worker waiting.
    pub fn notified(&self) -> Notified<'_> {
        self.notify.notified()
    }

    /// This wake-up's name among instances.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    fn recent(&self) -> MutexGuard<'_, Recent> {
        // The lock guards plain counts and names, each push complete: usable after a panic.
        self.recent.lock().unwrap_or_else(PoisonError::into_inner)
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

    #[test]
    fn a_signal_concerns_the_rounds_that_held_whom_it_named() {
        let wake = Wake::default();
        let (ada, bayo, chidi) = (key("wa:2348011111111"), key("wa:2348022222222"), key("wa:2348033333333"));
        assert!(!wake.concerns(0, &[ada]), "no signal at all");
        wake.signal_for(&[ada, bayo]);
        let since = wake.signals();
        wake.signal_for(&[chidi]);
        assert!(wake.concerns(since, &[chidi, ada]), "named one it held");
        assert!(!wake.concerns(since, &[ada, bayo]), "named only others");
        assert!(wake.concerns(0, &[bayo]), "a signal before `since` is not looked past");
        assert!(!wake.concerns(wake.signals(), &[chidi]), "nothing since");
        let since = wake.signals();
        wake.signal();
        assert!(wake.concerns(since, &[ada]), "a signal naming nobody concerns every round");
    }

    #[test]
    fn a_worker_woken_for_work_a_rounds_claim_saw_has_nothing_to_look_for() {
        let wake = Wake::default();
        wake.signal();
        assert!(!wake.woken_for_nothing(), "no round has begun since the signal");
        assert_eq!(wake.round_begins(), 1);
        assert!(wake.woken_for_nothing(), "the round's claim sees it");
        wake.signal_for(&[key("wa:2348011111111")]);
        assert!(!wake.woken_for_nothing(), "a signal after the round began");
        wake.round_begins();
        wake.nudge();
        assert!(!wake.woken_for_nothing(), "a nudged worker runs its round");
        assert!(wake.woken_for_nothing(), "once");
        wake.round_failed();
        assert!(!wake.woken_for_nothing(), "a failed round's claim may not have run");
    }

    #[test]
    fn a_round_older_than_the_names_kept_looks_again() {
        let wake = Wake::default();
        let (ada, bayo) = (key("wa:2348011111111"), key("wa:2348022222222"));
        wake.signal_for(&[ada]);
        let since = wake.signals();
        for _ in 0..KEPT {
            wake.signal_for(&[bayo]);
        }
        assert!(!wake.concerns(since, &[ada]), "every name since is still kept");
        wake.signal_for(&[bayo]);
        assert!(wake.concerns(since, &[ada]), "the first name after `since` is forgotten");
        assert!(!wake.concerns(since + 1, &[ada]), "a later round's signals are all kept");
    }
}
