//! The biller port: how airtime and data are bought for a phone line. A biller lists its data
//! plans per network, takes a purchase (once per teller reference) and answers what became of
//! it, with the rail's statuses. Teller holds the customer's funds before it calls the biller and
//! posts or releases them only on a definite answer, exactly as for transfers to other banks.
//!
//! Two adapters: [`SimulatedBiller`] (the embedded default: nothing leaves the machine) and
//! [`HttpBiller`] (the generic biller API, documented in the README).

use std::time::Duration;

use anyhow::{Context, bail};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use super::rail::RailStatus;

/// A Nigerian mobile network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// MTN.
    Mtn,
    /// Airtel.
    Airtel,
    /// Globacom.
    Glo,
    /// 9mobile (formerly Etisalat).
    NineMobile,
}

impl Network {
    /// Every network.
    pub const ALL: [Network; 4] = [Network::Mtn, Network::Airtel, Network::Glo, Network::NineMobile];

    /// Its id in flows, the biller API and the ledger.
    pub fn id(self) -> &'static str {
        match self {
            Network::Mtn => "mtn",
            Network::Airtel => "airtel",
            Network::Glo => "glo",
            Network::NineMobile => "nine_mobile",
        }
    }

    /// Its name as customers know it.
    pub fn name(self) -> &'static str {
        match self {
            Network::Mtn => "MTN",
            Network::Airtel => "Airtel",
            Network::Glo => "Glo",
            Network::NineMobile => "9mobile",
        }
    }

    /// The network with id `id`.
    pub fn parse(id: &str) -> Option<Network> {
        Network::ALL.into_iter().find(|n| n.id() == id)
    }

    /// The network a Nigerian number (international digits, `234…`) was issued by, from its
    /// prefix. Numbers move between networks (portability), so the customer confirms it.
    pub fn of_number(phone: &str) -> Option<Network> {
        let local = phone.strip_prefix("234").filter(|rest| rest.len() == 10)?;
        let prefix = |n: usize| format!("0{}", &local[..n]);
        let (four, five) = (prefix(3), prefix(4));
        PREFIXES.iter().find(|(p, _)| *p == five || *p == four).map(|(_, n)| *n)
    }
}

/// Number prefixes as the networks were issued them (NCC allocations; five-digit ones first).
const PREFIXES: &[(&str, Network)] = &[
    ("07025", Network::Mtn),
    ("07026", Network::Mtn),
    ("0703", Network::Mtn),
    ("0704", Network::Mtn),
    ("0706", Network::Mtn),
    ("0803", Network::Mtn),
    ("0806", Network::Mtn),
    ("0810", Network::Mtn),
    ("0813", Network::Mtn),
    ("0814", Network::Mtn),
    ("0816", Network::Mtn),
    ("0903", Network::Mtn),
    ("0906", Network::Mtn),
    ("0913", Network::Mtn),
    ("0916", Network::Mtn),
    ("0701", Network::Airtel),
    ("0708", Network::Airtel),
    ("0802", Network::Airtel),
    ("0808", Network::Airtel),
    ("0812", Network::Airtel),
    ("0901", Network::Airtel),
    ("0902", Network::Airtel),
    ("0904", Network::Airtel),
    ("0907", Network::Airtel),
    ("0911", Network::Airtel),
    ("0912", Network::Airtel),
    ("0705", Network::Glo),
    ("0805", Network::Glo),
    ("0807", Network::Glo),
    ("0811", Network::Glo),
    ("0815", Network::Glo),
    ("0905", Network::Glo),
    ("0915", Network::Glo),
    ("0809", Network::NineMobile),
    ("0817", Network::NineMobile),
    ("0818", Network::NineMobile),
    ("0908", Network::NineMobile),
    ("0909", Network::NineMobile),
];

/// A data plan as the biller sells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataPlan {
    /// The biller's code for it.
    pub code: String,
    /// As customers read it: "1GB, 7 days".
    pub name: String,
    /// Its price, minor units.
    pub amount: i64,
}

/// What a purchase buys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BillKind {
    /// Airtime.
    Airtime,
    /// A data plan.
    Data,
}

/// A purchase as the biller sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Purchase {
    /// Teller's reference: the biller's idempotency key.
    pub reference: String,
    /// Airtime or data.
    pub kind: BillKind,
    /// The network's id.
    pub network: String,
    /// The line, international digits.
    pub phone: String,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
    /// The data plan's code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
}

/// The biller.
#[async_trait]
pub trait Biller: Send + Sync + 'static {
    /// `"simulated"` or `"http"`.
    fn name(&self) -> &'static str;

    /// The data plans on `network`.
    async fn plans(&self, network: Network) -> anyhow::Result<Vec<DataPlan>>;

    /// Buys `purchase`. An error means the answer is unknown: the funds stay held until
    /// [`Biller::status`] says.
    async fn buy(&self, purchase: &Purchase) -> anyhow::Result<RailStatus>;

    /// What became of the purchase with teller's `reference`.
    async fn status(&self, reference: &str) -> anyhow::Result<RailStatus>;
}

/// The built-in biller: instant and local. A line ending in `0000` is refused by its network
/// (the funds come back); any other gets what was bought.
#[derive(Debug, Default)]
pub struct SimulatedBiller {
    refused: std::sync::Mutex<Vec<String>>,
}

/// The simulated plans: (code suffix, name, naira) for every network.
const SIMULATED_PLANS: [(&str, &str, i64); 4] = [
    ("100mb-1d", "100MB, 1 day", 100),
    ("1gb-7d", "1GB, 7 days", 800),
    ("2gb-30d", "2GB, 30 days", 1_500),
    ("10gb-30d", "10GB, 30 days", 4_500),
];

