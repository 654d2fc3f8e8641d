//! Shutdown: a signal stops intake, in-flight work drains within a bound, then the process exits.
//!
//! A leaf: imports nothing of teller.

use std::future::Future;
use std::time::Duration;

/// Resolves when the process is asked to stop: SIGTERM (App Platform, Docker, systemd) or SIGINT
/// (Ctrl-C). If a handler cannot be installed, that is logged and the other signal still works.
pub async fn signal() {
    let interrupt = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
        tracing::info!("SIGINT received; shutting down");
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
                tracing::info!("SIGTERM received; shutting down");
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
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
