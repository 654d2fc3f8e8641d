//! The Paystack adapter (`PAYMENT_PROVIDER=paystack`): dedicated virtual accounts to fund
//! wallets ([`crate::bank::funding::Funding`]), payouts to other Nigerian banks
//! ([`crate::bank::rail::Rail`]), and the events Paystack posts to `POST /webhook/paystack`
//! ([`events`]). Facts, sources and what is unverified: `../shared/reference/paystack.md`.
//!
//! Every reply is `{status, message, data}`; `status` in the body, not the HTTP status, says
//! whether it worked. Each failure is classified ([`ProviderError`]): retryable (down, slow,
//! rate-limited), final (this request will never work), or for an operator (the key, the
//! provider balance, a feature not enabled). Paystack's words go to logs and operators, never
//! to customers.

pub mod events;
mod funding;
mod rail;

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::bank::funding::ProviderError;
use crate::clock::Clock;
use crate::config::PaystackConfig;
use crate::store::SqlStore;

/// The name teller stores the provider's rows under.
pub const PROVIDER: &str = "paystack";

/// How long one call may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Paystack's API, as teller uses it.
pub struct Paystack {
    base: Url,
    client: reqwest::Client,
    key: SecretString,
    preferred_bank: String,
    email_domain: String,
    store: Arc<dyn SqlStore>,
    clock: Arc<dyn Clock>,
    banks: tokio::sync::Mutex<Option<rail::BankList>>,
}

#[derive(Deserialize)]
struct Envelope {
    status: bool,
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: Value,
}

impl Paystack {
    /// The adapter for `config`, keeping recipients in `store`.
    pub fn new(
        config: &PaystackConfig,
        store: Arc<dyn SqlStore>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Arc<Paystack>> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the Paystack client: {e}"))?;
        Ok(Arc::new(Paystack {
            base: config.base_url.clone(),
            client,
            key: config.secret_key.clone(),
            preferred_bank: config.preferred_bank.clone(),
            email_domain: config.email_domain.clone(),
            store,
            clock,
            banks: tokio::sync::Mutex::new(None),
        }))
    }

    fn url(&self, path: &[&str], query: &[(&str, &str)]) -> Result<Url, ProviderError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| ProviderError::NeedsOperator("PAYSTACK_BASE_URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Calls `method path?query` with `body`; the reply's `data` when `status` is true.
    async fn call(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, ProviderError> {
        let url = self.url(path, query)?;
        let what = format!("{method} /{}", path.first().copied().unwrap_or(""));
        let mut request = self.client.request(method, url).bearer_auth(self.key.expose_secret());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            let why = if e.is_timeout() { "timed out" } else { "unreachable" };
            ProviderError::Retryable(format!("{what}: Paystack {why}"))
        })?;
        let code = response.status();
        let envelope: Option<Envelope> = response.json().await.ok();
        match envelope {
            Some(Envelope { status: true, data, .. }) if code.is_success() => Ok(data),
            Some(Envelope { message, .. }) => Err(classify(code, &format!("{what}: {message}"))),
            None => Err(classify(code, &format!("{what}: an answer that is not Paystack's envelope"))),
        }
    }
}

/// What a failed call means, from its HTTP status and Paystack's message.
pub fn classify(code: StatusCode, message: &str) -> ProviderError {
    let lower = message.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    let message = message.to_owned();
    if code.is_server_error() || code == StatusCode::TOO_MANY_REQUESTS {
        return ProviderError::Retryable(message);
    }
    if has(&["please wait a few minutes", "system malfunction"]) {
        return ProviderError::Retryable(message);
    }
    if code == StatusCode::UNAUTHORIZED
        || code == StatusCode::FORBIDDEN
        || has(&[
            "invalid key",
            "authorization",
            "access denied",
            "balance is not enough",
            "third party payouts",
            "not available for your business",
            "invalid for your",
        ])
    {
        return ProviderError::NeedsOperator(message);
    }
    if code.is_success() {
        // A 2xx without the envelope: something between teller and Paystack answered.
        return ProviderError::Retryable(message);
    }
    ProviderError::Final(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_by_status_and_words() {
        let retry = |c: u16, m: &str| {
            matches!(classify(StatusCode::from_u16(c).unwrap(), m), ProviderError::Retryable(_))
        };
        let operator = |c: u16, m: &str| {
            matches!(classify(StatusCode::from_u16(c).unwrap(), m), ProviderError::NeedsOperator(_))
        };
        let last = |c: u16, m: &str| {
            matches!(classify(StatusCode::from_u16(c).unwrap(), m), ProviderError::Final(_))
        };
        assert!(retry(503, "Service unavailable"));
        assert!(retry(429, "slow down"));
        assert!(retry(400, "Please wait a few minutes and try again."));
        assert!(retry(400, "System Malfunction"));
        assert!(operator(401, "Invalid key"));
        assert!(operator(400, "Your balance is not enough to fulfill this request"));
        assert!(operator(400, "You cannot initiate third party payouts as a starter business"));
        assert!(operator(400, "Access Denied"));
        assert!(last(400, "Recipient specified is invalid"));
        assert!(last(400, "Account closed"));
        assert!(last(422, "Cannot resolve account"));
        assert!(last(404, "Transfer not found"));
    }
}
