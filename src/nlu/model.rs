//! The optional model: an OpenAI-compatible chat completion that reads what the rules could not,
//! under guard rails.
//!
//! - Only the customer's message goes, with every run of four or more digits replaced by a
//!   placeholder (`[N1]`): a PIN, a one-time code, an account or phone number never leaves
//!   teller. The model answers with placeholders, which are put back here.
//! - The answer must fit a strict JSON schema: an intent from a closed list and three optional
//!   values. Anything else (a refusal, malformed JSON, an unknown intent) is no understanding.
//! - What the model proposes is validated by the same parsers as typed text, and a value must
//!   come from the message itself: a model cannot invent an amount or a number.
//! - A short timeout, no retries, and a circuit breaker: after repeated failures the model is
//!   not asked for a while, then one trial request decides whether to ask again.
//!
//! The model proposes; it never calls an action. Its understanding starts a flow at most, and
//! the flow confirms and asks for the PIN as always.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs,
    ResponseFormat, ResponseFormatJsonSchema,
};
use chrono::{DateTime, Utc};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use regex::Regex;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{Intent, Source, Understanding};
use crate::clock::{Clock, SystemClock};
use crate::flows::input;
use crate::metrics::NluLabels;
use crate::money;

/// `OPENAI_MODEL`'s default.
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";
/// `OPENAI_TIMEOUT_MS`'s default: a customer waits for this at most before the menu.
pub const DEFAULT_TIMEOUT: Duration = crate::config::DEFAULT_OPENAI_TIMEOUT;
/// Failures in a row that open the breaker.
pub const BREAKER_FAILURES: u32 = 5;
/// How long an open breaker stays open before one trial request.
pub const BREAKER_COOLDOWN: Duration = Duration::from_secs(30);
/// The longest message sent (the rest is not a request to a bank).
const MAX_CHARS: usize = 500;

/// How to reach the model.
#[derive(Clone)]
pub struct ModelConfig {
    /// `OPENAI_API_KEY`.
    pub api_key: SecretString,
    /// `OPENAI_BASE_URL`: a compatible server instead of OpenAI's (`…/v1`).
    pub base_url: Option<String>,
    /// `OPENAI_MODEL`.
    pub model: String,
    /// `OPENAI_TRANSCRIPTION_MODEL`: voice notes are transcribed only when set.
    pub transcription_model: Option<String>,
    /// `OPENAI_TIMEOUT_MS`.
    pub timeout: Duration,
    /// Failures in a row that open the breaker.
    pub breaker_failures: u32,
    /// How long the breaker stays open.
    pub breaker_cooldown: Duration,
}

impl std::fmt::Debug for ModelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("transcription_model", &self.transcription_model)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ModelConfig {
    /// A configuration for `api_key` with every default.
    pub fn new(api_key: SecretString) -> ModelConfig {
        ModelConfig {
            api_key,
            base_url: None,
            model: DEFAULT_MODEL.to_owned(),
            transcription_model: None,
            timeout: DEFAULT_TIMEOUT,
            breaker_failures: BREAKER_FAILURES,
            breaker_cooldown: BREAKER_COOLDOWN,
        }
    }
}

/// Why the model gave no understanding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The breaker is open: the model was not asked.
    #[error("the model is not asked for now: it failed repeatedly")]
    Open,
    /// No answer in time.
    #[error("the model did not answer within {0:?}")]
    Timeout(Duration),
    /// The request failed (connection, HTTP error, rate limit).
    #[error("the model request failed: {0}")]
    Transport(String),
    /// An answer that does not fit the schema.
    #[error("the model's answer does not fit the schema: {0}")]
    Malformed(String),
    /// The model declined to answer.
    #[error("the model refused: {0}")]
    Refused(String),
}

impl ModelError {
    /// The label metrics count it under.
    pub fn label(&self) -> &'static str {
        match self {
            ModelError::Open => "open",
            ModelError::Timeout(_) => "timeout",
            ModelError::Transport(_) => "error",
            ModelError::Malformed(_) => "malformed",
            ModelError::Refused(_) => "refused",
        }
    }
}

