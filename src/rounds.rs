//! The loop shared by the dispatcher and the sender: rounds of leased work, run by a few
//! concurrent workers, woken by a [`Wake`] or a poll.
//!
//! A worker goes again at once only when its round says more is waiting. Otherwise it looks
//! again only if work was queued while the round ran for a customer the round held. That is the
//! case a round cannot see: a customer's next message (or reply) queued after the round claimed
//! the one before it, whose wake-up went to a worker that passed over that customer as busy.
//! - Work queued after the round is done needs no such care: its wake-up comes after the
//!   round's record, so the worker it wakes finds the customer free.
//! - Nor does work queued during the round for a customer it did not hold: the worker its
//!   wake-up woke (or the next to wait, this one included) claims it, unless another round
//!   holds that customer, and then that round's own look covers it.
//! - Work queued before the round began was committed before its wake-up was counted, so the
//!   round's claim saw it: a claimed message says whether its customer has more behind it.
//! - Work a claim took before its wake-up was counted (committed after the round began, but
//!   before the claim ran) is in hand: the round tells the wake-up what its claim took
//!   ([`Wake::took`]), and a signal for that work wakes nobody and concerns no round.
//!
//! For the same reason a worker woken when every wake-up so far was counted before some round
//! began (and that round did not fail) has nothing to look for, and waits again: that round's
//! claim took the work, or found its customer held by a round that looks again for it, or left
//! it behind a full batch, whose worker goes again and nudges another.
//!
//! Imports: the store port's error and the leaves.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::watch;

use crate::store::StoreError;
use crate::wake::Wake;

/// The longest a worker waits after a failing round (a database or KV outage) before trying
/// again, unless woken: short, so that work resumes within seconds of the end of an outage
/// even when the wake-ups sent meanwhile were spent on rounds that still failed.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What one round found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Nothing to do: wait for a wake-up or the poll.
    Idle,
    /// Work done, none known to wait behind it: wait, unless work was queued meanwhile.
    Done,
    /// Work done, and more known to wait behind it (a customer's next message): go again.
    More,
    /// A full batch: go again, and wake another worker, since more is probably waiting.
    Full,
}

