//! Where outbound messages go: Meta's Graph API, or the sandbox sink when there is no token.
//!
//! Errors are classified by Meta's `code`, never by title or HTTP status alone (the reference's
//! §3.7): the class decides whether the sender retries, how it backs off, or gives up.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use url::Url;

use crate::config::WhatsAppConfig;

use super::outbound::read_receipt;

/// Who a message goes to: the `wa_id` received, or a BSUID for a customer known only by username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient<'a> {
    /// A WhatsApp user id (digits).
    WaId(&'a str),
    /// A business-scoped user id.
    Bsuid(&'a str),
}

/// One message to send.
#[derive(Debug, Clone, Copy)]
pub struct SendRequest<'a> {
    /// Where it goes.
    pub recipient: Recipient<'a>,
    /// The message object (`type` and its payload), as stored: never read into a tree.
    pub body: &'a RawValue,
    /// Echoed in status webhooks as `biz_opaque_callback_data`: the outbox id.
    pub callback: &'a str,
}

impl SendRequest<'_> {
    /// The full JSON request Meta expects.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| json!({}))
    }
}

/// The request is written straight from the stored body, not from a copy of it with the
/// recipient added: a reply's body is the largest JSON teller sends.
impl serde::Serialize for SendRequest<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        const OURS: [&str; 5] =
            ["messaging_product", "recipient_type", "to", "recipient", "biz_opaque_callback_data"];
        let mut request = serializer.serialize_map(None)?;
        request.serialize_entry("messaging_product", "whatsapp")?;
        request.serialize_entry("recipient_type", "individual")?;
        match self.recipient {
            Recipient::WaId(id) => request.serialize_entry("to", id)?,
            Recipient::Bsuid(id) => request.serialize_entry("recipient", id)?,
        }
        request.serialize_entry("biz_opaque_callback_data", self.callback)?;
        // A body's own fields never override ours (nor repeat them). Its fields are copied as
        // written, their values never read.
        let fields: BTreeMap<String, &RawValue> = serde_json::from_str(self.body.get()).unwrap_or_default();
        for (key, value) in &fields {
            if !OURS.contains(&key.as_str()) {
                request.serialize_entry(key, value)?;
            }
        }
        request.end()
    }
}

/// Meta took the message: it has an id now, and status webhooks will follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The `wamid` of the message sent.
    pub message_id: String,
}

/// How a failed send should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The number's (or app's) throughput is exhausted: back off (130429, 4, 80007).
    Throughput,
    /// Too many messages to this one customer: back off for them only (131056).
    PairRate,
    /// Temporary on Meta's side, or the request never reached it: retry with backoff.
    Transient,
    /// The request may or may not have been taken (a timeout, a response cut off): retry, but
    /// only after checking the status webhooks for our callback data.
    Uncertain,
    /// Outside the 24-hour window: only a template may go (131047).
    OutsideWindow,
    /// Retrying will not help (bad request, unreachable customer, blocked, token problems).
    Permanent,
}

impl ErrorClass {
    /// Whether a retry may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorClass::Throughput | ErrorClass::PairRate | ErrorClass::Transient | ErrorClass::Uncertain
        )
    }
}

/// Meta's error code for a free-form message outside the 24-hour window.
pub const OUTSIDE_WINDOW_CODE: i64 = 131_047;

/// Meta's error `code` to its class. Codes not listed are permanent: retrying an unknown
/// error forever is how a queue gets stuck.
pub fn classify(code: i64) -> ErrorClass {
    match code {
        130_429 | 4 | 80_007 => ErrorClass::Throughput,
        131_056 => ErrorClass::PairRate,
        131_000 | 1 | 2 | 131_016 | 133_004 | 131_057 => ErrorClass::Transient,
        OUTSIDE_WINDOW_CODE => ErrorClass::OutsideWindow,
        _ => ErrorClass::Permanent,
    }
}

/// A send that did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// What to do about it.
    pub class: ErrorClass,
    /// Meta's error code, when Meta answered with one.
    pub code: Option<i64>,
    /// Meta's message and details, or what went wrong on the way.
    pub message: String,
}

