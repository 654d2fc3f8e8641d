//! `POST /webhook/paystack`: Paystack's events (money into a customer's dedicated account, a
//! payout's outcome, an account assigned).
//!
//! `x-paystack-signature` (lowercase hex HMAC-SHA512 of the raw body under
//! `PAYSTACK_SECRET_KEY`) is checked over the raw bytes before anything is read: a missing or
//! wrong one is 401 and nothing is stored. Each event is applied once (a credit per Paystack
//! reference, a payout's outcome per transfer): a redelivery or a replay answers 200 and moves
//! nothing.
//!
//! Answers: 200 whenever retrying cannot help (applied, a duplicate, an event teller does not
//! act on, money for nobody teller knows or in another currency: those are logged for
//! operations, since Paystack would otherwise retry them for three days); 400 for a signed
//! body teller cannot read; 401 for a bad signature; 503 when the store is down (Paystack
//! retries).

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::bank::Callback;
use crate::bank::paystack::events::{self, Event};
use crate::http::ApiError;
use crate::http::AppState;
use crate::http::limit::ClientAddress;
use crate::http::payments::{bank_error, within_limit};
use crate::signature;

/// The header Paystack signs its events in.
pub const SIGNATURE_HEADER: &str = "x-paystack-signature";

/// The route.
pub fn router() -> Router<AppState> {
    Router::new().route("/webhook/paystack", post(receive))
}

#[tracing::instrument(skip_all, fields(bytes = body.len()))]
async fn receive(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    within_limit(&state, &address)?;
    let Some(paystack) = state.config.paystack.as_ref() else {
        tracing::warn!("an event at /webhook/paystack, but PAYMENT_PROVIDER is not paystack: refused");
        return Err(ApiError::Unauthorized);
    };
    let header = headers.get(SIGNATURE_HEADER).map(|v| v.as_bytes());
    if !signature::verify_sha512(paystack.secret_key.expose_secret().as_bytes(), &body, header) {
        tracing::warn!(signed = header.is_some(), "a Paystack event's signature did not verify");
        return Err(ApiError::Unauthorized);
    }
    let event = events::parse(&body).map_err(|why| {
        tracing::warn!(%why, "a signed Paystack event teller cannot read");
        ApiError::BadRequest(format!("not a Paystack event teller reads: {why}"))
    })?;
    let bank = &state.bank;
    let outcome = match &event {
        Event::Funded(funded) => Some(bank.fund(funded).await.map_err(bank_error)?),
        Event::Transfer { reference, status } => {
            Some(bank.settle(reference, status).await.map_err(bank_error)?)
        }
        Event::Assigned { customer_code, account } => {
            let opened = bank.funding_assigned(customer_code, account).await.map_err(bank_error)?;
            Some(if opened { Callback::Applied } else { Callback::Duplicate })
        }
        Event::Ignored(name) => {
            tracing::info!(event = %name, "a Paystack event teller does not act on");
            None
        }
    };
    let word = match outcome {
        Some(Callback::Applied) => "applied",
        Some(Callback::Duplicate) => "duplicate",
        Some(Callback::Unknown) => {
            tracing::warn!(event = %event.describe(), "a Paystack event about nothing teller knows: acknowledged, not applied");
            "unknown"
        }
        Some(Callback::Refused) => "refused",
        None => "ignored",
    };
    Ok(Json(json!({ "status": word })).into_response())
}