/// Runs `workers` concurrent loops of `round` until `stop` turns true. Each round returns its
/// progress and the customers it held ([`crate::wake::key`]s). A worker goes again at once
/// after a round that found more waiting, or that `wake` was signalled during for a customer it
/// held ([`Wake::concerns`]); else it waits for `wake` or `poll`. A failing round backs off up
/// to [`MAX_BACKOFF`]. A round in progress finishes before its worker stops.
pub async fn run<F, Fut>(
    what: &'static str,
    workers: usize,
    poll: Duration,
    wake: Arc<Wake>,
    stop: watch::Receiver<bool>,
    round: F,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(Progress, Vec<u64>), StoreError>>,
{
    let worker = |mut stop: watch::Receiver<bool>| {
        let (wake, round) = (wake.clone(), &round);
        async move {
            let mut backoff = poll;
            while !*stop.borrow() {
                let signals = wake.round_begins();
                match round().await {
                    Ok((Progress::Full, _)) => {
                        wake.nudge();
                        backoff = poll;
                        continue;
                    }
                    Ok((Progress::More, _)) => {
                        backoff = poll;
                        continue;
                    }
                    Ok((Progress::Done, held)) if wake.concerns(signals, &held) => {
                        backoff = poll;
                        continue;
                    }
                    Ok(_) => backoff = poll,
                    Err(err) => {
                        wake.round_failed();
                        tracing::warn!(error = format!("{err:#}"), "{what} round failed; backing off");
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
                let poll_at = tokio::time::sleep(backoff);
                tokio::pin!(poll_at);
                loop {
                    tokio::select! {
                        () = wake.notified() => if wake.woken_for_nothing() { continue },
                        () = &mut poll_at => {}
                        // A stop whose sender is gone cannot turn true: nobody is left to stop
                        // this worker, and waiting on it would spin.
                        changed = stop.changed() => if changed.is_err() { return },
                    }
                    break;
                }
            }
        }
    };
    join_all((0..workers.max(1)).map(|_| worker(stop.clone()))).await;
}

/// What one round of leased work did.
pub struct Worked<T> {
    /// Each claimed item's outcome, in the claim's order.
    pub outcomes: Vec<T>,
    /// Whether a claimed item's customer had more waiting behind it.
    pub more: bool,
    /// The customers the round held, as wake-ups name them ([`crate::wake::key`]).
    pub held: Vec<u64>,
}

impl<T> Worked<T> {
    /// A round that claimed nothing.
    pub fn nothing() -> Self {
        Worked { outcomes: Vec::new(), more: false, held: Vec::new() }
    }
}

/// The progress of a round that handled `done` items of a batch of `batch`, and found `more`
/// waiting behind them.
pub fn progress(done: usize, more: bool, batch: u32) -> Progress {
    match done {
        0 => Progress::Idle,
        n if u32::try_from(n).unwrap_or(u32::MAX) >= batch => Progress::Full,
        _ if more => Progress::More,
        _ => Progress::Done,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    use tokio::time::Instant;

    use super::*;
    use crate::wake::{Name, key};

    const POLL: Duration = Duration::from_secs(1);

    /// What a scripted round does while it runs.
    #[derive(Clone, Copy)]
    enum During {
        /// Nothing is queued.
        Quiet,
        /// Work is queued for the customer the round holds.
        ForHeld,
        /// Work is queued for another customer.
        ForOther,
        /// Work is queued for someone unknown.
        ForUnknown,
        /// Work is queued for the customer the round holds, and the round's claim takes it
        /// before its signal is counted.
        TakenThenSignalled,
        /// As `TakenThenSignalled`, but the signal is counted first.
        SignalledThenTaken,
    }

    /// Runs one worker through `script`'s rounds on tokio's paused clock (each round holds one
    /// customer, returns the next progress, and queues work as its `During` says), then stops.
    /// With `other_waiting`, another worker waits on the wake-up from the start. With
    /// `queued_before`, work was queued before the first round. Returns when each round started,
    /// from the first, and whether the other worker was woken.
    async fn starts_after(
        script: Vec<(Progress, During)>,
        other_waiting: bool,
        queued_before: bool,
    ) -> (Vec<Duration>, bool) {
        let wake = Arc::new(Wake::default());
        if queued_before {
            wake.signal();
        }
        let (held, other) = ("wa:2348011111111", "wa:2348022222222");
        let queued = std::sync::atomic::AtomicU32::new(0);
        let woken = Arc::new(AtomicBool::new(false));
        if other_waiting {
            let (wake, woken) = (wake.clone(), woken.clone());
            tokio::spawn(async move {
                wake.notified().await;
                woken.store(true, Ordering::SeqCst);
            });
            tokio::task::yield_now().await;
        }
        let (stop_tx, stop) = watch::channel(false);
        let started = Mutex::new(Vec::new());
        let script = Mutex::new(script.into_iter());
        let origin = Instant::now();
        run("test", 1, POLL, wake.clone(), stop, || {
            started.lock().unwrap().push(origin.elapsed());
            let next = script.lock().unwrap().next();
            let (wake, stop_tx) = (wake.clone(), &stop_tx);
            let work = format!("wamid.{}", queued.fetch_add(1, Ordering::SeqCst));
            async move {
                let Some((progress, during)) = next else {
                    stop_tx.send_replace(true);
                    return Ok((Progress::Idle, Vec::new()));
                };
                let (for_held, for_other) = (Name::of(held, &work), Name::of(other, &work));
                match during {
                    During::Quiet => {}
                    During::ForHeld => wake.signal_for(&[for_held]),
                    During::ForOther => wake.signal_for(&[for_other]),
                    During::ForUnknown => wake.signal(),
                    During::TakenThenSignalled => {
                        wake.took([for_held.work]);
                        wake.signal_for(&[for_held]);
                    }
                    During::SignalledThenTaken => {
                        wake.signal_for(&[for_held]);
                        wake.took([for_held.work]);
                    }
                }
                Ok((progress, vec![key(held)]))
            }
        })
        .await;
        (started.into_inner().unwrap(), woken.load(Ordering::SeqCst))
    }

    async fn starts(script: Vec<(Progress, During)>, other_waiting: bool) -> (Vec<Duration>, bool) {
        starts_after(script, other_waiting, false).await
    }

    #[tokio::test(start_paused = true)]
    async fn a_round_that_found_more_goes_again_at_once_and_one_that_did_not_waits() {
        let zero = Duration::ZERO;
        // More, then Done: the second round at once, the third only at the poll.
        let (starts_at, _) =
            starts(vec![(Progress::More, During::Quiet), (Progress::Done, During::Quiet)], false).await;
        assert_eq!(starts_at, vec![zero, zero, POLL]);
        // A full batch goes again at once too, and wakes another worker.
        let (starts_at, woken) =
            starts(vec![(Progress::Full, During::Quiet), (Progress::Idle, During::Quiet)], true).await;
        assert_eq!(starts_at[..2], [zero, zero]);
        assert!(woken, "a full batch wakes another worker");
    }

    #[tokio::test(start_paused = true)]
    async fn a_round_that_work_was_queued_during_for_its_customers_goes_again_at_once() {
        let zero = Duration::ZERO;
        // Even with another worker woken by it: that worker passed the held customer over.
        for during in [During::ForHeld, During::ForUnknown] {
            let (starts_at, woken) =
                starts(vec![(Progress::Done, during), (Progress::Idle, During::Quiet)], true).await;
            assert_eq!(starts_at[..2], [zero, zero]);
            assert!(woken);
        }
        // An empty round that a signal came during waits for nothing either: the signal is kept.
        let (starts_at, _) =
            starts(vec![(Progress::Idle, During::ForHeld), (Progress::Idle, During::Quiet)], false).await;
        assert_eq!(starts_at[..2], [zero, zero]);
    }

    #[tokio::test(start_paused = true)]
    async fn work_queued_during_a_round_for_another_customer_is_left_to_the_worker_it_woke() {
        let zero = Duration::ZERO;
        let script = vec![(Progress::Done, During::ForOther), (Progress::Idle, During::Quiet)];
        let (starts_at, woken) = starts(script.clone(), true).await;
        assert!(woken, "the waiting worker takes it");
        assert_eq!(starts_at[..2], [zero, POLL], "this one waits for the poll");
        // With no other worker waiting, the wake-up is kept, and this one takes it at once.
        let (starts_at, _) = starts(script, false).await;
        assert_eq!(starts_at[..2], [zero, zero]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_woken_for_work_its_round_already_claimed_waits() {
        // The wake-up for work queued before the round is kept, but the round's claim saw that
        // work: the worker does not look again until the poll.
        let script = vec![(Progress::Done, During::Quiet), (Progress::Idle, During::Quiet)];
        let (starts_at, _) = starts_after(script, false, true).await;
        assert_eq!(starts_at[..2], [Duration::ZERO, POLL]);
        // A full batch's nudge is run even so: the batch left work its claim saw but did not take.
        let script = vec![
            (Progress::Full, During::Quiet),
            (Progress::Done, During::Quiet),
            (Progress::Idle, During::Quiet),
        ];
        let (starts_at, _) = starts_after(script, false, true).await;
        assert_eq!(starts_at[..3], [Duration::ZERO; 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn work_a_rounds_claim_took_before_its_signal_was_counted_sends_nobody_looking() {
        // The claim ran after the work's commit, and its signal was counted during the round,
        // before or after the claim was told: the round has the work, so it does not go again.
        // A signal counted after the claim was told wakes nobody either.
        let zero = Duration::ZERO;
        for during in [During::TakenThenSignalled, During::SignalledThenTaken] {
            let script = vec![(Progress::Done, during), (Progress::Idle, During::Quiet)];
            let (starts_at, _) = starts(script, false).await;
            assert_eq!(starts_at[..2], [zero, POLL], "the round waits for the poll");
        }
        let script = vec![(Progress::Done, During::TakenThenSignalled), (Progress::Idle, During::Quiet)];
        let (_, woken) = starts(script, true).await;
        assert!(!woken, "a signal for work in hand wakes nobody");
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_stops_when_nobody_is_left_to_stop_it() {
        let (stop_tx, stop) = watch::channel(false);
        drop(stop_tx);
        let rounds = std::sync::atomic::AtomicU32::new(0);
        run("test", 1, POLL, Arc::new(Wake::default()), stop, || {
            let n = rounds.fetch_add(1, Ordering::SeqCst);
            assert!(n < 3, "the worker went round again instead of stopping");
            async { Ok((Progress::Idle, Vec::new())) }
        })
        .await;
        assert_eq!(rounds.into_inner(), 1);
    }

    #[test]
    fn a_rounds_progress_says_whether_to_go_again() {
        assert_eq!(progress(0, true, 4), Progress::Idle);
        assert_eq!(progress(2, false, 4), Progress::Done);
        assert_eq!(progress(2, true, 4), Progress::More);
        assert_eq!(progress(4, false, 4), Progress::Full);
    }
}
