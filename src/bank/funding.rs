//! Money in through a payment provider: the port a provider's adapter implements (a customer
//! and a dedicated account number per customer), the lifecycle of those accounts (asked for at
//! registration, opened by the worker until they exist, backfilled for earlier customers), and
//! the provider's word that money arrived in one (credited once per provider reference).
//!
//! Without a provider, a wallet is funded through its own account number at the bank.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use super::{Bank, Refusal};
use crate::store::providers::{FundingRow, OpenedAccount};
use crate::whatsapp::outbound::Text;

use super::notices::{self, Notice};

/// What a provider's error means for whoever called it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderError {
    /// Down, slow, rate-limited: the same call may work later.
    Retryable(String),
    /// The provider refused this request for good (a bad account, a closed one).
    Final(String),
    /// Only a person can fix it: the key, the provider balance, a feature not enabled.
    NeedsOperator(String),
}

impl ProviderError {
    /// A word for metrics and logs.
    pub fn class(&self) -> &'static str {
        match self {
            ProviderError::Retryable(_) => "retryable",
            ProviderError::Final(_) => "final",
            ProviderError::NeedsOperator(_) => "needs_operator",
        }
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ProviderError::Retryable(m) | ProviderError::Final(m) | ProviderError::NeedsOperator(m)) = self;
        write!(f, "{} ({m})", self.class())
    }
}

impl std::error::Error for ProviderError {}

/// Who an account is opened for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Teller's customer id.
    pub customer: i64,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// International digits.
    pub phone: String,
}

/// An account number the customer pays into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The number.
    pub account_number: String,
    /// Its bank.
    pub bank_name: String,
    /// The name on it.
    pub account_name: String,
}

/// A provider that opens funding accounts.
#[async_trait]
pub trait Funding: Send + Sync + 'static {
    /// Its name as stored (`paystack`).
    fn provider(&self) -> &'static str;

    /// Makes the provider's customer for `holder`; its code.
    async fn create_customer(&self, holder: &Holder) -> Result<String, ProviderError>;

    /// Opens the dedicated account of customer `code`; `None` when the provider assigns it
    /// later (its webhook brings it).
    async fn open_account(&self, code: &str, holder: &Holder) -> Result<Option<Account>, ProviderError>;
}

/// How a customer funds their wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FundingDetails {
    /// Pay into this account.
    Ready(Account),
    /// The provider has not given the account yet.
    Pending,
}

/// What one round of the funding-accounts job did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FundingRound {
    /// Customers without an account, asked for now (the backfill).
    pub requested: u64,
    /// Opened.
    pub opened: u64,
    /// Still waiting for the provider (its webhook, or a later try).
    pub waiting: u64,
    /// Failed this time; tried again later.
    pub failed: u64,
}

/// Money the provider says arrived in a customer's funding account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Funded {
    /// The provider's reference: credited once per reference.
    pub reference: String,
    /// The provider's customer code.
    pub customer_code: String,
    /// The account it was paid into, when the provider says.
    pub account_number: Option<String>,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
    /// The sender, as their bank names them.
    pub payer: String,
}

/// The first wait after a failed try; it doubles per try up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(60);
/// The longest wait between tries.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);

/// When to try again after `attempts` failed tries.
pub fn backoff(attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    FIRST_BACKOFF.saturating_mul(1u32 << doublings).min(MAX_BACKOFF)
}

impl Bank {
    /// The bank, funding wallets through `funding`'s accounts.
    pub fn with_funding(mut self, funding: std::sync::Arc<dyn Funding>) -> Bank {
        self.funding = Some(funding);
        self
    }