impl SendError {
    fn transport(class: ErrorClass, message: impl Into<String>) -> Self {
        SendError { class, code: None, message: message.into() }
    }
}

/// Sends messages and read receipts.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Sends one message.
    async fn send(&self, request: &SendRequest<'_>) -> Result<Accepted, SendError>;
    /// Marks `message_id` read, showing a typing indicator when `typing`.
    async fn mark_read(&self, message_id: &str, typing: bool) -> Result<(), SendError>;
    /// `graph-api` or `sandbox`.
    fn name(&self) -> &'static str;
}

/// The Cloud API: `POST {base}/{version}/{phone_number_id}/messages` with a bearer token.
pub struct GraphApi {
    http: reqwest::Client,
    messages_url: Url,
    token: SecretString,
}

impl std::fmt::Debug for GraphApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphApi").field("messages_url", &self.messages_url.as_str()).finish_non_exhaustive()
    }
}

impl GraphApi {
    /// A client for the configured number; `None` when no access token is set (the sandbox).
    pub fn from_config(config: &WhatsAppConfig) -> anyhow::Result<Option<GraphApi>> {
        let Some(token) = config.access_token.clone() else { return Ok(None) };
        let Some(number) = config.phone_number_id.as_deref() else {
            anyhow::bail!(
                "WHATSAPP_ACCESS_TOKEN is set but WHATSAPP_PHONE_NUMBER_ID is not: which number sends?"
            );
        };
        let messages_url = config.api_base_url.join(&format!(
            "{}/{}/messages",
            config.api_version.trim_matches('/'),
            number
        ))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(config.send_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("teller/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Some(GraphApi { http, messages_url, token }))
    }

    /// Posts `body` and reads a successful answer as `A` (serde's `IgnoredAny` to read nothing).
    async fn post<A: serde::de::DeserializeOwned>(
        &self,
        body: &(impl serde::Serialize + Sync),
    ) -> Result<A, SendError> {
        let response = self
            .http
            .post(self.messages_url.clone())
            .bearer_auth(self.token.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(request_error)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| {
            // The request was sent and answered; only the body was lost, so it may have been taken.
            SendError::transport(ErrorClass::Uncertain, format!("reading the Graph API response failed: {e}"))
        })?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|_| {
                SendError::transport(
                    ErrorClass::Uncertain,
                    format!("Graph API answered {status} with an unreadable body"),
                )
            });
        }
        Err(graph_error(status, &bytes))
    }
}

fn request_error(e: reqwest::Error) -> SendError {
    if e.is_connect() {
        // Nothing reached Meta: safe to retry.
        SendError::transport(ErrorClass::Transient, format!("cannot connect to the Graph API: {e}"))
    } else if e.is_timeout() {
        SendError::transport(ErrorClass::Uncertain, "the Graph API did not answer in time")
    } else {
        SendError::transport(ErrorClass::Uncertain, format!("the Graph API request failed: {e}"))
    }
}

/// What Meta answers a send it took: the new message's id, read alone (its `contacts` are not
/// needed).
#[derive(Deserialize)]
struct SendAnswer {
    #[serde(default)]
    messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
struct SentMessage {
    id: String,
}

#[derive(Deserialize)]
struct GraphErrorBody {
    error: GraphErrorDetail,
}

#[derive(Deserialize)]
struct GraphErrorDetail {
    code: Option<i64>,
    message: Option<String>,
    error_data: Option<GraphErrorData>,
}

#[derive(Deserialize)]
struct GraphErrorData {
    details: Option<String>,
}

/// An error answer to its class: by Meta's code when there is one, else by HTTP status.
fn graph_error(status: reqwest::StatusCode, body: &[u8]) -> SendError {
    match serde_json::from_slice::<GraphErrorBody>(body) {
        Ok(GraphErrorBody { error: GraphErrorDetail { code: Some(code), message, error_data } }) => {
            let mut text = message.unwrap_or_else(|| format!("Graph API error {code}"));
            if let Some(details) = error_data.and_then(|d| d.details) {
                text = format!("{text}: {details}");
            }
            SendError { class: classify(code), code: Some(code), message: text }
        }
        _ => {
            let class = if status.is_server_error() {
                ErrorClass::Transient
            } else if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                ErrorClass::Throughput
            } else {
                ErrorClass::Permanent
            };
            SendError::transport(class, format!("Graph API answered {status} without an error code"))
        }
    }
}

