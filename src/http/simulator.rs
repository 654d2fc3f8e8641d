//! `/simulator`: a WhatsApp-like page to chat with the bot on the sandbox, and the small JSON
//! API behind it (which `teller chat` uses too).
//!
//! A message typed in the simulator takes the customer's path from the inbox on: it is built as
//! Meta would send it, stored in the inbox, handled by the dispatcher and the engine, and its
//! replies go through the outbox to the sandbox, where the page reads them. Only the signature
//! check is skipped, which is why the simulator exists only in the sandbox (no
//! `WHATSAPP_ACCESS_TOKEN`): it can never inject messages for real customers. Money comes in
//! the same way: `POST /simulator/api/credit` (the page's "Add money", `teller sandbox credit`)
//! builds the provider's credit callback and applies it as a verified one is applied.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::conversation::FormAnswer;
use crate::http::ApiError;
use crate::http::AppState;
use crate::http::{payments, webhook};
use crate::whatsapp::graph::SANDBOX_ID_PREFIX;
use crate::whatsapp::notification::Notification;

/// The page and its assets, built into the binary.
#[derive(rust_embed::Embed)]
#[folder = "assets/simulator/"]
struct Assets;

/// The simulator's routes. They answer 404 unless replies go to the sandbox.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/simulator", get(|state| asset(state, Path("index.html".to_owned()))))
        .route("/simulator/assets/{file}", get(asset))
        .route("/simulator/api/messages", get(messages).post(send))
        .route("/simulator/api/session", get(session))
        .route("/simulator/api/credit", axum::routing::post(credit))
        .route("/simulator/api/form", axum::routing::post(form))
}

/// The simulator exists only while replies go to the sandbox.
fn sandbox_only(state: &AppState) -> Result<(), ApiError> {
    if state.transport.name() == "sandbox" { Ok(()) } else { Err(ApiError::NotFound) }
}

async fn asset(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    if let Err(hidden) = sandbox_only(&state) {
        return hidden.into_response();
    }
    let Some(content) = Assets::get(&file) else { return ApiError::NotFound.into_response() };
    let mime = match file.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    };
    let mut response = (content.data.into_owned()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[derive(Debug, Deserialize)]
struct Customer {
    phone: String,
}

/// What the simulated customer sends: text, a tapped reply, or a media message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Outgoing {
    phone: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    reply: Option<Reply>,
    #[serde(default)]
    media: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    id: String,
    title: String,
    /// `button` or `list`.
    kind: String,
    /// The reply (its id in `GET /simulator/api/messages`) the button or row was on: sent as
    /// the message's `context`, as WhatsApp does, so a tap on an earlier message is refused.
    #[serde(default)]
    message: Option<i64>,
}

fn checked_phone(phone: &str) -> Result<&str, ApiError> {
    let ok = (8..=15).contains(&phone.len()) && phone.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(phone)
    } else {
        Err(ApiError::BadRequest("phone must be 8 to 15 digits, e.g. 2348030000001".into()))
    }
}

/// Puts the customer's message in the inbox, shaped as Meta sends it.
async fn send(State(state): State<AppState>, Json(out): Json<Outgoing>) -> Result<Json<Value>, ApiError> {
    sandbox_only(&state)?;
    let phone = checked_phone(&out.phone)?;
    let message_id = format!("wamid.simulator.{}", uuid::Uuid::new_v4().simple());
    let now = Utc::now();
    let mut message = json!({ "from": phone, "id": message_id, "timestamp": now.timestamp().to_string() });
    match (out.text, out.reply, out.media) {
        (Some(text), None, None) if !text.trim().is_empty() && text.len() <= 4096 => {
            message["type"] = json!("text");
            message["text"] = json!({ "body": text });
        }
        (None, Some(reply), None) => {
            let kind = match reply.kind.as_str() {
                "button" => "button_reply",
                "list" => "list_reply",
                _ => return Err(ApiError::BadRequest("reply.kind is button or list".into())),
            };
            message["type"] = json!("interactive");
            message["interactive"] = json!({ "type": kind, kind: { "id": reply.id, "title": reply.title } });
            if let Some(on) = reply.message {
                message["context"] = json!({ "from": "simulator", "id": format!("{SANDBOX_ID_PREFIX}{on}") });
            }
        }
        (None, None, Some(media))
            if matches!(media.as_str(), "audio" | "image" | "video" | "document" | "sticker") =>
        {
            message["type"] = json!(media);
            message[&media] = json!({ "id": "simulator-media", "mime_type": "application/octet-stream" });
        }
        _ => {
            return Err(ApiError::BadRequest(
                "send one of: text (1 to 4096 characters), reply, media".into(),
            ));
        }
    }
    accept(&state, phone, message, now).await?;
    Ok(Json(json!({ "id": message_id })))
}

