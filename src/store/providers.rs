//! A payment provider's side of teller's customers: the virtual account each customer funds
//! their wallet through, and the provider's handle on each account teller pays out to.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// A customer's funding account at the provider, as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FundingRow {
    /// Whose.
    pub customer_id: i64,
    /// The provider (`paystack`).
    pub provider: String,
    /// `pending` until the provider has given an account number, then `open`.
    pub state: String,
    /// The provider's customer code, once made (kept so a retry does not make another).
    pub provider_customer: Option<String>,
    /// The account number the customer pays into.
    pub account_number: Option<String>,
    /// The bank that holds it, as the provider names it.
    pub bank_name: Option<String>,
    /// The name on it.
    pub account_name: Option<String>,
    /// Tries so far.
    pub attempts: i32,
    /// When the worker tries again.
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last try failed, classified (never a secret).
    pub last_error: Option<String>,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
}

/// An open account, as the provider gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedAccount<'a> {
    /// The account number.
    pub account_number: &'a str,
    /// Its bank.
    pub bank_name: &'a str,
    /// The name on it.
    pub account_name: &'a str,
}

/// The providers' part of a unit of work.
#[async_trait]
pub trait ProvidersTx: Send {
    /// Asks for a funding account for `customer` at `provider`, due now; false when one was
    /// asked for already.
    async fn request_funding_account(
        &mut self,
        customer: i64,
        provider: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Asks for funding accounts for up to `limit` customers who have none (the backfill);
    /// how many.
    async fn request_missing_funding_accounts(
        &mut self,
        provider: &str,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64, StoreError>;

    /// Pending funding accounts due by `now`, oldest first.
    async fn due_funding_accounts(
        &mut self,
        provider: &str,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<FundingRow>, StoreError>;

    /// `customer`'s funding account.
    async fn funding_account(&mut self, customer: i64) -> Result<Option<FundingRow>, StoreError>;

    /// The funding account the provider knows by customer code `code`.
    async fn funding_account_by_code(
        &mut self,
        provider: &str,
        code: &str,
    ) -> Result<Option<FundingRow>, StoreError>;

    /// Records the provider's customer code for `customer`.
    async fn set_provider_customer(
        &mut self,
        customer: i64,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Opens `customer`'s pending account with `account`; false when it was open already.
    async fn open_funding_account(
        &mut self,
        customer: i64,
        account: &OpenedAccount<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Records a failed try: `error`, and the next one at `next`.
    async fn retry_funding_account(
        &mut self,
        customer: i64,
        error: &str,
        next: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The provider's recipient code for an account at another bank.
    async fn payout_recipient(
        &mut self,
        provider: &str,
        bank_code: &str,
        account_number: &str,
    ) -> Result<Option<String>, StoreError>;

    /// Keeps a recipient code (the first one wins).
    async fn insert_payout_recipient(
        &mut self,
        provider: &str,
        bank_code: &str,
        account_number: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
