//! `GET /health`: does teller's storage answer right now?
//!
//! Each check has its own short deadline, so a hung dependency shows up as a failed check within
//! a couple of seconds rather than as a hung health probe. The body names each check; a failing
//! one says only "unavailable" or "timeout" (the cause goes to the log, not to the client).

use std::future::Future;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::http::AppState;

/// How long one check may take before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_millis(1500);

/// The outcome of one dependency check.
#[derive(Debug, Serialize)]
pub struct Check {
    /// `ok`, `unavailable` or `timeout`.
    pub status: &'static str,
    /// Which adapter was checked.
    pub backend: &'static str,
    /// How long the check took, in milliseconds.
    pub latency_ms: u128,
}

/// The `/health` body.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok` when every check passed, else `unavailable`.
    pub status: &'static str,
    /// Each dependency's check.
    pub checks: Checks,
}

/// The dependencies `/health` checks.
#[derive(Debug, Serialize)]
pub struct Checks {
    /// The SQL store.
    pub sql: Check,
    /// The KV store.
    pub kv: Check,
}

async fn check<E: std::fmt::Display>(
    name: &'static str,
    backend: &'static str,
    probe: impl Future<Output = Result<(), E>>,
) -> Check {
    let started = Instant::now();
    let status = match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Ok(())) => "ok",
        Ok(Err(err)) => {
            tracing::warn!(check = name, error = %err, "health check failed");
            "unavailable"
        }
        Err(_) => {
            tracing::warn!(check = name, "health check timed out");
            "timeout"
        }
    };
    Check { status, backend, latency_ms: started.elapsed().as_millis() }
}

/// The handler: 200 when every check passes, 503 otherwise, with every check in the body.
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let (sql, kv) = tokio::join!(
        check("sql", state.store.backend().name(), state.store.ping()),
        check("kv", state.kv.backend(), state.kv.ping()),
    );
    let healthy = sql.status == "ok" && kv.status == "ok";
    let code = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let status = if healthy { "ok" } else { "unavailable" };
    (code, Json(Health { status, checks: Checks { sql, kv } }))
}
