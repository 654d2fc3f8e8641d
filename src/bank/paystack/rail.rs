//! Payouts through Paystack: the bank list, account resolution for the name the customer
//! confirms, one transfer recipient per payee (kept), and transfers whose reference is
//! teller's own transfer reference in lowercase (16 characters of `[a-z0-9]`, as Paystack
//! asks), so every retry of one transfer reuses it and Paystack refuses a second one.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{PROVIDER, Paystack};
use crate::bank::funding::ProviderError;
use crate::bank::rail::{Rail, RailStatus, RailTransfer};

/// How long the bank list is trusted.
const BANKS_FOR: Duration = Duration::from_secs(24 * 3600);
/// Pages of the bank list read at most (Paystack lists a few hundred Nigerian banks).
const BANK_PAGES: usize = 10;

/// The banks Paystack can pay, by code, as last read.
pub(super) struct BankList {
    read_at: Instant,
    codes: Vec<String>,
}

#[derive(Deserialize)]
struct BankEntry {
    code: String,
    #[serde(default = "yes")]
    active: bool,
    #[serde(default)]
    is_deleted: bool,
}

fn yes() -> bool {
    true
}

/// Paystack's reference for teller's transfer `reference`.
pub fn provider_reference(reference: &str) -> String {
    reference.to_ascii_lowercase()
}

/// Teller's transfer reference for Paystack's `reference`.
pub fn teller_reference(reference: &str) -> String {
    reference.to_ascii_uppercase()
}

/// A transfer's state as Paystack names it, for teller.
pub fn status_of(status: &str, reason: Option<&str>) -> RailStatus {
    let reason = || reason.filter(|r| !r.is_empty()).unwrap_or("failed at Paystack").to_owned();
    match status {
        "success" => RailStatus::Success,
        "failed" | "abandoned" | "blocked" | "rejected" => {
            RailStatus::Failed(format!("{status}: {}", reason()))
        }
        "reversed" => RailStatus::Reversed(format!("reversed: {}", reason())),
        // pending, received (an approval server), otp (OTP is on for the integration): not
        // final. OTP must be off for a bot; the stuck-transfer job keeps asking meanwhile.
        _ => RailStatus::Pending,
    }
}

impl Paystack {
    /// Whether Paystack lists `code` as a bank it pays; `None` when the list cannot be read.
    async fn pays(&self, code: &str) -> Option<bool> {
        let mut banks = self.banks.lock().await;
        let fresh = banks.as_ref().is_some_and(|list| list.read_at.elapsed() < BANKS_FOR);
        if !fresh {
            match self.read_banks().await {
                Ok(codes) => *banks = Some(BankList { read_at: Instant::now(), codes }),
                Err(err) => tracing::warn!(error = %err, "Paystack's bank list cannot be read now"),
            }
        }
        banks.as_ref().map(|list| list.codes.iter().any(|c| c == code))
    }

    async fn read_banks(&self) -> Result<Vec<String>, ProviderError> {
        let mut codes = Vec::new();
        for page in 1..=BANK_PAGES {
            let page = page.to_string();
            let query = [("country", "nigeria"), ("currency", "NGN"), ("perPage", "100"), ("page", &page)];
            let data = self.call(Method::GET, &["bank"], &query, None).await?;
            let entries: Vec<BankEntry> = serde_json::from_value(data)
                .map_err(|_| ProviderError::Retryable("GET /bank: not a list of banks".into()))?;
            let last = entries.len() < 100;
            codes.extend(entries.into_iter().filter(|b| b.active && !b.is_deleted).map(|b| b.code));
            if last {
                break;
            }
        }
        Ok(codes)
    }

