//! `POST /webhook/payments`: the payment provider's callbacks (credits, transfer outcomes).
//!
//! The signature (`X-Teller-Signature: sha256=<hex HMAC of the raw body>` under
//! `PAYMENTS_WEBHOOK_SECRET`) is checked over the raw bytes before anything is read; without a
//! secret configured nothing is accepted. Each callback is applied once per provider
//! reference: a replay answers 200 with `"duplicate"` and moves nothing.
//!
//! Answers: 200 when applied or already applied (the provider stops retrying); 401 for a bad
//! signature; 400 for a body that is not a callback; 422 for one that names an unknown
//! customer or transfer, or a wrong currency (retrying will not help); 503 when the store is
//! down (retrying will).

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;

use crate::bank::Callback;
use crate::bank::rail::RailStatus;
use crate::http::ApiError;
use crate::http::AppState;
use crate::http::limit::ClientAddress;
use crate::money::parse_amount_in;
use crate::signature;

/// The signature header of provider callbacks.
pub const SIGNATURE_HEADER: &str = "x-teller-signature";

/// The callback routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/webhook/payments", post(receive))
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
enum Body {
    #[serde(rename = "credit")]
    Credit {
        reference: String,
        wa_id: String,
        amount: String,
        currency: String,
        #[serde(default)]
        payer: Option<String>,
    },
    #[serde(rename = "transfer.status")]
    TransferStatus {
        reference: String,
        status: String,
        #[serde(default)]
        reason: Option<String>,
    },
}

/// The per-address limit on provider callbacks (`PAYMENTS_PER_IP_PER_MINUTE`, shared by every
/// provider's route), checked before anything else, a forged flood included: the signature
/// check is the costly part.
pub(crate) fn within_limit(state: &AppState, address: &str) -> Result<(), ApiError> {
    if state.payments_limit.allow(address) {
        return Ok(());
    }
    state.metrics.rate_limited("payments_ip");
    tracing::warn!(address, "payment callbacks over the per-address limit: 429");
    Err(ApiError::TooManyRequests("too many callbacks from this address: slow down".into()))
}

/// Turns a bank error into the answer: 503 when a store is down (the provider retries).
pub fn bank_error(err: anyhow::Error) -> ApiError {
    if crate::store::is_outage(&err) { ApiError::Unavailable(err) } else { ApiError::Internal(err) }
}

#[tracing::instrument(skip_all, fields(bytes = body.len()))]
async fn receive(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    within_limit(&state, &address)?;
    let Some(secret) = state.config.payments_webhook_secret.as_ref() else {
        tracing::warn!("PAYMENTS_WEBHOOK_SECRET is not set: no payment callback can be verified");
        return Err(ApiError::Unauthorized);
    };
    let header = headers.get(SIGNATURE_HEADER).map(|v| v.as_bytes());
    if !signature::verify(secret.expose_secret().as_bytes(), &body, header) {
        tracing::warn!(signed = header.is_some(), "payment callback signature did not verify");
        return Err(ApiError::Unauthorized);
    }
    apply(&state, &body).await
}

/// Applies a verified callback `body`: what a signed callback does, and what the sandbox's "add
/// money" does (`/simulator/api/credit`), so both read, check and post money the same way.
pub(crate) async fn apply(state: &AppState, body: &[u8]) -> Result<Response, ApiError> {
    let parsed: Body = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("not a payment callback: {e}")))?;
    let bank = &state.bank;
    let outcome = match parsed {
        Body::Credit { reference, wa_id, amount, currency, payer } => {
            // The amount is read in the bank's currency: "$50" is never fifty naira.
            let amount = parse_amount_in(&amount, bank.currency())
                .map_err(|e| ApiError::BadRequest(format!("amount {amount:?} is not an amount: {e}")))?;
            if reference.trim().is_empty() || !wa_id.bytes().all(|b| b.is_ascii_digit()) || wa_id.is_empty() {
                return Err(ApiError::BadRequest("reference and wa_id (digits) are required".into()));
            }
            bank.credit(&reference, &wa_id, amount, &currency, payer.as_deref().unwrap_or(""))
                .await
                .map_err(bank_error)?
        }
        Body::TransferStatus { reference, status, reason } => {
            let status = match status.as_str() {
                "success" => RailStatus::Success,
                "failed" => RailStatus::Failed(reason.unwrap_or_else(|| "failed at the rail".into())),
                "reversed" => RailStatus::Reversed(reason.unwrap_or_else(|| "reversed at the rail".into())),
                other => return Err(ApiError::BadRequest(format!("unknown status {other:?}"))),
            };
            bank.settle(&reference, &status).await.map_err(bank_error)?
        }
    };
    let (code, word) = match outcome {
        Callback::Applied => (StatusCode::OK, "applied"),
        Callback::Duplicate => (StatusCode::OK, "duplicate"),
        Callback::Unknown => (StatusCode::UNPROCESSABLE_ENTITY, "unknown"),
        Callback::Refused => (StatusCode::UNPROCESSABLE_ENTITY, "refused"),
    };
    Ok((code, Json(json!({ "status": word })).into_response()).into_response())
}
