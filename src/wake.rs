//! A queue's wake-up: what tells its workers that work was queued, how often it did, and for
//! which customers.
//!
//! The count and the names are what let a worker that finished a round decide, without asking
//! the database, whether it must look again: work queued while its round ran, for a customer
//! the round held, was passed over as busy by any worker woken meanwhile (see
//! [`crate::rounds`]). Work queued for anyone else was found by the worker its wake-up woke.
//!
//! A signal names each piece of work as well as its customer, and a round says which pieces its
//! claim took: a claim can take work committed after its round began, before that work's signal
//! is counted. Such a signal then wakes nobody, and sends no round round again: at 1,000
//! messages a second, that race cost a third of an empty claim a message (BENCHMARKS.md,
//! fifteenth session).
//!
//! Imports: only the leaves.

use std::collections::{HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;
use tokio::sync::futures::Notified;

/// How many names of the latest signals, and of the latest work claimed, are kept. A round that
/// began before the oldest name kept looks again whatever it held, so this needs only to cover
/// the signals of a round's length: at 1,000 messages a second, a name each, a second of them.
/// A claim's work is looked for among the signals counted just after it, a commit apart.
const KEPT: usize = 1024;

/// A customer, or a piece of work, as a wake-up names them: its key, hashed. Two that share a
/// hash cost at most a round that finds nothing, or a piece of work found at the next poll, a
/// second later.
pub fn key(customer: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    customer.hash(&mut hasher);
    hasher.finish()
}

/// What a signal names: the customer work was queued for, and the work (an inbound message's
/// id; for a reply, the id of the message it answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name {
    /// The customer's ordering key ([`key`]).
    pub customer: u64,
    /// The work's id ([`key`]).
    pub work: u64,
}

impl Name {
    /// `work` queued for `customer`.
    pub fn of(customer: &str, work: &str) -> Name {
        Name { customer: key(customer), work: key(work) }
    }
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
    /// What the latest signals named, each with its signal's number, oldest first; `None` for a
    /// signal that named nobody (it concerns every round).
    named: VecDeque<(u64, Option<Name>)>,
    /// The latest signal some of whose names are no longer kept.
    forgotten: u64,
    /// Every signal up to this one was counted before a round began whose claim saw its work
    /// (0 after a round failed: its claim may not have run).
    seen: u64,
    /// A worker was nudged: the next one woken runs its round whatever was seen.
    nudged: bool,
    /// The work the latest claims took ([`Name::work`]), and the same, oldest first.
    taken: HashSet<u64>,
    taken_in_order: VecDeque<u64>,
}

impl Recent {
    fn push(&mut self, name: Option<Name>) {
        if self.named.len() == KEPT
            && let Some((signal, _)) = self.named.pop_front()
        {
            self.forgotten = signal;
        }
        self.named.push_back((self.signals, name));
    }

    fn take(&mut self, work: u64) {
        if self.taken.insert(work) {
            if self.taken_in_order.len() == KEPT
                && let Some(oldest) = self.taken_in_order.pop_front()
            {
                self.taken.remove(&oldest);
            }
            self.taken_in_order.push_back(work);
        }
    }