#[async_trait]
impl Transport for GraphApi {
    async fn send(&self, request: &SendRequest<'_>) -> Result<Accepted, SendError> {
        let answer: SendAnswer = self.post(request).await?;
        match answer.messages.into_iter().next() {
            Some(SentMessage { id }) => Ok(Accepted { message_id: id }),
            None => Err(SendError::transport(
                ErrorClass::Uncertain,
                "Graph API accepted the send without a message id",
            )),
        }
    }

    async fn mark_read(&self, message_id: &str, typing: bool) -> Result<(), SendError> {
        self.post::<serde::de::IgnoredAny>(&read_receipt(message_id, typing)).await.map(drop)
    }

    fn name(&self) -> &'static str {
        "graph-api"
    }
}

/// With no access token: every message is taken and recorded as sent with a `sandbox.` id in the
/// outbox, where the simulator reads it. Nothing leaves the machine.
#[derive(Debug, Default)]
pub struct Sandbox;

/// The prefix of the message ids the sandbox gives.
pub const SANDBOX_ID_PREFIX: &str = "sandbox.";

#[async_trait]
impl Transport for Sandbox {
    async fn send(&self, request: &SendRequest<'_>) -> Result<Accepted, SendError> {
        Ok(Accepted { message_id: format!("{SANDBOX_ID_PREFIX}{}", request.callback) })
    }

    async fn mark_read(&self, _message_id: &str, _typing: bool) -> Result<(), SendError> {
        Ok(())
    }

    fn name(&self) -> &'static str {
        "sandbox"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::whatsapp::outbound::raw;

    #[test]
    fn meta_codes_map_to_their_retry_class() {
        assert_eq!(classify(130_429), ErrorClass::Throughput);
        assert_eq!(classify(131_056), ErrorClass::PairRate);
        assert_eq!(classify(131_000), ErrorClass::Transient);
        assert_eq!(classify(131_047), ErrorClass::OutsideWindow);
        for permanent in [131_026, 131_051, 100, 131_009, 190, 0, 130_403, 131_050, 131_062, 123_456] {
            assert_eq!(classify(permanent), ErrorClass::Permanent, "{permanent}");
            assert!(!classify(permanent).is_retryable());
        }
    }

