//! The loop shared by the dispatcher and the sender: rounds of leased work, run by a few
//! concurrent workers, woken by a [`Notify`] or a poll.
//!
//! Imports: the store port's error and the leaves.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::{Notify, watch};

use crate::store::StoreError;

/// The longest a worker waits after a failing round (a database or KV outage) before trying
/// again, unless woken: short, so that work resumes within seconds of the end of an outage
/// even when the wake-ups sent meanwhile were spent on rounds that still failed.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What one round found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Nothing to do: wait for a wake-up or the poll.
    Idle,
    /// Some work done: go again straight away.
    Some,
    /// A full batch: go again, and wake another worker, since more is probably waiting.
    Full,
}

/// Runs `workers` concurrent loops of `round` until `stop` turns true. A worker goes again at
/// once after a round that did work, else waits for `wake` or `poll`; a failing round backs off
/// up to [`MAX_BACKOFF`]. A round in progress finishes before its worker stops.
pub async fn run<F, Fut>(
    what: &'static str,
    workers: usize,
    poll: Duration,
    wake: Arc<Notify>,
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
                match round().await {
                    Ok(Progress::Full) => {
                        wake.notify_one();
                        backoff = poll;
                        continue;
                    }
                    Ok(Progress::Some) => {
                        backoff = poll;
                        continue;
                    }
                    Ok(Progress::Idle) => backoff = poll,
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

/// The progress of a round that handled `done` items of a batch of `batch`.
pub fn progress(done: usize, batch: u32) -> Progress {
    match done {
        0 => Progress::Idle,
        n if u32::try_from(n).unwrap_or(u32::MAX) >= batch => Progress::Full,
        _ => Progress::Some,
    }
}
