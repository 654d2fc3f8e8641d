//! `POST /webhook/flows`: the WhatsApp Flows data-exchange endpoint (Meta's "Implementing your
//! Flow endpoint"). The order of checks is the contract:
//!
//! 1. `X-Hub-Signature-256` over the raw body with the app secret, else **432**, nothing read;
//! 2. the body opened with `WHATSAPP_FLOWS_PRIVATE_KEY`, else **421** (the client fetches the
//!    public key again);
//! 3. `ping` answered `{"data":{"status":"active"}}`; an error notification acknowledged;
//! 4. anything else is a form's request under its `flow_token`, answered by the conversation
//!    ([`crate::conversation::Conversations::form_exchange`]); a token that is unknown, spent,
//!    expired or no longer on screen gets **427**, and changes nothing.
//!
//! Answers are sealed with the request's key and inverted IV, sent as base64 `text/plain`.
//! Nothing here logs a request's data: it holds PINs.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::conversation::FormAnswer;
use crate::http::AppState;
use crate::signature;

/// The largest request read: a form's request is a few hundred bytes.
const MAX_BODY: usize = 64 * 1024;
/// 421: the request could not be decrypted.
const UNDECRYPTABLE: u16 = 421;
/// 427: the flow token is no longer valid.
const STALE_TOKEN: u16 = 427;
/// 432: the request signature did not verify.
const BAD_SIGNATURE: u16 = 432;

/// The Flows endpoint's route.
pub fn router() -> Router<AppState> {
    Router::new().route("/webhook/flows", post(exchange))
}

/// A decrypted request.
#[derive(Debug, Deserialize)]
struct Request {
    #[serde(default)]
    action: String,
    #[serde(default)]
    flow_token: Option<String>,
    #[serde(default)]
    data: Value,
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

#[tracing::instrument(skip_all, fields(bytes = body.len()))]
async fn exchange(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(key) = state.flows_key.clone() else {
        return (StatusCode::NOT_FOUND, "WhatsApp Flows are not configured here").into_response();
    };
    let Some(secret) = state.config.whatsapp.app_secret.as_ref() else {
        tracing::warn!("WHATSAPP_APP_SECRET is not set: no Flows request can be verified");
        state.metrics.flows("unverified");
        return status(BAD_SIGNATURE).into_response();
    };
    if body.len() > MAX_BODY {
        state.metrics.flows("too_large");
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let header = headers.get(signature::HEADER).map(|v| v.as_bytes());
    if !signature::verify(secret.expose_secret().as_bytes(), &body, header) {
        tracing::warn!(signed = header.is_some(), "a Flows request's signature did not verify");
        state.metrics.flows("bad_signature");
        return status(BAD_SIGNATURE).into_response();
    }
    // RSA is the costly part: off the async threads.
    let opened = match tokio::task::spawn_blocking(move || key.open(&body)).await {
        Ok(Ok(opened)) => opened,
        Ok(Err(why)) => {
            tracing::warn!(%why, "a Flows request could not be decrypted: 421, so the client refetches the key");
            state.metrics.flows("undecryptable");
            return status(UNDECRYPTABLE).into_response();
        }
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let Ok(request) = serde_json::from_slice::<Request>(&opened.plaintext) else {
        state.metrics.flows("undecryptable");
        return status(UNDECRYPTABLE).into_response();
    };
    let answer = match answer(&state, &request).await {
        Ok(Some(answer)) => answer,
        Ok(None) => {
            state.metrics.flows("stale");
            let message = json!({ "error_msg": "This form is no longer open. Please go back to the chat." });
            return (status(STALE_TOKEN), axum::Json(message)).into_response();
        }
        Err(err) => {
            tracing::error!(error = %err, "a Flows request failed");
            state.metrics.flows("failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let sealed = opened.sealer.seal(answer.to_string().as_bytes());
    let mut response = sealed.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// The answer to an opened request, before sealing; `None` for a stale token.
async fn answer(state: &AppState, request: &Request) -> anyhow::Result<Option<Value>> {
    if request.action == "ping" {
        state.metrics.flows("ping");
        return Ok(Some(json!({ "data": { "status": "active" } })));
    }
    if let Some(error) = request.data.get("error") {
        // The client reports a problem with an earlier answer of ours.
        tracing::warn!(error = %error, "WhatsApp reported a problem with a form's answer");
        state.metrics.flows("error_notification");
        return Ok(Some(json!({ "data": { "acknowledged": true } })));
    }
    let Some(token) = request.flow_token.as_deref() else { return Ok(None) };
    let answer =
        state.conversations.form_exchange(token, &request.action, &request.data, state.clock.now()).await?;
    Ok(match answer {
        FormAnswer::Screen { screen, data } => {
            state.metrics.flows("screen");
            Some(json!({ "screen": screen, "data": data }))
        }
        FormAnswer::Done { params } => {
            state.metrics.flows("done");
            Some(
                json!({ "screen": "SUCCESS", "data": { "extension_message_response": { "params": params } } }),
            )
        }
        FormAnswer::Stale => None,
    })
}
