//! The HTTP surface: the router, its middleware and the operational routes.
//!
//! Middleware, outermost first: request id (so every later layer and log line has it), tracing
//! (one span per request, named by route template), metrics, panic-to-500, the request timeout
//! and the body limit. Modules contribute their routes through a `router()` of their own, merged
//! in [`router`].

pub mod error;
pub mod health;
pub mod limit;
pub mod request_id;

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

use crate::app::AppState;
use crate::metrics::HttpLabels;

/// Largest request body accepted anywhere: Meta's webhook payloads stay under 3 MB.
pub const BODY_LIMIT_BYTES: usize = 3 * 1024 * 1024;

/// The whole HTTP surface with its middleware.
pub fn router(state: AppState) -> Router {
    layered(routes(), state)
}

/// Every route, without middleware. Modules merge their own `router()` here.
pub fn routes() -> Router<AppState> {
    operational()
        .merge(crate::whatsapp::webhook::router())
        .merge(crate::bank::payments::router())
        .merge(crate::simulator::router())
        .merge(crate::admin::router())
        .fallback(|| async { ApiError::NotFound })
}

/// `/health` and `/metrics`: all that `teller worker` serves on its own port.
pub fn operational() -> Router<AppState> {
    Router::new().route("/health", get(health::health)).route("/metrics", get(metrics))
}

/// `routes` with state and the standard middleware. Layers wrap only the routes present when
/// they are applied, so every route (a test's extra ones included) goes in before this.
pub fn layered(routes: Router<AppState>, state: AppState) -> Router {
    let timeout = state.config.http.request_timeout;
    routes
        .with_state(state.clone())
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, timeout))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(middleware::from_fn_with_state(state, record_metrics))
        .layer(TraceLayer::new_for_http().make_span_with(make_span).on_request(()).on_response(on_response))
        .layer(middleware::from_fn(request_id::middleware))
}

/// The request span: method, route template (not the raw path, which may carry ids) and the id.
fn make_span(request: &Request) -> tracing::Span {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    let id = request.headers().get(request_id::HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    tracing::info_span!("http", method = %request.method(), route, request_id = id)
}

fn on_response(response: &Response, latency: Duration, _span: &tracing::Span) {
    let status = response.status().as_u16();
    let latency_ms = latency.as_millis();
    if response.status().is_server_error() {
        tracing::warn!(status, latency_ms, "request failed");
    } else {
        tracing::debug!(status, latency_ms, "request served");
    }
}

async fn record_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let labels = HttpLabels { method, route, status: response.status().as_u16() };
    state.metrics.observe_http(labels, started.elapsed());
    response
}

/// `GET /metrics`: the registry in OpenMetrics text.
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let body = state.metrics.render().map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}
