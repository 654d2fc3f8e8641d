//! `teller worker`'s own port: `/health` (the stores answer, and the scheduler is not
//! wedged) and `/metrics`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};

use crate::http::AppState;
use crate::worker::Worker;

/// The worker's routes, with the standard middleware.
pub fn router(state: AppState, worker: Arc<Worker>) -> Router {
    let routes = Router::new()
        .route("/health", get(liveness))
        .route("/metrics", get(super::metrics))
        .layer(Extension(worker));
    super::layered(routes, state)
}

/// The worker's `/health`: the stores answer (as for `serve`), and the scheduler is not wedged.
async fn liveness(State(state): State<AppState>, Extension(worker): Extension<Arc<Worker>>) -> Response {
    let (code, Json(health)) = super::health::health(State(state)).await;
    let (idle, stalled) = worker.stalled();
    if stalled {
        tracing::error!(idle_ms = idle.as_millis(), "the scheduler made no progress: failing liveness");
    }
    let healthy = code.is_success() && !stalled;
    let body = serde_json::json!({
        "status": if healthy { "ok" } else { "unavailable" },
        "checks": health.checks,
        "scheduler": { "status": if stalled { "stalled" } else { "ok" }, "idle_ms": idle.as_millis() },
    });
    let code = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(body)).into_response()
}