/// Puts `message` from `phone` in the inbox inside a notification shaped as Meta sends it, and
/// wakes the dispatchers.
async fn accept(
    state: &AppState,
    phone: &str,
    message: Value,
    now: chrono::DateTime<Utc>,
) -> Result<(), ApiError> {
    let phone_number_id = state.config.whatsapp.phone_number_id.clone().unwrap_or_else(|| "simulator".into());
    let body = json!({ "object": "whatsapp_business_account", "entry": [{ "id": "simulator", "changes": [{
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "simulator", "phone_number_id": phone_number_id },
            "contacts": [{ "profile": { "name": "Simulator" }, "wa_id": phone }],
            "messages": [message],
        },
    }] }] });
    let bytes = serde_json::to_vec(&body).map_err(anyhow::Error::from)?;
    let notification = Notification::parse(&bytes).map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
    // Through the intake, as a webhook is: it wakes this instance's dispatcher with the commit.
    let accepted = state.intake.accept(bytes.into(), notification, None, now).await.map_err(|e| {
        if e.is_unavailable() { ApiError::Unavailable(e.into()) } else { ApiError::Internal(e.into()) }
    })?;
    if accepted.new_messages > 0 {
        webhook::wake_other_instances(state).await;
    }
    Ok(())
}

/// What the simulated customer submits in a form (a WhatsApp Flow on a phone).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Submitted {
    phone: String,
    token: String,
    data: serde_json::Map<String, Value>,
}

/// A form's answer, taken as the Flows endpoint takes it (without Meta's encryption, which is
/// between WhatsApp and the endpoint): the same screen again with an error, or closed; then,
/// as WhatsApp does, the completion message goes into the inbox.
async fn form(State(state): State<AppState>, Json(submitted): Json<Submitted>) -> Result<Response, ApiError> {
    sandbox_only(&state)?;
    let phone = checked_phone(&submitted.phone)?;
    if submitted.token.len() > 100 || submitted.data.len() > 4 {
        return Err(ApiError::BadRequest("a form has a token and at most 4 fields".into()));
    }
    let now = state.clock.now();
    let data = Value::Object(submitted.data);
    let answer = state.conversations.form_exchange(&submitted.token, "data_exchange", &data, now).await?;
    match answer {
        FormAnswer::Screen { screen, data } => {
            Ok(Json(json!({ "screen": screen, "data": data })).into_response())
        }
        FormAnswer::Done { params } => {
            let message_id = format!("wamid.simulator.{}", uuid::Uuid::new_v4().simple());
            let message = json!({ "from": phone, "id": message_id, "timestamp": now.timestamp().to_string(),
                "type": "interactive", "interactive": { "type": "nfm_reply", "nfm_reply": {
                    "name": "flow", "body": "Sent", "response_json": params.to_string() } } });
            accept(&state, phone, message, now).await?;
            Ok(Json(json!({ "done": true, "id": message_id })).into_response())
        }
        FormAnswer::Stale => Ok((
            axum::http::StatusCode::from_u16(427).unwrap_or(axum::http::StatusCode::CONFLICT),
            Json(json!({ "error": "This form is no longer open. Please go back to the chat." })),
        )
            .into_response()),
    }
}

/// The replies to the customer so far, oldest first, as the Graph API would receive them.
async fn messages(
    State(state): State<AppState>,
    Query(customer): Query<Customer>,
) -> Result<Json<Value>, ApiError> {
    sandbox_only(&state)?;
    let phone = checked_phone(&customer.phone)?;
    let outbox = state
        .store
        .outbox_for_recipient(&crate::phone::customer_key(phone))
        .await
        .map_err(anyhow::Error::from)?;
    let replies: Vec<Value> = outbox
        .iter()
        .map(|m| json!({ "id": m.id, "state": m.state, "in_reply_to": m.in_reply_to, "body": m.body.0 }))
        .collect();
    Ok(Json(json!({ "messages": replies })))
}

/// The customer's session as the engine sees it, sensitive values masked.
async fn session(
    State(state): State<AppState>,
    Query(customer): Query<Customer>,
) -> Result<Json<Value>, ApiError> {
    sandbox_only(&state)?;
    let phone = checked_phone(&customer.phone)?;
    let record = state.conversations.record(&crate::phone::customer_key(phone)).await?;
    Ok(Json(match record {
        Some(record) => state.conversations.describe(&record.session),
        None => json!(null),
    }))
}

/// Money for the sandbox customer: an amount as a customer writes it ("5000", "₦20,000").
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Credit {
    phone: String,
    amount: String,
}

/// Adds money to a sandbox customer's wallet, as the payment provider's credit callback does:
/// the same reading of the amount, the same limits (a tier's maximum balance refuses it), the
/// same posting and the same notice to the customer.
async fn credit(State(state): State<AppState>, Json(credit): Json<Credit>) -> Result<Response, ApiError> {
    sandbox_only(&state)?;
    let phone = checked_phone(&credit.phone)?;
    if credit.amount.chars().count() > 40 {
        return Err(ApiError::BadRequest("amount: at most 40 characters".into()));
    }
    let callback = json!({
        "type": "credit",
        "reference": format!("SANDBOX-{}", uuid::Uuid::new_v4().simple()),
        "wa_id": phone,
        "amount": credit.amount,
        "currency": state.bank.currency(),
        "payer": "Sandbox",
    });
    let bytes = serde_json::to_vec(&callback).map_err(anyhow::Error::from)?;
    // The bank wakes the sender for its notice itself: nothing inbound to dispatch.
    payments::apply(&state, &bytes).await
}