    /// How the customer behind `key` adds money.
    pub async fn funding_details(&self, key: &str) -> anyhow::Result<Result<FundingDetails, Refusal>> {
        let Some((customer, wallet, mut tx)) = self.with_wallet(key).await? else {
            return Ok(Err(Refusal::NotRegistered));
        };
        // Without a provider the wallet's own number is the one: nothing more to read.
        let row = match self.funding {
            Some(_) => tx.providers().funding_account(customer.id).await?,
            None => {
                tx.rollback().await?;
                return Ok(Ok(FundingDetails::Ready(Account {
                    account_number: wallet.number,
                    bank_name: self.settings.issuer.clone(),
                    account_name: format!("{} {}", customer.first_name, customer.last_name),
                })));
            }
        };
        tx.rollback().await?;
        Ok(Ok(match row.and_then(|row| opened(&row)) {
            Some(account) => FundingDetails::Ready(account),
            None => FundingDetails::Pending,
        }))
    }

    /// Asks for `customer`'s funding account and tries to open it now (the worker tries
    /// again if this fails). Nothing without a provider.
    pub(super) async fn request_funding(&self, customer: i64) -> anyhow::Result<()> {
        let Some(funding) = &self.funding else { return Ok(()) };
        let mut tx = self.begin().await?;
        tx.providers().request_funding_account(customer, funding.provider(), self.now()).await?;
        tx.commit().await?;
        self.open_funding(customer).await?;
        Ok(())
    }

    /// One round of the funding-accounts job: customers without an account asked for (up to
    /// `page`), then up to `page` due accounts tried.
    pub async fn open_funding_accounts(&self, page: i64) -> anyhow::Result<FundingRound> {
        let mut round = FundingRound::default();
        let Some(funding) = &self.funding else { return Ok(round) };
        let now = self.now();
        let mut tx = self.begin().await?;
        round.requested =
            tx.providers().request_missing_funding_accounts(funding.provider(), now, page).await?;
        let due = tx.providers().due_funding_accounts(funding.provider(), now, page).await?;
        tx.commit().await?;
        for row in due {
            match self.open_funding(row.customer_id).await? {
                Opening::Opened => round.opened += 1,
                Opening::Waiting => round.waiting += 1,
                Opening::Failed => round.failed += 1,
            }
        }
        Ok(round)
    }

    /// Tries `customer`'s pending funding account once.
    async fn open_funding(&self, customer: i64) -> anyhow::Result<Opening> {
        let Some(funding) = self.funding.clone() else { return Ok(Opening::Waiting) };
        let mut tx = self.begin().await?;
        let row = tx.providers().funding_account(customer).await?;
        let holder = tx.customers().customer(customer).await?;
        tx.rollback().await?;
        let (Some(row), Some(holder)) = (row, holder) else { return Ok(Opening::Waiting) };
        if row.state != "pending" {
            return Ok(Opening::Opened);
        }
        let holder = Holder {
            customer,
            first_name: holder.first_name,
            last_name: holder.last_name,
            phone: holder.phone,
        };
        if holder.phone.is_empty() {
            // A customer known only by username: the provider needs a number, which WhatsApp
            // shares later.
            self.retry_funding(&row, &ProviderError::Final("no phone number yet".into())).await?;
            return Ok(Opening::Failed);
        }
        let code = match &row.provider_customer {
            Some(code) => code.clone(),
            None => match funding.create_customer(&holder).await {
                Ok(code) => {
                    let mut tx = self.begin().await?;
                    tx.providers().set_provider_customer(customer, &code, self.now()).await?;
                    tx.commit().await?;
                    code
                }
                Err(err) => {
                    self.retry_funding(&row, &err).await?;
                    return Ok(Opening::Failed);
                }
            },
        };
        match funding.open_account(&code, &holder).await {
            Ok(Some(account)) => {
                self.funding_opened(customer, &account).await?;
                Ok(Opening::Opened)
            }
            Ok(None) => {
                // Assigned later, by webhook; asked again if it never comes.
                let waiting = ProviderError::Retryable("the provider is assigning the account".into());
                self.retry_funding(&row, &waiting).await?;
                Ok(Opening::Waiting)
            }
            Err(err) => {
                self.retry_funding(&row, &err).await?;
                Ok(Opening::Failed)
            }
        }
    }

