//! The worker: scheduled jobs, each run by at most one instance at a time.
//!
//! A job's schedule and lease live in the SQL store (`jobs`), not in any one process: a worker
//! takes a due job with a guarded `UPDATE` that only succeeds when no live lease holds it,
//! renews the lease while the job runs, and on finishing releases it and sets the next due
//! time. So any number of workers (and, on the embedded default, `teller serve` itself) run
//! each job once per interval between them; a worker that crashes holds its job only until
//! the lease expires. Leases bound *concurrency*; the jobs' own effects are idempotent too
//! (every fee, settlement and suspension is guarded in the ledger), so a job that did run
//! twice (a lease lost to a long pause) still changes nothing twice.
//!
//! Jobs do their work in steps (a page of transfers, of wallets, of sessions) and look at
//! [`JobContext::stopping`] between steps: SIGTERM, or a lease lost, lets the current step
//! finish and then ends the run, which is due again at once for whoever comes next.
//!
//! Imports: the use cases its jobs run (bank, conversation), the ports and the leaves; never http/
//! or app/.

pub mod jobs;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::store::{JobRow, SqlStore};

/// How often a worker looks for due jobs.
const POLL: Duration = Duration::from_secs(5);
/// A failed run is tried again after this, or its interval if shorter.
const RETRY_AFTER: Duration = Duration::from_secs(60);
/// The least silence (or twice the lease, if longer) after which the scheduler counts as wedged.
const STALLED_AFTER: Duration = Duration::from_secs(60);

/// Whether a scheduler silent for `idle`, holding leases of `lease` (renewed every third of
/// it while a job runs), is wedged.
fn wedged(idle: Duration, lease: Duration) -> bool {
    idle > lease.saturating_mul(2).max(STALLED_AFTER)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// What a job needs while it runs.
pub struct JobContext {
    /// When the run started (the injected clock's time).
    pub now: DateTime<Utc>,
    stop: watch::Receiver<bool>,
    lost: watch::Receiver<bool>,
}

impl JobContext {
    /// A context at `now` that stops when `stop` turns true.
    pub fn new(now: DateTime<Utc>, stop: watch::Receiver<bool>) -> JobContext {
        let (_, lost) = watch::channel(false);
        JobContext { now, stop, lost }
    }

    /// True when the job should end after the step it is in: shutdown, or the lease was lost.
    pub fn stopping(&self) -> bool {
        *self.stop.borrow() || *self.lost.borrow()
    }
}

/// What a run did, counted by item (`charged`, `posted`, `purged_inbox`, …), for its log line
/// and metrics.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    counts: Vec<(&'static str, u64)>,
    /// The run ended early (shutdown or a lost lease); the rest is done next time.
    pub interrupted: bool,
}

impl Report {
    /// Adds `n` to `item`.
    pub fn add(&mut self, item: &'static str, n: u64) {
        match self.counts.iter_mut().find(|(i, _)| *i == item) {
            Some((_, count)) => *count += n,
            None => self.counts.push((item, n)),
        }
    }

    /// The count of `item` (0 when never counted).
    pub fn get(&self, item: &str) -> u64 {
        self.counts.iter().find(|(i, _)| *i == item).map_or(0, |(_, n)| *n)
    }

    /// Every count, in the order first counted.
    pub fn counts(&self) -> &[(&'static str, u64)] {
        &self.counts
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (item, n) in &self.counts {
            if !first {
                f.write_str(" ")?;
            }
            write!(f, "{item}={n}")?;
            first = false;
        }
        if first {
            f.write_str("nothing")?;
        }
        if self.interrupted {
            f.write_str(" (interrupted)")?;
        }
        Ok(())
    }
}

/// A scheduled job.
#[async_trait]
pub trait Job: Send + Sync + 'static {
    /// Its name: in the `jobs` table, metrics, logs and `teller worker --once`.
    fn name(&self) -> &'static str;

    /// Does the work due at `cx.now`, in steps, until done or `cx.stopping()`.
    async fn run(&self, cx: &JobContext) -> anyhow::Result<Report>;
}

/// What became of an attempt to run a job.
#[derive(Debug)]
pub enum RunOutcome {
    /// It ran.
    Ran(Report),
    /// It ran and failed; the error is recorded and it is tried again later.
    Failed(anyhow::Error),
    /// Not due yet, or another worker holds it.
    Skipped,
}

