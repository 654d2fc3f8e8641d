//! The one error type of the HTTP boundary. It maps outcomes to status codes and never puts
//! internal detail (SQL, error chains) in a response: internal failures are logged with the
//! request id, and the client gets an opaque message plus that id to quote.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::request_id;

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed; the message says how, in words safe to show.
    #[error("{0}")]
    BadRequest(String),
    /// Missing or wrong credentials or signature.
    #[error("unauthorized")]
    Unauthorized,
    /// Valid credentials, but not for this.
    #[error("forbidden")]
    Forbidden,
    /// Nothing here.
    #[error("not found")]
    NotFound,
    /// The request conflicts with the current state (changed meanwhile, not allowed now).
    #[error("{0}")]
    Conflict(String),
    /// What was asked for is over (a used or expired link), in words safe to show.
    #[error("{0}")]
    Gone(String),
    /// Well-formed but refused, with details the client can show (e.g. compiler errors).
    #[error("{message}")]
    Unprocessable {
        /// Why, in words safe to show.
        message: String,
        /// Structured detail.
        details: serde_json::Value,
    },
    /// Too many attempts; try again later.
    #[error("{0}")]
    TooManyRequests(String),
    /// A dependency is down; the client should retry later.
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Too much costly work is running at once (PIN and password checks): retry in a second.
    #[error("busy: try again in a moment")]
    Overloaded,
    /// A bug or broken invariant.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        match &self {
            ApiError::Unavailable(err) => {
                tracing::warn!(error = format!("{err:#}"), "dependency unavailable")
            }
            ApiError::Internal(err) => tracing::error!(error = format!("{err:#}"), "internal error"),
            _ => {}
        }
        let mut body = json!({ "error": self.to_string(), "request_id": request_id::current() });
        if let ApiError::Unprocessable { details, .. } = &self {
            body["details"] = details.clone();
        }
        let mut response = (status, Json(body)).into_response();
        let retry_after = match &self {
            ApiError::TooManyRequests(_) => Some("60"),
            ApiError::Overloaded => Some("1"),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static(seconds));
        }
        response
    }
}
