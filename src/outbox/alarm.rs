//! When replies put off come due. A round that holds a reply back (Meta's pair rate lets the
//! customer's next message go in 6 seconds) or puts off a retry knows when it will be due; the
//! sender keeps those times and, at each, nudges a worker to claim what came due. Without it a
//! reply put off waits for the poll: up to half a second late, when other work has moved the
//! workers' polls off the 6-second grid of the pair rate.
//!
//! Imports: the wake-up, and the leaves.

use std::collections::BTreeSet;
use std::sync::Mutex;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::wake::Wake;

/// The most times kept: a reply put off past them waits for the poll instead.
const KEPT: usize = 1024;

/// The times replies put off come due, soonest first.
#[derive(Default)]
pub(super) struct Alarm {
    times: Mutex<BTreeSet<Instant>>,
    /// An earlier time was set than the one [`Alarm::ring`] waits for.
    sooner: Notify,
}

impl Alarm {
    /// A reply comes due at `at`.
    pub(super) fn set(&self, at: Instant) {
        let Ok(mut times) = self.times.lock() else { return };
        let soonest = times.first().copied();
        times.insert(at);
        if times.len() > KEPT {
            times.pop_last();
        }
        if soonest.is_none_or(|soonest| at < soonest) {
            self.sooner.notify_one();
        }
    }

    /// Nudges `wake` at each time set, until `stop` turns true. Times that pass together ring
    /// once.
    pub(super) async fn ring(&self, wake: &Wake, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let next = self.times.lock().ok().and_then(|times| times.first().copied());
            let due = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = due => {
                    let now = Instant::now();
                    if let Ok(mut times) = self.times.lock() {
                        times.retain(|at| *at > now);
                    }
                    wake.nudge();
                }
                () = self.sooner.notified() => {}
                // A stop whose sender is gone cannot turn true: nobody is left to stop this.
                changed = stop.changed() => if changed.is_err() { return },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// When a worker waiting on `wake` was woken, from the start, until `stop` turns true.
    async fn woken_at(wake: Arc<Wake>, origin: Instant, stop: watch::Receiver<bool>) -> Vec<Duration> {
        let mut woken = Vec::new();
        let mut stop = stop;
        loop {
            tokio::select! {
                () = wake.notified() => {
                    assert!(!wake.woken_for_nothing(), "a nudge is something to look for");
                    woken.push(origin.elapsed());
                }
                _ = stop.changed() => return woken,
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_is_nudged_when_each_reply_put_off_comes_due_and_not_before() {
        let (alarm, wake) = (Arc::new(Alarm::default()), Arc::new(Wake::default()));
        let (stop_tx, stop) = watch::channel(false);
        let origin = Instant::now();
        let secs = |s: f64| Duration::from_secs_f64(s);
        alarm.set(origin + secs(6.0));
        let ringing = tokio::spawn({
            let (alarm, wake, stop) = (alarm.clone(), wake.clone(), stop.clone());
            async move { alarm.ring(&wake, stop).await }
        });
        let worker = tokio::spawn(woken_at(wake.clone(), origin, stop));
        tokio::time::sleep(secs(1.0)).await;
        // Set while the alarm waits for a later one; and two that come due together.
        alarm.set(origin + secs(2.5));
        alarm.set(origin + secs(9.0));
        alarm.set(origin + secs(9.0));
        tokio::time::sleep(secs(20.0)).await;
        stop_tx.send_replace(true);
        ringing.await.unwrap();
        assert_eq!(worker.await.unwrap(), [secs(2.5), secs(6.0), secs(9.0)]);
    }

    #[tokio::test(start_paused = true)]
    async fn it_stops_when_nobody_is_left_to_stop_it() {
        let alarm = Alarm::default();
        alarm.set(Instant::now() + Duration::from_secs(60));
        let (stop_tx, stop) = watch::channel(false);
        drop(stop_tx);
        let wake = Wake::default();
        let ringing = alarm.ring(&wake, stop);
        assert!(tokio::time::timeout(Duration::from_secs(1), ringing).await.is_ok(), "it waited on");
    }

    #[test]
    fn it_keeps_only_the_soonest_times() {
        let (alarm, origin) = (Alarm::default(), Instant::now());
        for s in (0..u64::try_from(KEPT).unwrap() + 10).rev() {
            alarm.set(origin + Duration::from_secs(s));
        }
        let times = alarm.times.lock().unwrap();
        assert_eq!(times.len(), KEPT);
        assert_eq!(
            times.last().copied(),
            Some(origin + Duration::from_secs(u64::try_from(KEPT).unwrap() - 1))
        );
    }
}
