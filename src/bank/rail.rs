//! The payment rail port: how money leaves for other banks.
//!
//! A rail looks an account's name up, takes a transfer (which is then usually pending),
//! answers what became of it, and calls back (`POST /webhook/payments`, type
//! `transfer.status`). Teller holds the customer's funds *before* it calls the rail and posts or
//! releases them only on a definite answer, so a rail that times out or crashes leaves money
//! held, never lost or sent twice.
//!
//! Two adapters: [`SimulatedRail`] (the embedded default: nothing leaves the machine) and
//! [`HttpRail`] (the generic provider API of DESIGN.md).

use std::time::Duration;

use anyhow::{Context, bail};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

/// A transfer as the rail sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RailTransfer {
    /// Teller's reference: the rail's idempotency key and the callback's `reference`.
    pub reference: String,
    /// The destination bank's code.
    pub bank_code: String,
    /// The destination account number.
    pub account_number: String,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
    /// Shown on the recipient's statement.
    pub narration: String,
    /// The name on the account, as the rail's lookup gave it (a provider's recipient needs
    /// it; the generic rail API does not take it).
    #[serde(skip)]
    pub account_name: String,
}

/// What became of a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RailStatus {
    /// Not final yet.
    Pending,
    /// The recipient has the money.
    Success,
    /// It did not go, and never will: the funds come back.
    Failed(String),
    /// It came back: before it was final (as a failure), or after it had gone (the money and
    /// the fee are refunded).
    Reversed(String),
}

/// The rail.
#[async_trait]
pub trait Rail: Send + Sync + 'static {
    /// `"simulated"` or `"http"`.
    fn name(&self) -> &'static str;

    /// The name on `account_number` at `bank_code`; `None` when there is no such account.
    async fn lookup(&self, bank_code: &str, account_number: &str) -> anyhow::Result<Option<String>>;

    /// Hands the transfer over. An error means the answer is unknown: the funds stay held
    /// until [`Rail::status`] says what happened.
    async fn initiate(&self, transfer: &RailTransfer) -> anyhow::Result<RailStatus>;

    /// What became of `transfer`.
    async fn status(&self, transfer: &RailTransfer) -> anyhow::Result<RailStatus>;
}

/// The built-in rail: deterministic, instant, local. An account number that starts with `000`
/// does not exist; one that ends in `9` fails (the funds come back); any other succeeds.
#[derive(Debug, Default, Clone, Copy)]
pub struct SimulatedRail;

const SIMULATED_NAMES: [&str; 8] = [
    "Chidi Okafor",
    "Amaka Eze",
    "Tunde Bakare",
    "Ngozi Adeyemi",
    "Ibrahim Musa",
    "Funke Alade",
    "Emeka Nwosu",
    "Zainab Bello",
];

#[async_trait]
impl Rail for SimulatedRail {
    fn name(&self) -> &'static str {
        "simulated"
    }

    async fn lookup(&self, _bank_code: &str, account_number: &str) -> anyhow::Result<Option<String>> {
        if account_number.starts_with("000") {
            return Ok(None);
        }
        let n: usize = account_number.bytes().map(|b| usize::from(b.wrapping_sub(b'0') % 10)).sum();
        Ok(Some(SIMULATED_NAMES[n % SIMULATED_NAMES.len()].to_owned()))
    }

    async fn initiate(&self, _transfer: &RailTransfer) -> anyhow::Result<RailStatus> {
        Ok(RailStatus::Pending)
    }

    async fn status(&self, transfer: &RailTransfer) -> anyhow::Result<RailStatus> {
        Ok(if transfer.account_number.ends_with('9') {
            RailStatus::Failed("the receiving bank declined the transfer".to_owned())
        } else {
            RailStatus::Success
        })
    }
}

/// A rail behind the generic provider API:
/// - `GET {base}/accounts/{bank_code}/{account_number}` → `{"name": "…"}` or 404;
/// - `POST {base}/transfers` with a [`RailTransfer`] → `{"status": "pending"|"success"|"failed", "reason"}`;
/// - `GET {base}/transfers/{reference}` → the same.
///
/// Requests carry `X-Teller-Signature: sha256=<hex HMAC of the body>` under
/// `PAYMENT_RAIL_SECRET` (a key of their own: not the one callbacks are verified with).
pub struct HttpRail {
    base: Url,
    client: reqwest::Client,
    secret: Option<SecretString>,
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
    reason: Option<String>,
}

#[derive(Deserialize)]
struct AccountBody {
    name: String,
}

impl HttpRail {
    /// A rail at `base`, with `timeout` per request.
    pub fn new(base: Url, secret: Option<SecretString>, timeout: Duration) -> anyhow::Result<HttpRail> {
        let client =
            reqwest::Client::builder().timeout(timeout).build().context("cannot build the rail client")?;
        Ok(HttpRail { base, client, secret })
    }

    fn url(&self, path: &[&str]) -> anyhow::Result<Url> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("PAYMENT_RAIL_URL cannot take a path"))?
            .pop_if_empty()
            .extend(path);
        Ok(url)
    }

    fn signed(&self, request: reqwest::RequestBuilder, body: &[u8]) -> reqwest::RequestBuilder {
        match &self.secret {
            Some(secret) => request.header(
                "X-Teller-Signature",
                crate::signature::sign(secret.expose_secret().as_bytes(), body),
            ),
            None => request,
        }
    }

    async fn read_status(response: reqwest::Response) -> anyhow::Result<RailStatus> {
        let code = response.status();
        if !code.is_success() {
            bail!("the rail answered {code}");
        }
        let body: StatusBody = response.json().await.context("the rail's answer is not a status")?;
        Ok(match body.status.as_str() {
            "pending" => RailStatus::Pending,
            "success" => RailStatus::Success,
            "failed" => RailStatus::Failed(body.reason.unwrap_or_else(|| "failed at the rail".to_owned())),
            other => bail!("the rail answered an unknown status {other:?}"),
        })
    }
}

#[async_trait]
impl Rail for HttpRail {
    fn name(&self) -> &'static str {
        "http"
    }

    async fn lookup(&self, bank_code: &str, account_number: &str) -> anyhow::Result<Option<String>> {
        let url = self.url(&["accounts", bank_code, account_number])?;
        let response =
            self.signed(self.client.get(url), b"").send().await.context("the rail is unreachable")?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            bail!("the rail answered {}", response.status());
        }
        let body: AccountBody = response.json().await.context("the rail's answer is not an account")?;
        Ok(Some(body.name))
    }

    async fn initiate(&self, transfer: &RailTransfer) -> anyhow::Result<RailStatus> {
        let body = serde_json::to_vec(transfer)?;
        let request = self
            .client
            .post(self.url(&["transfers"])?)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone());
        let response = self.signed(request, &body).send().await.context("the rail is unreachable")?;
        Self::read_status(response).await
    }

    async fn status(&self, transfer: &RailTransfer) -> anyhow::Result<RailStatus> {
        let url = self.url(&["transfers", &transfer.reference])?;
        let response =
            self.signed(self.client.get(url), b"").send().await.context("the rail is unreachable")?;
        Self::read_status(response).await
    }
}