#[async_trait]
impl Biller for SimulatedBiller {
    fn name(&self) -> &'static str {
        "simulated"
    }

    async fn plans(&self, network: Network) -> anyhow::Result<Vec<DataPlan>> {
        Ok(SIMULATED_PLANS
            .iter()
            .map(|(code, name, naira)| DataPlan {
                code: format!("{}-{code}", network.id()),
                name: (*name).to_owned(),
                amount: naira * crate::money::MINOR_PER_MAJOR,
            })
            .collect())
    }

    async fn buy(&self, purchase: &Purchase) -> anyhow::Result<RailStatus> {
        if purchase.phone.ends_with("0000") {
            if let Ok(mut refused) = self.refused.lock() {
                refused.push(purchase.reference.clone());
            }
            return Ok(RailStatus::Failed("the network refused the line".into()));
        }
        Ok(RailStatus::Success)
    }

    async fn status(&self, reference: &str) -> anyhow::Result<RailStatus> {
        let refused = self.refused.lock().map(|r| r.iter().any(|x| x == reference)).unwrap_or(false);
        Ok(if refused {
            RailStatus::Failed("the network refused the line".into())
        } else {
            RailStatus::Success
        })
    }
}

/// A biller behind the generic biller API:
/// - `GET {base}/plans/{network}` → `{"plans": [{"code", "name", "amount"}]}` (minor units);
/// - `POST {base}/purchases` with a [`Purchase`] → `{"status": "pending"|"success"|"failed", "reason"}`;
/// - `GET {base}/purchases/{reference}` → the same.
///
/// Requests carry `X-Teller-Signature: sha256=<hex HMAC of the body>` under `BILLER_SECRET`.
pub struct HttpBiller {
    base: Url,
    client: reqwest::Client,
    secret: SecretString,
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
    reason: Option<String>,
}

#[derive(Deserialize)]
struct PlansBody {
    plans: Vec<DataPlan>,
}

impl HttpBiller {
    /// A biller at `base`, with `timeout` per request.
    pub fn new(base: Url, secret: SecretString, timeout: Duration) -> anyhow::Result<HttpBiller> {
        let client =
            reqwest::Client::builder().timeout(timeout).build().context("cannot build the biller client")?;
        Ok(HttpBiller { base, client, secret })
    }

    fn url(&self, path: &[&str]) -> anyhow::Result<Url> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("BILLER_URL cannot take a path"))?
            .pop_if_empty()
            .extend(path);
        Ok(url)
    }

    fn signed(&self, request: reqwest::RequestBuilder, body: &[u8]) -> reqwest::RequestBuilder {
        request.header(
            "X-Teller-Signature",
            crate::signature::sign(self.secret.expose_secret().as_bytes(), body),
        )
    }

    async fn read_status(response: reqwest::Response) -> anyhow::Result<RailStatus> {
        let code = response.status();
        if !code.is_success() {
            bail!("the biller answered {code}");
        }
        let body: StatusBody = response.json().await.context("the biller's answer is not a status")?;
        Ok(match body.status.as_str() {
            "pending" => RailStatus::Pending,
            "success" => RailStatus::Success,
            "failed" => RailStatus::Failed(body.reason.unwrap_or_else(|| "failed at the biller".to_owned())),
            other => bail!("the biller answered an unknown status {other:?}"),
        })
    }
}

#[async_trait]
impl Biller for HttpBiller {
    fn name(&self) -> &'static str {
        "http"
    }

    async fn plans(&self, network: Network) -> anyhow::Result<Vec<DataPlan>> {
        let url = self.url(&["plans", network.id()])?;
        let response =
            self.signed(self.client.get(url), b"").send().await.context("the biller is unreachable")?;
        if !response.status().is_success() {
            bail!("the biller answered {}", response.status());
        }
        let body: PlansBody = response.json().await.context("the biller's answer is not a list of plans")?;
        Ok(body.plans.into_iter().filter(|p| p.amount > 0 && !p.name.trim().is_empty()).collect())
    }

    async fn buy(&self, purchase: &Purchase) -> anyhow::Result<RailStatus> {
        let body = serde_json::to_vec(purchase)?;
        let request = self
            .client
            .post(self.url(&["purchases"])?)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone());
        let response = self.signed(request, &body).send().await.context("the biller is unreachable")?;
        Self::read_status(response).await
    }

    async fn status(&self, reference: &str) -> anyhow::Result<RailStatus> {
        let url = self.url(&["purchases", reference])?;
        let response =
            self.signed(self.client.get(url), b"").send().await.context("the biller is unreachable")?;
        Self::read_status(response).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_network_comes_from_the_prefix() {
        assert_eq!(Network::of_number("2348031234567"), Some(Network::Mtn));
        assert_eq!(Network::of_number("2347025123456"), Some(Network::Mtn));
        assert_eq!(Network::of_number("2348021234567"), Some(Network::Airtel));
        assert_eq!(Network::of_number("2348051234567"), Some(Network::Glo));
        assert_eq!(Network::of_number("2349091234567"), Some(Network::NineMobile));
        assert_eq!(Network::of_number("2347001234567"), None, "no network issued 0700");
        assert_eq!(Network::of_number("447911123456"), None, "not Nigerian");
        assert_eq!(Network::of_number("234803"), None);
        for network in Network::ALL {
            assert_eq!(Network::parse(network.id()), Some(network));
        }
    }
}
