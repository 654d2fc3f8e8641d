//! `/admin`: the console and its JSON API.
//!
//! - `accounts`: owners inviting admins, changing roles, disabling and resetting accounts;
//!   setup links.
//! - [`auth`]: login (email + argon2id password + TOTP), sessions (an httpOnly cookie for the
//!   console, a bearer token for the API), CSRF, lockout.
//! - [`flows`]: the flow lifecycle over HTTP: drafts, validation, diff, graph, publish,
//!   rollback, history ([`crate::releases`] does the work).
//! - `texts`: a draft's texts edited without YAML (list, try, save).
//! - [`preview`]: chatting with a draft ([`crate::admin::preview`] does the work).
//! - [`customers`]: customer search (masked), PIN unlock, and the audit log.
//! - [`loans`]: the loan book.
//! - `operations`: operators' money corrections and their second-admin approvals.
//! - `whatsapp`: templates' and numbers' health as Meta reports it.
//! - [`console`]: the embedded single-page console, its security headers, and the OpenAPI
//!   description.

mod accounts;
pub mod auth;
pub mod console;
pub mod customers;
pub mod flows;
mod history;
pub mod loans;
mod operations;
pub mod preview;
mod texts;
mod tickets;
mod whatsapp;

use axum::Router;

use crate::http::{ApiError, AppState};
use crate::releases::LifecycleError;

pub use auth::AdminSession;

/// Every `/admin` route.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(console::router())
        .merge(auth::router())
        .merge(accounts::router())
        .merge(flows::router())
        .merge(preview::router())
        .merge(customers::router())
        .merge(loans::router())
        .merge(operations::router())
        .merge(texts::router())
        .merge(tickets::router())
        .merge(whatsapp::router())
        .layer(axum::middleware::from_fn(console::security_headers))
}

impl From<LifecycleError> for ApiError {
    fn from(err: LifecycleError) -> Self {
        match err {
            LifecycleError::NotFound(_) => ApiError::NotFound,
            LifecycleError::Invalid(message) => ApiError::BadRequest(message),
            LifecycleError::Conflict(message) => ApiError::Conflict(message),
            LifecycleError::NeedsApproval { message, .. } => ApiError::Conflict(message),
            LifecycleError::DoesNotCompile(report) => ApiError::Unprocessable {
                message: "the flows have errors: fix them before publishing".into(),
                details: serde_json::json!({ "diagnostics": crate::releases::diagnostics(&report) }),
            },
            LifecycleError::Store(err) if err.is_unavailable() => ApiError::Unavailable(err.into()),
            LifecycleError::Store(err) => ApiError::Internal(err.into()),
            LifecycleError::Unexpected(err) => ApiError::Internal(err),
        }
    }
}

/// A store error as an HTTP answer: 503 when it may pass, 500 otherwise.
pub(crate) fn store_error(err: crate::store::StoreError) -> ApiError {
    if err.is_unavailable() { ApiError::Unavailable(err.into()) } else { ApiError::Internal(err.into()) }
}