    async fn retry_funding(&self, row: &FundingRow, err: &ProviderError) -> anyhow::Result<()> {
        let now = self.now();
        let next = now + chrono::Duration::from_std(backoff(row.attempts))?;
        match err {
            ProviderError::Retryable(_) => {
                tracing::warn!(customer = row.customer_id, error = %err, "a funding account is not open yet; tried again later")
            }
            _ => tracing::error!(
                customer = row.customer_id,
                error = %err,
                "a funding account could not be opened; tried again later, but this needs a look"
            ),
        }
        let mut tx = self.begin().await?;
        tx.providers().retry_funding_account(row.customer_id, &err.to_string(), next, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The provider opened `customer`'s account (now, or by its webhook): kept, and the
    /// customer told its number, once.
    pub(super) async fn funding_opened(&self, customer: i64, account: &Account) -> anyhow::Result<bool> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let holder = tx.customers().customer(customer).await?;
        tx.rollback().await?;
        let Some(holder) = holder else { return Ok(false) };
        // Read before the unit of work: it holds its connection, and must not wait for another.
        let language = self.language_of(&holder.phone).await?;
        let mut tx = self.begin().await?;
        let opened = OpenedAccount {
            account_number: &account.account_number,
            bank_name: &account.bank_name,
            account_name: &account.account_name,
        };
        if !tx.providers().open_funding_account(customer, &opened, now).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        let notice = Notice::FundingReady {
            account_number: &account.account_number,
            bank: &account.bank_name,
            name: &account.account_name,
        };
        let text = notices::text(&notice, &language, self.currency());
        self.notify(tx.as_mut(), &holder.phone, &Text::new(text)?.into()).await?;
        tx.commit().await?;
        self.outbox_wake.signal();
        Ok(true)
    }

    /// The provider's webhook: the account of its customer `code` is assigned.
    pub async fn funding_assigned(&self, code: &str, account: &Account) -> anyhow::Result<bool> {
        match self.funding_owner(code).await? {
            Some((customer, _)) => self.funding_opened(customer, account).await,
            None => Ok(false),
        }
    }

    /// The customer whose funding account the provider knows as customer `code`, with the
    /// account as opened.
    pub(super) async fn funding_owner(&self, code: &str) -> anyhow::Result<Option<(i64, Option<Account>)>> {
        let Some(funding) = &self.funding else { return Ok(None) };
        let mut tx = self.begin().await?;
        let row = tx.providers().funding_account_by_code(funding.provider(), code).await?;
        tx.rollback().await?;
        Ok(row.map(|row| (row.customer_id, opened(&row))))
    }
}

/// What one try at an account did.
enum Opening {
    Opened,
    Waiting,
    Failed,
}

fn opened(row: &FundingRow) -> Option<Account> {
    match (&row.account_number, row.state.as_str()) {
        (Some(number), "open") => Some(Account {
            account_number: number.clone(),
            bank_name: row.bank_name.clone().unwrap_or_default(),
            account_name: row.account_name.clone().unwrap_or_default(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tries_back_off_to_a_ceiling() {
        assert_eq!(backoff(0), Duration::from_secs(60));
        assert_eq!(backoff(1), Duration::from_secs(120));
        assert_eq!(backoff(5), Duration::from_secs(1920));
        assert_eq!(backoff(40), MAX_BACKOFF);
        assert_eq!(backoff(-3), Duration::from_secs(60));
    }

    #[test]
    fn an_error_says_its_class_and_never_more_than_its_message() {
        let err = ProviderError::NeedsOperator("Invalid key".into());
        assert_eq!(err.to_string(), "needs_operator (Invalid key)");
        assert_eq!(ProviderError::Retryable("HTTP 503".into()).class(), "retryable");
    }
}
