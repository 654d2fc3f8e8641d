//! `GET /webhook` (Meta's handshake) and `POST /webhook` (notifications into the inbox).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::http::{ApiError, AppState};
use crate::signature;
use crate::whatsapp::health;
use crate::whatsapp::notification::Notification;

/// The webhook routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/webhook", get(handshake).post(receive))
}

#[derive(Debug, Deserialize)]
struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// Echoes `hub.challenge` when the mode is `subscribe` and the token is ours; 403 otherwise,
/// including when no verify token is configured.
async fn handshake(State(state): State<AppState>, Query(query): Query<Handshake>) -> Response {
    let expected = state.config.whatsapp.verify_token.as_ref();
    let token_ok = match (expected, &query.verify_token) {
        (Some(expected), Some(given)) => {
            signature::secrets_match(given.as_bytes(), expected.expose_secret().as_bytes())
        }
        _ => false,
    };
    let challenge = query
        .challenge
        .filter(|c| !c.is_empty() && c.len() <= 256 && c.bytes().all(|b| b.is_ascii_graphic()));
    match challenge {
        Some(challenge) if token_ok && query.mode.as_deref() == Some("subscribe") => {
            tracing::info!("webhook subscription verified");
            (StatusCode::OK, challenge).into_response()
        }
        _ => {
            tracing::warn!("webhook handshake refused");
            StatusCode::FORBIDDEN.into_response()
        }
    }
}

/// Verifies the signature over the raw bytes, then stores the payload, its new messages and its
/// statuses in one transaction (shared with the webhooks that arrive with it, see
/// [`crate::whatsapp::intake`]), and only then answers 200. A body that verifies but cannot be
/// understood is stored for inspection and also answered 200: refusing it would make Meta retry
/// a poison payload for 7 days. Only a store outage answers 503, so Meta retries.
#[tracing::instrument(skip_all, fields(bytes = body.len()))]
async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let metrics = &state.metrics;
    let Some(secret) = state.config.whatsapp.app_secret.as_ref() else {
        tracing::warn!("WHATSAPP_APP_SECRET is not set: no webhook can be verified");
        metrics.webhook("unverified");
        return Err(ApiError::Unauthorized);
    };
    let header = headers.get(signature::HEADER).map(|v| v.as_bytes());
    if !signature::verify(secret.expose_secret().as_bytes(), &body, header) {
        tracing::warn!(signed = header.is_some(), "webhook signature did not verify");
        metrics.webhook("bad_signature");
        return Err(ApiError::Unauthorized);
    }

    let (mut notification, problems) = match Notification::parse(&body) {
        Ok(n) => {
            let problems = (!n.problems.is_empty()).then(|| n.problems.join("; "));
            (n, problems)
        }
        Err(not_one) => (Notification::default(), Some(not_one.to_string())),
    };
    for error in &notification.errors {
        tracing::warn!(code = error.code, title = ?error.title, "WhatsApp reported an error");
    }
    let now = Utc::now();
    let account = std::mem::take(&mut notification.account);
    match state.intake.accept(body, notification, problems, now).await {
        Ok(accepted) => {
            // Templates' and the number's health: after the payload is stored, so a failure
            // here (503) makes Meta deliver it again, and recording it again changes nothing.
            match health::apply(state.store.as_ref(), &account, &metrics.whatsapp_alerts, now).await {
                Ok(applied) if applied.resumed => state.outbox_wake.signal(),
                Ok(_) => {}
                Err(err) => {
                    metrics.webhook("unavailable");
                    return Err(ApiError::Unavailable(err.into()));
                }
            }
            metrics.webhook("accepted");
            metrics.inbox(accepted.new_messages, accepted.duplicates, accepted.statuses_applied);
            if accepted.new_messages > 0 {
                // The intake woke this instance's dispatcher with the commit.
                wake_other_instances(&state).await;
            }
            Ok(StatusCode::OK)
        }
        Err(err) if err.is_unavailable() => {
            metrics.webhook("unavailable");
            Err(ApiError::Unavailable(err.into()))
        }
        Err(err) => {
            metrics.webhook("failed");
            Err(ApiError::Internal(err.into()))
        }
    }
}

/// Wakes the other instances' dispatchers, through the KV, naming nobody. A lost wake-up only
/// delays handling until the next poll: the inbox, not the notification, is the truth. Under
/// load the others are woken at most every [`PUBLISH_EVERY_MS`], not once per webhook; one
/// woken less than that after the last is woken again when the interval is up. So every
/// message is followed by a wake-up of every instance, one an instance whose round held that
/// customer's message before it counts as work queued meanwhile (see [`crate::rounds`]).
pub(crate) async fn wake_other_instances(state: &AppState) {
    let published = &state.wake_published;
    let last = published.last.load(Ordering::Relaxed);
    let now = now_millis();
    if now.saturating_sub(last) >= PUBLISH_EVERY_MS
        && published.last.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    {
        publish(state).await;
        return;
    }
    if published.trailing.compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
        let state = state.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(PUBLISH_EVERY_MS)).await;
            // Cleared first: a message queued from here on wakes the others again itself.
            state.wake_published.trailing.store(false, Ordering::Release);
            state.wake_published.last.store(now_millis(), Ordering::Relaxed);
            publish(&state).await;
        });
    }
}

/// When this instance last woke the others, and whether a wake-up of theirs is due.
#[derive(Default)]
pub struct WakePublished {
    /// When the last was published (Unix milliseconds).
    last: AtomicU64,
    /// One is due at the end of the interval.
    trailing: AtomicBool,
}

async fn publish(state: &AppState) {
    if let Err(err) = state.kv.publish(crate::dispatch::WAKE_CHANNEL, state.wake.origin().as_bytes()).await {
        tracing::debug!(error = %err, "could not publish an inbox wake-up");
    }
}

fn now_millis() -> u64 {
    u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0)
}

/// The shortest interval between two wake-ups published to other instances.
const PUBLISH_EVERY_MS: u64 = 50;