    #[test]
    fn error_bodies_are_read_by_code_then_by_status() {
        let body = br#"{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,
            "error_data":{"messaging_product":"whatsapp","details":"Cloud API message throughput has been reached."}}}"#;
        let e = graph_error(reqwest::StatusCode::BAD_REQUEST, body);
        assert_eq!(e.class, ErrorClass::Throughput);
        assert_eq!(e.code, Some(130_429));
        assert!(e.message.contains("throughput has been reached"), "{}", e.message);
        assert_eq!(graph_error(reqwest::StatusCode::BAD_GATEWAY, b"<html>").class, ErrorClass::Transient);
        assert_eq!(graph_error(reqwest::StatusCode::TOO_MANY_REQUESTS, b"").class, ErrorClass::Throughput);
        assert_eq!(graph_error(reqwest::StatusCode::BAD_REQUEST, b"{}").class, ErrorClass::Permanent);
    }

    #[test]
    fn the_access_token_never_shows_in_debug_output() {
        let config = crate::config::Config::from_vars([
            ("WHATSAPP_ACCESS_TOKEN".to_owned(), "EAAG-very-secret".to_owned()),
            ("WHATSAPP_PHONE_NUMBER_ID".to_owned(), "100".to_owned()),
        ])
        .unwrap();
        let api = GraphApi::from_config(&config.whatsapp).unwrap().unwrap();
        let shown = format!("{api:?} {:?}", config.whatsapp);
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("/v25.0/100/messages"), "{shown}");
    }

    /// A Graph API on a free port that answers every send `200` with `answer`.
    async fn answering(answer: &'static str) -> GraphApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/", listener.local_addr().unwrap());
        let router = axum::Router::new().route(
            "/{version}/{number}/messages",
            axum::routing::post(move || async move { ([("content-type", "application/json")], answer) }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await });
        let config = crate::config::Config::from_vars([
            ("WHATSAPP_ACCESS_TOKEN".to_owned(), "t".to_owned()),
            ("WHATSAPP_PHONE_NUMBER_ID".to_owned(), "100".to_owned()),
            ("WHATSAPP_API_BASE_URL".to_owned(), base),
        ])
        .unwrap();
        GraphApi::from_config(&config.whatsapp).unwrap().unwrap()
    }

    #[tokio::test]
    async fn a_send_is_taken_with_the_id_meta_gives_it_and_an_answer_without_one_is_uncertain() {
        let body = raw(&json!({ "type": "text", "text": { "body": "hi" } }));
        let request = SendRequest { recipient: Recipient::WaId("2348012345678"), body: &body, callback: "7" };
        let taken = answering(
            r#"{"messaging_product":"whatsapp","contacts":[{"input":"2348012345678","wa_id":"2348012345678"}],
                "messages":[{"id":"wamid.HBgN","message_status":"accepted"}]}"#,
        )
        .await;
        assert_eq!(taken.send(&request).await.unwrap().message_id, "wamid.HBgN");
        for (answer, says) in [
            (r#"{"messaging_product":"whatsapp","messages":[]}"#, "without a message id"),
            (r#"{"messaging_product":"whatsapp"}"#, "without a message id"),
            (r#"{"messages":[{"id":17}]}"#, "unreadable body"),
            ("<html>ok</html>", "unreadable body"),
        ] {
            let error = answering(answer).await.send(&request).await.unwrap_err();
            assert_eq!(error.class, ErrorClass::Uncertain, "{answer}");
            assert!(error.message.contains(says), "{answer}: {}", error.message);
        }
        let read = answering(r#"{"success":true}"#).await;
        read.mark_read("wamid.HBgN", true).await.unwrap();
    }

    #[test]
    fn a_token_without_a_sending_number_is_refused() {
        let config =
            crate::config::Config::from_vars([("WHATSAPP_ACCESS_TOKEN".to_owned(), "t".to_owned())]).unwrap();
        assert!(GraphApi::from_config(&config.whatsapp).is_err());
    }

    #[test]
    fn requests_carry_the_recipient_and_our_callback_data() {
        let body = raw(&json!({ "type": "text", "text": { "body": "hi" } }));
        let to_number =
            SendRequest { recipient: Recipient::WaId("2348012345678"), body: &body, callback: "42" };
        let json = to_number.to_json();
        assert_eq!(json["to"], "2348012345678");
        assert_eq!(json["messaging_product"], "whatsapp");
        assert_eq!(json["biz_opaque_callback_data"], "42");
        assert_eq!(json["text"]["body"], "hi");
        let to_user = SendRequest { recipient: Recipient::Bsuid("NG.1234"), ..to_number };
        let json = to_user.to_json();
        assert_eq!(json["recipient"], "NG.1234");
        assert!(json.get("to").is_none());
    }

    #[test]
    fn a_body_cannot_override_the_recipient_or_the_callback_and_each_key_is_written_once() {
        let body = raw(&json!({ "type": "text", "to": "2340000000000", "biz_opaque_callback_data": "9",
                                "text": { "body": "hi" } }));
        let request =
            SendRequest { recipient: Recipient::WaId("2348012345678"), body: &body, callback: "42" };
        let written = serde_json::to_string(&request).unwrap();
        assert_eq!(written.matches("\"to\"").count(), 1, "{written}");
        assert_eq!(written.matches("biz_opaque_callback_data").count(), 1, "{written}");
        let json = request.to_json();
        assert_eq!(
            (json["to"].as_str(), json["biz_opaque_callback_data"].as_str()),
            (Some("2348012345678"), Some("42"))
        );
        assert_eq!(json["text"]["body"], "hi");
        let not_an_object = raw(&json!("text"));
        let bare = SendRequest { body: &not_an_object, ..request }.to_json();
        assert_eq!(bare["to"], "2348012345678", "a body that is not an object adds nothing");
    }
}