struct Scheduled {
    job: Arc<dyn Job>,
    every: Duration,
}

/// Runs jobs on their schedules, under leases.
pub struct Worker {
    store: Arc<dyn SqlStore>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    lease: Duration,
    owner: String,
    jobs: Vec<Scheduled>,
    /// When a job loop last showed it was alive (real Unix milliseconds): each look for due
    /// work, and each lease renewal while a job runs.
    progress: std::sync::atomic::AtomicI64,
}

impl Worker {
    /// A worker with no jobs yet, holding leases for `lease`.
    pub fn new(
        store: Arc<dyn SqlStore>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        lease: Duration,
    ) -> Worker {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".to_owned());
        let owner =
            format!("{host}:{}:{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
        Worker { store, clock, metrics, lease, owner, jobs: Vec::new(), progress: now_ms().into() }
    }

    /// Adds `job`, due every `every`.
    pub fn schedule(mut self, job: Arc<dyn Job>, every: Duration) -> Worker {
        self.jobs.push(Scheduled { job, every });
        self
    }

    /// How long since a job loop last showed it was alive, and whether that is too long: a
    /// wedged scheduler fails the worker's liveness check, so the platform restarts it.
    pub fn stalled(&self) -> (Duration, bool) {
        let idle = Duration::from_millis(
            u64::try_from(now_ms() - self.progress.load(Ordering::Relaxed)).unwrap_or(0),
        );
        (idle, wedged(idle, self.lease))
    }

    fn touch(&self) {
        self.progress.store(now_ms(), Ordering::Relaxed);
    }

    /// This worker's name in leases.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The names of the scheduled jobs.
    pub fn job_names(&self) -> Vec<&'static str> {
        self.jobs.iter().map(|s| s.job.name()).collect()
    }

    /// Every job's schedule and lease as stored.
    pub async fn states(&self) -> anyhow::Result<Vec<JobRow>> {
        let mut tx = self.store.begin().await?;
        let rows = tx.worker().jobs().await?;
        tx.rollback().await?;
        Ok(rows)
    }

    /// Runs every job that is due now and free, one after another.
    pub async fn run_due(&self, stop: &watch::Receiver<bool>) -> Vec<(&'static str, RunOutcome)> {
        let mut outcomes = Vec::new();
        for scheduled in &self.jobs {
            if *stop.borrow() {
                break;
            }
            let outcome = self.attempt(scheduled, true, stop).await;
            outcomes.push((scheduled.job.name(), outcome));
        }
        outcomes
    }

    /// Runs job `name` now, due or not, unless another worker holds it: `teller worker --once`.
    pub async fn run_now(&self, name: &str, stop: &watch::Receiver<bool>) -> anyhow::Result<RunOutcome> {
        let scheduled = self.jobs.iter().find(|s| s.job.name() == name).ok_or_else(|| {
            let names = self.job_names().join(", ");
            anyhow::anyhow!("no job named {name:?}; the jobs are: {names}")
        })?;
        Ok(self.attempt(scheduled, false, stop).await)
    }

    /// Runs the scheduled jobs until `stop` turns true: each in a loop of its own, so a long
    /// job does not hold up the others. A run in progress finishes its step first.
    pub async fn run(self: Arc<Self>, stop: watch::Receiver<bool>) {
        let loops = (0..self.jobs.len()).map(|i| {
            let (worker, mut stop) = (self.clone(), stop.clone());
            async move {
                let scheduled = &worker.jobs[i];
                while !*stop.borrow() {
                    worker.touch();
                    worker.attempt(scheduled, true, &stop).await;
                    worker.touch();
                    tokio::select! {
                        () = tokio::time::sleep(POLL.min(scheduled.every)) => {}
                        // A stop whose sender is gone cannot turn true: nobody is left to stop
                        // this loop, and waiting on it would spin.
                        changed = stop.changed() => if changed.is_err() { return },
                    }
                }
            }
        });
        futures_util::future::join_all(loops).await;
    }