/// The model, its guard rails and its breaker.
pub struct Model {
    client: Client<OpenAIConfig>,
    config: ModelConfig,
    breaker: Breaker,
    counts: Family<NluLabels, Counter>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Model {
    /// A client for `config`: no retries (the timeout is the customer's wait), the breaker closed.
    pub fn new(config: ModelConfig) -> anyhow::Result<Model> {
        let mut openai = OpenAIConfig::new().with_api_key(config.api_key.expose_secret());
        if let Some(base) = &config.base_url {
            openai = openai.with_api_base(base.trim_end_matches('/'));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(config.timeout + Duration::from_secs(1))
            .user_agent(concat!("teller/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let no_retries =
            backoff::ExponentialBackoff { max_elapsed_time: Some(Duration::ZERO), ..Default::default() };
        let client = Client::with_config(openai).with_http_client(http).with_backoff(no_retries);
        let breaker = Breaker::new(config.breaker_failures, config.breaker_cooldown);
        Ok(Model { client, config, breaker, counts: Family::default(), clock: Arc::new(SystemClock) })
    }

    /// Reads the time for the breaker's cooldown from `clock` (tests move it).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Model {
        self.clock = clock;
        self
    }

    /// Counts requests by outcome into `counts` (the app's [`crate::metrics::Metrics::nlu`]).
    pub fn counting_into(mut self, counts: Family<NluLabels, Counter>) -> Model {
        self.counts = counts;
        self
    }

    fn record(&self, outcome: &'static str) {
        self.counts.get_or_create(&NluLabels { reader: "model", outcome }).inc();
    }

    /// The configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The HTTP client the model's requests use.
    pub fn client(&self) -> &Client<OpenAIConfig> {
        &self.client
    }

    /// Whether the breaker lets a request through now (without using the trial).
    pub fn is_open(&self) -> bool {
        self.breaker.is_open(self.clock.now())
    }

    /// What `text` (in `language`) asks for, as the model reads it; values checked by the
    /// parsers and against the message.
    pub async fn understand(
        &self,
        text: &str,
        language: &str,
        country_code: &str,
    ) -> Result<Understanding, ModelError> {
        if !self.breaker.allow(self.clock.now()) {
            self.record("open");
            return Err(ModelError::Open);
        }
        let redacted = Redacted::new(text);
        let outcome = self.ask(&redacted, language).await;
        match &outcome {
            Ok(_) | Err(ModelError::Refused(_)) => self.breaker.success(),
            Err(_) => self.breaker.failure(self.clock.now()),
        }
        let outcome = outcome.map(|proposal| proposal.validate(&redacted, country_code));
        self.record(match &outcome {
            Ok(_) => "ok",
            Err(e) => e.label(),
        });
        outcome
    }

    async fn ask(&self, redacted: &Redacted, language: &str) -> Result<Proposal, ModelError> {
        let request = CreateChatCompletionRequestArgs::default()
            .model(self.config.model.clone())
            .max_completion_tokens(120u32)
            .messages(vec![
                ChatCompletionRequestSystemMessage::from(instructions(language).as_str()).into(),
                ChatCompletionRequestUserMessage::from(redacted.text.as_str()).into(),
            ])
            .response_format(ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    description: Some("A banking customer's request".to_owned()),
                    name: "request".to_owned(),
                    schema: Some(schema()),
                    strict: Some(true),
                },
            })
            .build()
            .map_err(|e| ModelError::Transport(e.to_string()))?;
        let chat = self.client.chat();
        let response = match tokio::time::timeout(self.config.timeout, chat.create(request)).await {
            Err(_) => return Err(ModelError::Timeout(self.config.timeout)),
            Ok(Err(async_openai::error::OpenAIError::JSONDeserialize(e, _))) => {
                return Err(ModelError::Malformed(e.to_string()));
            }
            Ok(Err(e)) => return Err(ModelError::Transport(e.to_string())),
            Ok(Ok(response)) => response,
        };
        let Some(choice) = response.choices.into_iter().next() else {
            return Err(ModelError::Malformed("no choices".to_owned()));
        };
        if let Some(refusal) = choice.message.refusal.filter(|r| !r.trim().is_empty()) {
            return Err(ModelError::Refused(refusal));
        }
        let content = choice.message.content.unwrap_or_default();
        serde_json::from_str::<Proposal>(&content).map_err(|e| ModelError::Malformed(e.to_string()))
    }
}

/// What the model is told: the intents, the placeholders and the answer's shape.
fn instructions(language: &str) -> String {
    let intents: Vec<String> = Intent::ALL.iter().map(|i| format!("{i} ({})", i.describe())).collect();
    format!(
        "You read one WhatsApp message a customer sent to their bank and say what they ask for. \
         The customer usually writes English or Nigerian Pidgin (their chosen language is `{language}`). \
         Intents: {}, none (anything else). Numbers of four or more digits are hidden as [N1], [N2], …: \
         when one is the amount or the recipient's phone number, answer with the placeholder itself. \
         amount: the amount of money as written (\"5k\", \"2,000\", \"[N1]\"), or null. recipient_phone: \
         the recipient's phone number placeholder, or null. recipient_name: the name of the person \
         receiving money (\"mum\", \"Tunde\"), or null. Never guess a value the message does not contain.",
        intents.join(", ")
    )
}

/// The strict schema of the answer.
fn schema() -> serde_json::Value {
    let mut intents: Vec<&str> = Intent::ALL.iter().map(|i| i.as_str()).collect();
    intents.push("none");
    serde_json::json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "intent": { "type": "string", "enum": intents },
            "amount": { "type": ["string", "null"] },
            "recipient_phone": { "type": ["string", "null"] },
            "recipient_name": { "type": ["string", "null"] },
        },
        "required": ["intent", "amount", "recipient_phone", "recipient_name"],
    })
}