    /// Whether `name`'s work waits for a claim: it named nobody, or a claim has not taken it.
    fn waiting(&self, name: Option<Name>) -> bool {
        name.is_none_or(|name| !self.taken.contains(&name.work))
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

    /// Work was queued, as `names` say (none is as [`Wake::signal`]): counts it, and wakes one
    /// waiting worker, or the next to wait. Work a claim took already is left out, and a signal
    /// whose every piece was taken is not a signal: the round that took them handles them.
    pub fn signal_for(&self, names: &[Name]) {
        {
            // Counted and named before the wake, so a worker woken by it never reads the
            // count without it.
            let mut recent = self.recent();
            let waiting: Vec<Name> =
                names.iter().copied().filter(|name| recent.waiting(Some(*name))).collect();
            if waiting.is_empty() && !names.is_empty() {
                return;
            }
            recent.signals += 1;
            if waiting.is_empty() {
                recent.push(None);
            }
            for name in waiting {
                recent.push(Some(name));
            }
        }
        self.notify.notify_one();
    }

    /// A round's claim took this work ([`Name::work`]s): a signal for it, counted before or
    /// after, is for work in hand.
    pub fn took(&self, works: impl IntoIterator<Item = u64>) {
        let mut recent = self.recent();
        for work in works {
            recent.take(work);
        }
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
    /// round's claim or is for work a claim took, and no worker was nudged since. A signal's
    /// work is then claimed, or held by a round that looks again for it ([`Wake::concerns`]),
    /// or behind a claimed message that says so.
    pub fn woken_for_nothing(&self) -> bool {
        let mut recent = self.recent();
        if std::mem::take(&mut recent.nudged) {
            return false;
        }
        if recent.signals <= recent.seen {
            return true;
        }
        let seen = recent.seen;
        recent.forgotten <= seen
            && recent
                .named
                .iter()
                .rev()
                .take_while(|(signal, _)| *signal > seen)
                .all(|(_, name)| !recent.waiting(*name))
    }

    /// The signals so far.
    pub fn signals(&self) -> u64 {
        self.recent().signals
    }

    /// Whether a signal after the first `since` may be for one of `held` (customers, [`key`]s):
    /// it named work for one of them that no claim took, or named nobody, or its names are no
    /// longer kept.
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
            .any(|(_, name)| recent.waiting(*name) && name.is_none_or(|name| held.contains(&name.customer)))
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
        wake.signal_for(&[Name::of("wa:2348011111111", "wamid.1"), Name::of("wa:2348022222222", "wamid.2")]);
        let since = wake.signals();
        wake.signal_for(&[Name::of("wa:2348033333333", "wamid.3")]);
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
        wake.signal_for(&[Name::of("wa:2348011111111", "wamid.1")]);
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
        let ada = key("wa:2348011111111");
        let bayo = |n: usize| Name::of("wa:2348022222222", &format!("wamid.{n}"));
        wake.signal_for(&[Name::of("wa:2348011111111", "wamid.ada")]);
        let since = wake.signals();
        for n in 0..KEPT {
            wake.signal_for(&[bayo(n)]);
        }
        assert!(!wake.concerns(since, &[ada]), "every name since is still kept");
        wake.signal_for(&[bayo(KEPT)]);
        assert!(wake.concerns(since, &[ada]), "the first name after `since` is forgotten");
        assert!(!wake.concerns(since + 1, &[ada]), "a later round's signals are all kept");
    }

    #[tokio::test(start_paused = true)]
    async fn a_signal_for_work_a_claim_took_already_is_no_signal() {
        let wake = Wake::default();
        let (first, second) =
            (Name::of("wa:2348011111111", "wamid.1"), Name::of("wa:2348022222222", "wamid.2"));
        wake.took([first.work]);
        wake.signal_for(&[first]);
        assert_eq!(wake.signals(), 0, "not counted");
        let woken = tokio::time::timeout(Duration::from_secs(1), wake.notified()).await;
        assert!(woken.is_err(), "nobody woken");
        // A signal for both counts, and names only the work still waiting.
        wake.signal_for(&[first, second]);
        assert_eq!(wake.signals(), 1);
        assert!(!wake.concerns(0, &[first.customer]), "the taken work is not named");
        assert!(wake.concerns(0, &[second.customer]));
    }

    #[test]
    fn a_worker_woken_for_work_a_claim_took_after_its_signal_has_nothing_to_look_for() {
        let wake = Wake::default();
        let (first, second) =
            (Name::of("wa:2348011111111", "wamid.1"), Name::of("wa:2348022222222", "wamid.2"));
        wake.round_begins();
        // Committed after the round began, counted after its claim took it.
        wake.signal_for(&[first]);
        assert!(!wake.woken_for_nothing(), "not yet taken");
        wake.took([first.work]);
        assert!(wake.woken_for_nothing(), "the claim has it");
        assert!(!wake.concerns(0, &[first.customer]), "nor does the round that took it look again");
        wake.signal_for(&[second]);
        assert!(!wake.woken_for_nothing(), "other work waits");
        wake.took([second.work]);
        wake.signal();
        assert!(!wake.woken_for_nothing(), "a signal naming nobody may be for anything");
    }

    #[test]
    fn the_work_taken_is_kept_to_a_bound() {
        let wake = Wake::default();
        let name = |n: usize| Name::of("wa:2348011111111", &format!("wamid.{n}"));
        wake.took((0..=KEPT).map(|n| name(n).work));
        wake.signal_for(&[name(KEPT)]);
        assert_eq!(wake.signals(), 0, "the latest is kept");
        wake.signal_for(&[name(0)]);
        assert_eq!(wake.signals(), 1, "the oldest is forgotten, and its signal counts");
        let recent = wake.recent();
        assert_eq!((recent.taken.len(), recent.taken_in_order.len()), (KEPT, KEPT));
    }
}
