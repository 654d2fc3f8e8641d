//! The worker wired: its jobs on the intervals the configuration sets, and `teller worker`.

use std::sync::Arc;

use tokio::sync::watch;

use super::connect;
use crate::http::AppState;
use crate::worker::{self, Worker};

/// The worker of `state`, with every job on the intervals its configuration sets.
pub fn build(state: &AppState) -> Worker {
    let config = &state.config.worker;
    Worker::new(state.store.clone(), state.clock.clone(), state.metrics.clone(), config.lease)
        .schedule(
            Arc::new(worker::jobs::StuckTransfers {
                bank: state.bank.clone(),
                metrics: state.metrics.clone(),
                after: config.stuck_after,
                suspense_after: config.suspense_after,
            }),
            config.stuck_transfers_every,
        )
        .schedule(
            Arc::new(worker::jobs::SessionCleanup {
                conversations: state.conversations.clone(),
                kv: state.kv.clone(),
                store: state.store.clone(),
            }),
            config.session_cleanup_every,
        )
        .schedule(Arc::new(worker::jobs::MonthlyFees { bank: state.bank.clone() }), config.monthly_fees_every)
        .schedule(Arc::new(worker::jobs::Care { bank: state.bank.clone() }), config.care_every)
        .schedule(
            Arc::new(worker::jobs::FundingAccounts { bank: state.bank.clone() }),
            config.funding_accounts_every,
        )
        .schedule(
            Arc::new(worker::jobs::Loans {
                bank: state.bank.clone(),
                work: worker::jobs::LoanWork::Collection,
            }),
            config.loans_every,
        )
        .schedule(
            Arc::new(worker::jobs::Loans { bank: state.bank.clone(), work: worker::jobs::LoanWork::Overdue }),
            config.loans_every,
        )
        .schedule(
            Arc::new(worker::jobs::Loans {
                bank: state.bank.clone(),
                work: worker::jobs::LoanWork::Reminders,
            }),
            config.loans_every,
        )
        .schedule(
            Arc::new(worker::jobs::Retention {
                store: state.store.clone(),
                inbox_age: config.inbox_retention,
                outbox_age: config.outbox_retention,
                decisions_age: config.decisions_retention,
            }),
            config.retention_every,
        )
}

/// `teller worker`: the jobs on their schedules, with `/health` and `/metrics` on
/// `WORKER_PORT`, until `stop` resolves; then the job in progress finishes its step (within
/// `SHUTDOWN_GRACE_SECS`) and the pools close. With `once`, runs that job now and returns
/// its report instead.
pub async fn run_worker(
    config: crate::config::Config,
    once: Option<String>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Option<worker::Report>> {
    use anyhow::Context as _;

    let port = config.worker.port;
    let grace = config.http.shutdown_grace;
    let state = connect(config).await?;
    let worker = Arc::new(build(&state));
    let (stop_tx, stop_rx) = watch::channel(false);
    let signal = tokio::spawn(async move {
        stop.await;
        stop_tx.send_replace(true);
    });

    if let Some(job) = once {
        let outcome = worker.run_now(&job, &stop_rx).await;
        signal.abort();
        state.store.close().await;
        return match outcome? {
            worker::RunOutcome::Ran(report) => Ok(Some(report)),
            worker::RunOutcome::Failed(err) => Err(err.context(format!("job {job} failed"))),
            worker::RunOutcome::Skipped => {
                anyhow::bail!(
                    "job {job} is running on another worker (it holds the lease); try again when it is done"
                )
            }
        };
    }

    let listener = tokio::net::TcpListener::bind(std::net::SocketAddr::from(([0, 0, 0, 0], port)))
        .await
        .with_context(|| format!("cannot listen on WORKER_PORT {port}"))?;
    tracing::info!(addr = %listener.local_addr()?, jobs = ?worker.job_names(), owner = worker.owner(), "worker running");
    let router = crate::http::worker::router(state.clone(), worker.clone());
    let mut http_stop = stop_rx.clone();
    let server = tokio::spawn(crate::http::serve::until(listener, router, async move {
        let _ = http_stop.wait_for(|stopping| *stopping).await;
    }));
    let mut jobs = tokio::spawn(worker.run(stop_rx.clone()));
    let mut stopped = stop_rx.clone();
    tokio::select! {
        _ = &mut jobs => {}
        _ = stopped.wait_for(|stopping| *stopping) => {
            if tokio::time::timeout(grace, &mut jobs).await.is_err() {
                tracing::warn!("a job did not finish its step within the grace period");
                jobs.abort();
            }
        }
    }
    let _ = server.await;
    state.store.close().await;
    Ok(None)
}