/// The model's answer, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Proposal {
    intent: String,
    amount: Option<String>,
    recipient_phone: Option<String>,
    recipient_name: Option<String>,
}

impl Proposal {
    /// What survives the parsers: an unknown intent is none, a value not in the message or not
    /// valid is dropped.
    fn validate(self, redacted: &Redacted, country_code: &str) -> Understanding {
        let intent = Intent::parse(&self.intent);
        let amount = self
            .amount
            .map(|a| redacted.restore(&a))
            .filter(|a| redacted.contains(a))
            .and_then(|a| money::parse_amount(&a).ok());
        let phone = self
            .recipient_phone
            .map(|p| redacted.restore(&p))
            .filter(|p| redacted.contains(p))
            .and_then(|p| input::phone(&p, country_code));
        let recipient = self.recipient_name.map(|n| n.trim().to_lowercase()).filter(|n| {
            (2..=40).contains(&n.chars().count())
                && n.chars().all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\''))
                && redacted.original.to_lowercase().contains(n.as_str())
        });
        Understanding::of(intent, intent.is_some(), amount, phone, recipient, Source::Model)
    }
}

/// A message with its digit runs hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// What is sent.
    pub text: String,
    /// The runs hidden, in order: `[N1]` is the first.
    runs: Vec<String>,
    original: String,
}

/// A run of digits as people group them: `0803 123 4567`, `+234-803…`, `5,000.00`.
static DIGIT_RUN: std::sync::LazyLock<Option<Regex>> =
    std::sync::LazyLock::new(|| Regex::new(r"\+?\d+(?:[ \-]\d{2,4}|,\d{3}|\.\d{1,2})*").ok());

/// Digits in a run that make it a possible PIN, code or account number.
const REDACT_DIGITS: usize = 4;

impl Redacted {
    /// Hides every run of four or more digits in `text` (truncated to a bounded length).
    pub fn new(text: &str) -> Redacted {
        let original: String = text.chars().take(MAX_CHARS).collect();
        let mut runs = Vec::new();
        let mut out = String::with_capacity(original.len());
        let mut last = 0;
        if let Some(pattern) = DIGIT_RUN.as_ref() {
            for m in pattern.find_iter(&original) {
                if m.as_str().bytes().filter(u8::is_ascii_digit).count() < REDACT_DIGITS {
                    continue;
                }
                out.push_str(&original[last..m.start()]);
                runs.push(m.as_str().to_owned());
                out.push_str(&format!("[N{}]", runs.len()));
                last = m.end();
            }
        }
        out.push_str(&original[last..]);
        // Whatever the pattern missed, no digit run of that length leaves.
        let text = if out.bytes().filter(u8::is_ascii_digit).count() >= REDACT_DIGITS && has_long_run(&out) {
            out.chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).collect()
        } else {
            out
        };
        Redacted { text, runs, original }
    }

    /// `value` with placeholders put back.
    fn restore(&self, value: &str) -> String {
        let mut restored = value.to_owned();
        for (i, run) in self.runs.iter().enumerate().rev() {
            restored = restored.replace(&format!("[N{}]", i + 1), run);
        }
        restored
    }

    /// Whether `value` was written in the message (ignoring case and spacing).
    fn contains(&self, value: &str) -> bool {
        let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
        let value = squash(value);
        !value.is_empty() && squash(&self.original).contains(&value)
    }
}

fn has_long_run(text: &str) -> bool {
    let mut run = 0;
    for c in text.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        if run >= REDACT_DIGITS {
            return true;
        }
    }
    false
}

/// Closed: requests go. Open: none go until the cooldown ends. Then one trial request goes; its
/// success closes the breaker, its failure opens it again.
#[derive(Debug)]
struct Breaker {
    state: Mutex<State>,
    failures: u32,
    cooldown: Duration,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed { failures: u32 },
    Open { until: DateTime<Utc> },
    Trial,
}