    /// Takes the job's lease (if due, when `due_only`) and runs it, renewing the lease as it goes.
    async fn attempt(
        &self,
        scheduled: &Scheduled,
        due_only: bool,
        stop: &watch::Receiver<bool>,
    ) -> RunOutcome {
        let name = scheduled.job.name();
        match self.claim(name, due_only).await {
            Ok(true) => {}
            Ok(false) => return RunOutcome::Skipped,
            Err(err) => {
                tracing::warn!(job = name, error = format!("{err:#}"), "cannot take the job's lease");
                return RunOutcome::Failed(err);
            }
        }
        let started = Instant::now();
        let (lost_tx, lost) = watch::channel(false);
        let cx = JobContext { now: self.clock.now(), stop: stop.clone(), lost };
        let heartbeat = self.heartbeat(name, lost_tx);
        let result = tokio::select! {
            result = scheduled.job.run(&cx) => result,
            never = heartbeat => match never {},
        };
        let elapsed = started.elapsed();
        let finished = self.clock.now();
        let (next, error) = match &result {
            Ok(report) if report.interrupted || cx.stopping() => (finished, None),
            Ok(_) => (finished + chrono_duration(scheduled.every), None),
            Err(err) => {
                (finished + chrono_duration(scheduled.every.min(RETRY_AFTER)), Some(format!("{err:#}")))
            }
        };
        if let Err(err) = self.finish(name, finished, next, error.as_deref()).await {
            tracing::warn!(job = name, error = format!("{err:#}"), "cannot record the end of the job's run");
        }
        self.metrics.job_run(name, result.is_ok(), elapsed, finished.timestamp());
        let duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok(mut report) => {
                report.interrupted |= cx.stopping();
                for (item, n) in report.counts() {
                    self.metrics.job_items(name, item, *n);
                }
                tracing::info!(job = name, duration_ms, result = %report, "job ran");
                RunOutcome::Ran(report)
            }
            Err(err) => {
                tracing::warn!(job = name, duration_ms, error = format!("{err:#}"), "job failed");
                RunOutcome::Failed(err)
            }
        }
    }

    async fn claim(&self, name: &str, due_only: bool) -> anyhow::Result<bool> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let taken = tx
            .worker()
            .claim_job(name, &self.owner, now, now + chrono_duration(self.lease), due_only)
            .await?;
        tx.commit().await?;
        Ok(taken)
    }

    async fn finish(
        &self,
        name: &str,
        now: DateTime<Utc>,
        next: DateTime<Utc>,
        error: Option<&str>,
    ) -> anyhow::Result<bool> {
        let mut tx = self.store.begin().await?;
        let done = tx.worker().finish_job(name, &self.owner, now, next, error).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Renews the lease every third of its length, forever; tells the job through `lost` when
    /// the lease is no longer ours (or cannot be renewed), so it stops after its step.
    async fn heartbeat(&self, name: &str, lost: watch::Sender<bool>) -> std::convert::Infallible {
        loop {
            tokio::time::sleep(self.lease / 3).await;
            let until = self.clock.now() + chrono_duration(self.lease);
            let renewed = async {
                let mut tx = self.store.begin().await?;
                let renewed = tx.worker().renew_job(name, &self.owner, until).await?;
                tx.commit().await?;
                anyhow::Ok(renewed)
            };
            match renewed.await {
                Ok(true) => {
                    self.touch();
                    continue;
                }
                Ok(false) => {
                    tracing::warn!(job = name, "the job's lease was taken over; stopping after this step")
                }
                Err(err) => {
                    tracing::warn!(
                        job = name,
                        error = format!("{err:#}"),
                        "cannot renew the job's lease; stopping after this step"
                    );
                }
            }
            lost.send_replace(true);
            // The job finishes its step and returns; this branch must not end the run first.
            return std::future::pending().await;
        }
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheduler_is_wedged_after_two_leases_of_silence_and_never_before_a_minute() {
        let lease = Duration::from_secs(120);
        assert!(!wedged(Duration::from_secs(239), lease), "a running job renews every 40 s");
        assert!(wedged(Duration::from_secs(241), lease));
        let short = Duration::from_secs(2);
        assert!(!wedged(Duration::from_secs(59), short), "an idle loop looks every 5 s");
        assert!(wedged(Duration::from_secs(61), short));
    }

    #[test]
    fn a_report_reads_as_its_counts() {
        let mut report = Report::default();
        assert_eq!(report.to_string(), "nothing");
        report.add("charged", 2);
        report.add("waived_low_balance", 1);
        report.add("charged", 1);
        assert_eq!(report.to_string(), "charged=3 waived_low_balance=1");
        report.interrupted = true;
        assert_eq!(report.to_string(), "charged=3 waived_low_balance=1 (interrupted)");
        assert_eq!((report.get("charged"), report.get("missing")), (3, 0));
    }
}
