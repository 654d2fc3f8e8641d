//! The loop shared by the dispatcher and the sender: rounds of leased work, run by a few
//! concurrent workers, woken by a [`Wake`] or a poll.
//!
//! A worker goes again at once only when its round says more is waiting. Otherwise it looks
//! again only if work was queued while the round ran. That is the case a round cannot see: a
//! customer's next message (or reply) queued after the round claimed the one before it, whose
//! wake-up went to a worker that passed over that customer as busy. Work queued after the
//! round is done needs no such care: its wake-up comes after the round's record, so the worker
//! it wakes finds the customer free.
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

/// Runs `workers` concurrent loops of `round` until `stop` turns true. A worker goes again at
/// once after a round that found more waiting, or that `wake` was signalled during; else it
/// waits for `wake` or `poll`. A failing round backs off up to [`MAX_BACKOFF`]. A round in
/// progress finishes before its worker stops.
pub async fn run<F, Fut>(
    what: &'static str,
    workers: usize,
    poll: Duration,
    wake: Arc<Wake>,
    stop: watch::Receiver<bool>,
    round: F,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Progress, StoreError>>,
{
    let worker = |mut stop: watch::Receiver<bool>| {
        let (wake, round) = (wake.clone(), &round);
        async move {
            let mut backoff = poll;
            while !*stop.borrow() {
                let signals = wake.signals();
                match round().await {
                    Ok(Progress::Full) => {
                        wake.signal();
                        backoff = poll;
                        continue;
                    }
                    Ok(Progress::More) => {
                        backoff = poll;
                        continue;
                    }
                    Ok(Progress::Done) if wake.signals() != signals => {
                        backoff = poll;
                        continue;
                    }
                    Ok(Progress::Done | Progress::Idle) => backoff = poll,
                    Err(err) => {
                        tracing::warn!(error = format!("{err:#}"), "{what} round failed; backing off");
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    };
    join_all((0..workers.max(1)).map(|_| worker(stop.clone()))).await;
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

    use tokio::time::Instant;

    use super::*;

    const POLL: Duration = Duration::from_secs(1);

    /// Runs one worker through `script`'s rounds on tokio's paused clock (each round's closure
    /// returns the next progress; a round given `signal` signals the wake while it runs), then
    /// stops; returns when each round started, from the first.
    async fn starts(script: Vec<(Progress, bool)>) -> Vec<Duration> {
        let wake = Arc::new(Wake::default());
        let (stop_tx, stop) = watch::channel(false);
        let started = Mutex::new(Vec::new());
        let script = Mutex::new(script.into_iter());
        let origin = Instant::now();
        run("test", 1, POLL, wake.clone(), stop, || {
            started.lock().unwrap().push(origin.elapsed());
            let next = script.lock().unwrap().next();
            let (wake, stop_tx) = (wake.clone(), &stop_tx);
            async move {
                match next {
                    Some((progress, signal)) => {
                        if signal {
                            wake.signal();
                        }
                        Ok(progress)
                    }
                    None => {
                        stop_tx.send_replace(true);
                        Ok(Progress::Idle)
                    }
                }
            }
        })
        .await;
        started.into_inner().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_round_that_found_more_goes_again_at_once_and_one_that_did_not_waits() {
        let zero = Duration::ZERO;
        // More, then Done: the second round at once, the third only at the poll.
        let starts_at = starts(vec![(Progress::More, false), (Progress::Done, false)]).await;
        assert_eq!(starts_at, vec![zero, zero, POLL]);
        // A full batch goes again at once too.
        let starts_at = starts(vec![(Progress::Full, false), (Progress::Idle, false)]).await;
        assert_eq!(starts_at[..2], [zero, zero]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_round_that_work_was_queued_during_goes_again_at_once() {
        let zero = Duration::ZERO;
        // A signal while the round ran: the worker looks again at once, whatever the round said.
        let starts_at = starts(vec![(Progress::Done, true), (Progress::Idle, false)]).await;
        assert_eq!(starts_at[..2], [zero, zero]);
        // An empty round that a signal came during waits for nothing either: the signal is kept.
        let starts_at = starts(vec![(Progress::Idle, true), (Progress::Idle, false)]).await;
        assert_eq!(starts_at[..2], [zero, zero]);
    }

    #[test]
    fn a_rounds_progress_says_whether_to_go_again() {
        assert_eq!(progress(0, true, 4), Progress::Idle);
        assert_eq!(progress(2, false, 4), Progress::Done);
        assert_eq!(progress(2, true, 4), Progress::More);
        assert_eq!(progress(4, false, 4), Progress::Full);
    }
}