impl Breaker {
    fn new(failures: u32, cooldown: Duration) -> Breaker {
        Breaker { state: Mutex::new(State::Closed { failures: 0 }), failures: failures.max(1), cooldown }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.state.lock() {
            Ok(mut state) => f(&mut state),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    fn allow(&self, now: DateTime<Utc>) -> bool {
        self.with(|state| match *state {
            State::Closed { .. } => true,
            State::Open { until } if now >= until => {
                *state = State::Trial;
                tracing::info!("asking the model again after its cooldown: one trial request");
                true
            }
            State::Open { .. } | State::Trial => false,
        })
    }

    fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.with(|state| match *state {
            State::Closed { .. } => false,
            State::Open { until } => now < until,
            State::Trial => true,
        })
    }

    fn success(&self) {
        self.with(|state| {
            if matches!(state, State::Trial) {
                tracing::info!("the model answered its trial request: asking it again");
            }
            *state = State::Closed { failures: 0 };
        });
    }

    fn failure(&self, now: DateTime<Utc>) {
        let threshold = self.failures;
        let cooldown = self.cooldown;
        self.with(|state| {
            let failures = match *state {
                State::Closed { failures } => failures + 1,
                State::Trial | State::Open { .. } => threshold,
            };
            *state = if failures >= threshold {
                tracing::warn!(
                    failures,
                    cooldown_secs = cooldown.as_secs(),
                    "the model keeps failing: not asking it for a while"
                );
                State::Open {
                    until: now + chrono::Duration::from_std(cooldown).unwrap_or(chrono::Duration::MAX),
                }
            } else {
                State::Closed { failures }
            };
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_runs_are_hidden_and_put_back() {
        let r = Redacted::new("my pin is 1234, send 5,000 to 0803 123 4567 from 0123456789 not 500");
        assert_eq!(r.text, "my pin is [N1], send [N2] to [N3] from [N4] not 500");
        assert_eq!(r.restore("[N3]"), "0803 123 4567");
        assert!(r.contains("5,000"));
        assert!(!r.contains("9999"));
        for secret in ["1234", "0123456789", "4567", "0803"] {
            assert!(!r.text.contains(secret), "{secret}");
        }
        // Digits split oddly are still never sent as a run.
        let r = Redacted::new("code 12 34 56 and 9876");
        assert!(!has_long_run(&r.text), "{}", r.text);
    }

    fn proposal(intent: &str, amount: Option<&str>, phone: Option<&str>, name: Option<&str>) -> Proposal {
        Proposal {
            intent: intent.to_owned(),
            amount: amount.map(str::to_owned),
            recipient_phone: phone.map(str::to_owned),
            recipient_name: name.map(str::to_owned),
        }
    }

    #[test]
    fn proposals_are_validated_by_the_parsers_and_against_the_message() {
        let r = Redacted::new("abeg make you send five k give 08031234567, na 5k");
        let u = proposal("transfer", Some("5k"), Some("[N1]"), None).validate(&r, "234");
        assert_eq!((u.amount, u.phone.as_deref()), (Some(500_000), Some("2348031234567")));
        assert_eq!(u.source, Source::Model);
        // An amount the message does not contain, an invalid one, a name not in it: dropped.
        let u = proposal("transfer", Some("50000"), Some("08099999999"), Some("bola")).validate(&r, "234");
        assert_eq!((u.amount, u.phone, u.recipient), (None, None, None));
        let r = Redacted::new("send 1e9 to mum");
        let u = proposal("transfer", Some("1e9"), None, Some("Mum")).validate(&r, "234");
        assert_eq!((u.amount, u.recipient.as_deref()), (None, Some("mum")));
        // An intent outside the list is no intent.
        let u = proposal("withdraw", None, None, None).validate(&r, "234");
        assert_eq!(u.decided(), None);
    }

    #[test]
    fn the_breaker_opens_after_repeated_failures_and_closes_after_a_good_trial() {
        let breaker = Breaker::new(3, Duration::from_secs(30));
        let t0 = Utc::now();
        for _ in 0..2 {
            assert!(breaker.allow(t0));
            breaker.failure(t0);
        }
        assert!(breaker.allow(t0));
        breaker.success();
        for _ in 0..3 {
            assert!(breaker.allow(t0));
            breaker.failure(t0);
        }
        assert!(!breaker.allow(t0 + chrono::Duration::seconds(29)));
        // One trial after the cooldown, and no second request while it is out.
        assert!(breaker.allow(t0 + chrono::Duration::seconds(30)));
        assert!(!breaker.allow(t0 + chrono::Duration::seconds(30)));
        breaker.failure(t0 + chrono::Duration::seconds(31));
        assert!(!breaker.allow(t0 + chrono::Duration::seconds(60)));
        assert!(breaker.allow(t0 + chrono::Duration::seconds(61)));
        breaker.success();
        assert!(breaker.allow(t0 + chrono::Duration::seconds(61)));
    }
}
