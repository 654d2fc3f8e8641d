//! Shutdown: a signal stops intake, in-flight work drains within a bound, then the process exits.
//!
//! A leaf: imports nothing of teller.

use std::future::Future;
use std::time::Duration;

/// Resolves when the process is asked to stop: SIGTERM (App Platform, Docker, systemd) or SIGINT
/// (Ctrl-C). The handlers are installed by this call, not when the future is first polled, so
/// call it before saying the process is ready: a SIGTERM that came between the two would
/// otherwise end the process at once, with nothing drained. If a handler cannot be installed,
/// that is logged and the other signal still works.
pub fn signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    };
    async move {
        #[cfg(unix)]
        tokio::select! {
            () = received(interrupt, "SIGINT") => {}
            () = received(terminate, "SIGTERM") => {}
        }
        #[cfg(not(unix))]
        match tokio::signal::ctrl_c().await {
            Ok(()) => tracing::info!("SIGINT received; shutting down"),
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGINT");
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Resolves at the first `name` signal its installed handler receives; never, if it has none.
#[cfg(unix)]
async fn received(handler: std::io::Result<tokio::signal::unix::Signal>, name: &str) {
    match handler {
        Ok(mut stream) => {
            stream.recv().await;
            tracing::info!("{name} received; shutting down");
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot listen for {name}");
            std::future::pending::<()>().await;
        }
    }
}

/// Runs `work` to completion, unless `stop` resolves first; then gives `work` up to `grace` to
/// finish what it has in flight. Returns `None` when the grace ran out and `work` was abandoned.
///
/// `work` must itself react to the stop (e.g. axum's graceful shutdown watching the same
/// signal); this function only bounds how long that may take.
pub async fn drain<T>(
    work: impl Future<Output = T>,
    stop: impl Future<Output = ()>,
    grace: Duration,
) -> Option<T> {
    tokio::pin!(work);
    tokio::select! {
        out = &mut work => return Some(out),
        () = stop => {}
    }
    match tokio::time::timeout(grace, work).await {
        Ok(out) => Some(out),
        Err(_) => {
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "in-flight work did not finish within the grace period"
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn work_that_finishes_within_the_grace_period_completes() {
        let work = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "done"
        };
        let stop = tokio::time::sleep(Duration::from_secs(1));
        assert_eq!(drain(work, stop, Duration::from_secs(10)).await, Some("done"));
    }

    #[tokio::test(start_paused = true)]
    async fn work_that_overruns_the_grace_period_is_abandoned() {
        let work = async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            "done"
        };
        let stop = tokio::time::sleep(Duration::from_secs(1));
        let started = tokio::time::Instant::now();
        assert_eq!(drain(work, stop, Duration::from_secs(10)).await, None);
        assert_eq!(started.elapsed(), Duration::from_secs(11));
    }
}