    /// The recipient code for the account `transfer` goes to: kept from before, or made now.
    async fn recipient(&self, transfer: &RailTransfer) -> Result<String, ProviderError> {
        let stored = async {
            let mut tx = self.store.begin().await?;
            let code = tx
                .providers()
                .payout_recipient(PROVIDER, &transfer.bank_code, &transfer.account_number)
                .await?;
            tx.rollback().await?;
            Ok::<_, crate::store::StoreError>(code)
        };
        if let Some(code) = stored.await.map_err(|e| ProviderError::Retryable(format!("the store: {e}")))? {
            return Ok(code);
        }
        let body = json!({
            "type": "nuban",
            "name": transfer.account_name,
            "account_number": transfer.account_number,
            "bank_code": transfer.bank_code,
            "currency": transfer.currency,
        });
        let data = self.call(Method::POST, &["transferrecipient"], &[], Some(&body)).await?;
        let code = data["recipient_code"]
            .as_str()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| ProviderError::Retryable("POST /transferrecipient: no recipient_code".into()))?
            .to_owned();
        let keep = async {
            let mut tx = self.store.begin().await?;
            let now = self.clock.now();
            tx.providers()
                .insert_payout_recipient(PROVIDER, &transfer.bank_code, &transfer.account_number, &code, now)
                .await?;
            tx.commit().await
        };
        if let Err(err) = keep.await {
            // Made again next time (Paystack returns the same account's recipient).
            tracing::warn!(error = %err, "a Paystack recipient code could not be kept");
        }
        Ok(code)
    }

    /// `POST /transfer` for `transfer`.
    async fn send(&self, transfer: &RailTransfer) -> Result<RailStatus, ProviderError> {
        let recipient = self.recipient(transfer).await?;
        let body = json!({
            "source": "balance",
            "amount": transfer.amount,
            "recipient": recipient,
            "reference": provider_reference(&transfer.reference),
            "reason": transfer.narration,
            "currency": transfer.currency,
        });
        let data = self.call(Method::POST, &["transfer"], &[], Some(&body)).await?;
        Ok(read_status(&data))
    }

    /// `GET /transfer/verify/{reference}`; `None` when Paystack has no such transfer.
    async fn verify(&self, transfer: &RailTransfer) -> Result<Option<RailStatus>, ProviderError> {
        let reference = provider_reference(&transfer.reference);
        match self.call(Method::GET, &["transfer", "verify", &reference], &[], None).await {
            Ok(data) => Ok(Some(read_status(&data))),
            Err(ProviderError::Final(message)) if message.to_ascii_lowercase().contains("not found") => {
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }
}

fn read_status(data: &Value) -> RailStatus {
    let reason = data["gateway_response"].as_str().or_else(|| data["failures"].as_str());
    status_of(data["status"].as_str().unwrap_or("pending"), reason)
}

/// What an error from a call that may have created the transfer means for the customer's
/// held funds: final refusals release them; anything else leaves them held, unknown.
fn settle_on(err: ProviderError) -> anyhow::Result<RailStatus> {
    match err {
        ProviderError::Final(message) => Ok(RailStatus::Failed(format!("refused by Paystack: {message}"))),
        ProviderError::NeedsOperator(message) => {
            tracing::error!(error = %message, "Paystack refused a payout until an operator acts; the funds stay held");
            Err(anyhow::anyhow!("needs an operator: {message}"))
        }
        ProviderError::Retryable(message) => Err(anyhow::anyhow!("retryable: {message}")),
    }
}

#[async_trait]
impl Rail for Paystack {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    async fn lookup(&self, bank_code: &str, account_number: &str) -> anyhow::Result<Option<String>> {
        if self.pays(bank_code).await == Some(false) {
            return Ok(None);
        }
        let query = [("account_number", account_number), ("bank_code", bank_code)];
        match self.call(Method::GET, &["bank", "resolve"], &query, None).await {
            Ok(data) => Ok(data["account_name"].as_str().filter(|n| !n.trim().is_empty()).map(str::to_owned)),
            Err(ProviderError::Final(_)) => Ok(None),
            Err(err) => Err(anyhow::anyhow!("{err}")),
        }
    }

    async fn initiate(&self, transfer: &RailTransfer) -> anyhow::Result<RailStatus> {
        match self.send(transfer).await {
            Ok(status) => Ok(status),
            // Made already (a retry after a lost answer): what became of it.
            Err(ProviderError::Final(message))
                if message.to_ascii_lowercase().contains("reference already exists") =>
            {
                self.status(transfer).await
            }
            Err(err) => settle_on(err),
        }
    }

    async fn status(&self, transfer: &RailTransfer) -> anyhow::Result<RailStatus> {
        match self.verify(transfer).await {
            Ok(Some(status)) => Ok(status),
            // Never reached Paystack (the first POST was lost): send it now, same reference.
            Ok(None) => match self.send(transfer).await {
                Ok(status) => Ok(status),
                Err(err) => settle_on(err),
            },
            Err(err) => Err(anyhow::anyhow!("{err}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_map_both_ways_within_paystacks_rules() {
        let ours = "X0B7C9E4A2F6D4C1";
        let theirs = provider_reference(ours);
        assert_eq!(theirs, "x0b7c9e4a2f6d4c1");
        assert!(theirs.len() >= 16 && theirs.len() <= 50);
        assert!(
            theirs.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        );
        assert_eq!(teller_reference(&theirs), ours);
    }

    #[test]
    fn statuses_read_as_teller_reads_them() {
        assert_eq!(status_of("success", None), RailStatus::Success);
        assert_eq!(status_of("pending", None), RailStatus::Pending);
        assert_eq!(status_of("otp", None), RailStatus::Pending);
        assert!(
            matches!(status_of("failed", Some("Account closed")), RailStatus::Failed(r) if r.contains("Account closed"))
        );
        assert!(matches!(status_of("reversed", None), RailStatus::Reversed(_)));
        assert!(matches!(status_of("abandoned", None), RailStatus::Failed(_)));
    }
}
