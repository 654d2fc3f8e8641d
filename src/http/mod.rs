//! The HTTP surface: the router, its middleware and the operational routes.
//!
//! Middleware, outermost first: request id (so every later layer and log line has it), tracing
//! (one span per request, named by route template), metrics, panic-to-500, the request timeout
//! and the body limit. Modules contribute their routes through a `router()` of their own, merged
//! in [`router`].
//!
//! Imports: everything below it (use cases, ports, leaves); it is the only module that names the
//! app state or axum.

pub mod admin;
pub mod error;
pub mod flows;
pub mod health;
pub mod limit;
pub mod payments;
pub mod paystack;
pub mod request_id;
pub mod serve;
pub mod simulator;
pub mod state;
pub mod webhook;
pub mod worker;

use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use axum::Router;
pub use error::ApiError;
pub use state::AppState;

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
        .merge(webhook::router())
        .merge(flows::router())
        .merge(payments::router())
        .merge(paystack::router())
        .merge(simulator::router())
        .merge(admin::router())
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
        .layer(middleware::from_fn(json_errors))
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
    let method = method_label(request.method()).to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let labels = HttpLabels { method, route, status: response.status().as_u16() };
    state.metrics.observe_http(labels, started.elapsed());
    response
}

/// A method as a metric label: the standard ones by name, anything else (which any client can
/// invent, one label series each) as `other`. Routes are templates, and every path no route
/// matches is `unmatched`, so the label sets stay bounded whatever clients send.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Every error response is the documented JSON `{"error", "request_id"}`: axum's own
/// rejections (a body the JSON parser refuses, a bad query, an unknown method, a body over the
/// limit) answer plain text, so they are rewritten here, keeping their status and, as the
/// error, their words (which name no internals).
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let error = match text.trim() {
        "" => status.canonical_reason().unwrap_or("error").to_lowercase(),
        words => words.chars().take(300).collect(),
    };
    let body = serde_json::json!({ "error": error, "request_id": request_id::current() });
    let mut rewritten = (status, axum::Json(body)).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}

/// `GET /metrics`: the registry in OpenMetrics text.
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let body = state.metrics.render().map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}
