//! The bank's rows and the primitives the ledger is built from.
//!
//! [`BankTx`] is deliberately low level: insert a transaction unless its idempotency key is
//! known, lock accounts, move a balance under a guard, append entries. The rules (what is
//! debited, when, what a failure releases) live once, in `crate::bank`, and run unchanged on
//! both adapters. The SQL itself is written once too (`bank_sql.rs`, generic over
//! `backend::Backend`, so one implementation serves both adapters), in the common
//! dialect of PostgreSQL and SQLite, with `$N` placeholders, which both read as is (SQLite
//! takes `$N` as the N-th parameter, as sqlx binds it), so nothing is converted at run time.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
pub use super::customers::{CustomerRow, IdentityTry, NewCustomer, PinTry};

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountRow {
    /// Internal id (also the lock order).
    pub id: i64,
    /// Account number.
    pub number: String,
    /// `wallet`, `settlement`, `fee_income`, `loan_book`, `interest_income`, `suspense`.
    pub kind: String,
    /// The owner of a customer account.
    pub customer_id: Option<i64>,
    /// ISO 4217.
    pub currency: String,
    /// Posted balance, minor units.
    pub posted: i64,
    /// Held for pending transactions.
    pub held: i64,
    /// 1 for system accounts that may go negative (settlement, loan book).
    pub allow_negative: i32,
    /// Opened.
    pub created_at: DateTime<Utc>,
}

impl AccountRow {
    /// Posted minus held.
    pub fn available(&self) -> i64 {
        self.posted - self.held
    }
}

/// A transaction as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TransactionRow {
    /// Internal id.
    pub id: i64,
    /// Shown to customers and rails.
    pub reference: String,
    /// What makes a repeat a repeat.
    pub idempotency_key: String,
    /// `transfer`, `external_transfer`, `credit`, …
    pub kind: String,
    /// `pending`, `posted`, `failed`, `reversed`.
    pub state: String,
    /// Debited account.
    pub debit_account: i64,
    /// Credited account.
    pub credit_account: i64,
    /// Amount, minor units.
    pub amount: i64,
    /// Fee on top, minor units (to fee income).
    pub fee: i64,
    /// ISO 4217.
    pub currency: String,
    /// The other party: a phone number, or `bank:account`.
    pub counterparty: String,
    /// The other party's name as shown.
    pub counterparty_name: String,
    /// Who paid, as the credited customer sees them: a phone number or a provider's payer.
    pub origin: String,
    /// The payer's name as shown.
    pub origin_name: String,
    /// Free text.
    pub narration: String,
    /// Why it failed.
    pub reason: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last state change.
    pub updated_at: DateTime<Utc>,
    /// When a transfer whose outcome stayed unknown had its held funds moved to suspense.
    pub suspense_at: Option<DateTime<Utc>>,
    /// Since when its refund from suspense waits for room under the wallet's maximum balance.
    pub refund_held_at: Option<DateTime<Utc>>,
}

/// A transaction to create.
#[derive(Debug, Clone)]
pub struct NewTransaction<'a> {
    /// Reference.
    pub reference: &'a str,
    /// Idempotency key.
    pub idempotency_key: &'a str,
    /// Kind.
    pub kind: &'a str,
    /// Initial state.
    pub state: &'a str,
    /// Debited account.
    pub debit_account: i64,
    /// Credited account.
    pub credit_account: i64,
    /// Amount.
    pub amount: i64,
    /// Fee.
    pub fee: i64,
    /// Currency.
    pub currency: &'a str,
    /// Counterparty.
    pub counterparty: &'a str,
    /// Counterparty's name.
    pub counterparty_name: &'a str,
    /// Payer, as the credited side sees them.
    pub origin: &'a str,
    /// Payer's name.
    pub origin_name: &'a str,
    /// Narration.
    pub narration: &'a str,
    /// Now.
    pub now: DateTime<Utc>,
}

/// What the whole ledger adds up to (for checks and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerTotals {
    /// Sum of every account's posted balance: zero, always.
    pub posted: i64,
    /// Sum of every entry: zero, always.
    pub entries: i64,
    /// Posted balances that disagree with their entries.
    pub drifted_accounts: i64,
    /// Transactions whose entries do not sum to zero.
    pub unbalanced_transactions: i64,
    /// Wallets whose available balance is below zero.
    pub negative_wallets: i64,
}

/// The bank's part of a unit of work.
#[async_trait]
pub trait BankTx: Send {
    /// Creates an account; `None` when the number is taken.
    async fn insert_account(
        &mut self,
        number: &str,
        kind: &str,
        customer: Option<i64>,
        currency: &str,
        allow_negative: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError>;

    /// Opens part `part` of the system account of `kind`; `None` when it is open already.
    async fn insert_system_part(
        &mut self,
        number: &str,
        kind: &str,
        currency: &str,
        part: i32,
        allow_negative: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError>;

    /// The system account of `kind` that the entries of `transaction` moved, if any: where a
    /// reversal takes back what the transaction put there.
    async fn system_entry(&mut self, transaction: i64, kind: &str) -> Result<Option<i64>, StoreError>;

    /// Every system account in `currency`: its kind, part and id.
    async fn system_accounts(&mut self, currency: &str) -> Result<Vec<(String, i32, i64)>, StoreError>;

    /// The posted balance of the bank's own `kind` account in `currency`: the sum of its parts.
    async fn system_balance(&mut self, kind: &str, currency: &str) -> Result<i64, StoreError>;

    /// A customer's account of `kind`.
    async fn customer_account(&mut self, customer: i64, kind: &str)
    -> Result<Option<AccountRow>, StoreError>;

    /// Reads an account without locking it.
    async fn account(&mut self, id: i64) -> Result<Option<AccountRow>, StoreError>;

    /// The customer who owns `account`, if a customer does.
    async fn account_owner(&mut self, account: i64) -> Result<Option<CustomerRow>, StoreError>;

    /// Reads an account and, on PostgreSQL, locks its row until the unit of work ends (SQLite's
    /// unit of work already holds the write lock). Lock several in ascending id order.
    async fn lock_account(&mut self, id: i64) -> Result<Option<AccountRow>, StoreError>;

    /// Adds `posted` and `held` to an account unless a wallet would end below zero available;
    /// false (nothing changed) when it would.
    async fn shift_balance(&mut self, account: i64, posted: i64, held: i64) -> Result<bool, StoreError>;

    /// Creates a transaction unless its idempotency key is known; `None` when it is.
    async fn insert_transaction(
        &mut self,
        transaction: &NewTransaction<'_>,
    ) -> Result<Option<i64>, StoreError>;

    /// Transaction `id`.
    async fn transaction(&mut self, id: i64) -> Result<Option<TransactionRow>, StoreError>;

    /// The transaction with `key`.
    async fn transaction_by_key(&mut self, key: &str) -> Result<Option<TransactionRow>, StoreError>;

    /// The transaction with `reference`.
    async fn transaction_by_reference(
        &mut self,
        reference: &str,
    ) -> Result<Option<TransactionRow>, StoreError>;

    /// Moves a transaction from state `from` to `to`; false when it was not in `from`.
    async fn set_transaction_state(
        &mut self,
        id: i64,
        from: &str,
        to: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Appends the entries of `transaction`: each leg's account and amount, in one statement
    /// for up to four legs.
    async fn insert_entries(
        &mut self,
        transaction: i64,
        legs: &[(i64, i64)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// What `account` sent (pending or posted, fees included) since `since`.
    async fn debited_since(&mut self, account: i64, since: DateTime<Utc>) -> Result<i64, StoreError>;

    /// Whether `account` has sent money to `counterparty` before.
    async fn has_paid(&mut self, account: i64, counterparty: &str) -> Result<bool, StoreError>;

    /// Who `account` sent money to within teller (posted transfers), most recent first, at most
    /// `limit`: (phone number, name) pairs.
    async fn recent_payees(&mut self, account: i64, limit: i64) -> Result<Vec<(String, String)>, StoreError>;

    /// The newest transactions touching `account`, newest first.
    async fn recent_transactions(
        &mut self,
        account: i64,
        limit: i64,
    ) -> Result<Vec<TransactionRow>, StoreError>;

    /// Sums over the whole ledger.
    async fn ledger_totals(&mut self) -> Result<LedgerTotals, StoreError>;

    /// Marks pending transaction `id` as moved to suspense; false if it is not pending or
    /// already there.
    async fn set_suspense(&mut self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Marks failed transfer `id`'s refund from suspense as held (from `now`), or, with `None`,
    /// paid; false when it was already so.
    async fn hold_refund(&mut self, id: i64, since: Option<DateTime<Utc>>) -> Result<bool, StoreError>;

    /// Failed transfers whose refund is held, by id after `after`.
    async fn held_refunds(&mut self, after: i64, limit: i64) -> Result<Vec<TransactionRow>, StoreError>;

    /// Transfers to other banks whose funds wait in suspense for an operator, oldest first.
    async fn suspended_transfers(&mut self, limit: i64) -> Result<Vec<TransactionRow>, StoreError>;

    /// Transfers to other banks still pending that were created before `created_before`, by id
    /// after `after`: the stuck-transfer job's pages.
    async fn stuck_transfers(
        &mut self,
        created_before: DateTime<Utc>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<TransactionRow>, StoreError>;

    /// Wallets opened before `opened_before` with no monthly fee recorded for `period`, by id
    /// after `after`.
    async fn wallets_due_fee(
        &mut self,
        period: &str,
        opened_before: DateTime<Utc>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<AccountRow>, StoreError>;

    /// Records `account`'s fee outcome for `period`; false (nothing changed) when one is
    /// recorded already.
    async fn record_monthly_fee(&mut self, fee: &MonthlyFeeRow) -> Result<bool, StoreError>;

    /// The fee outcomes recorded for `period`, by account.
    async fn monthly_fees(&mut self, period: &str) -> Result<Vec<MonthlyFeeRow>, StoreError>;

    /// Records that `period`'s fees are done (with the number of wallets it recorded).
    async fn complete_fee_period(&mut self, period: &str, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// The periods whose fees are done, oldest first.
    async fn completed_fee_periods(&mut self) -> Result<Vec<String>, StoreError>;
}

/// A wallet's monthly fee outcome.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MonthlyFeeRow {
    /// `YYYY-MM` in the bank's time zone.
    pub period: String,
    /// The wallet.
    pub account_id: i64,
    /// `charged`, `waived_new_account`, `waived_low_balance`, `waived_insufficient_funds`.
    pub outcome: String,
    /// What was charged (0 when waived).
    pub amount: i64,
    /// The fee's ledger transaction, when charged.
    pub transaction_id: Option<i64>,
    /// Recorded.
    pub created_at: DateTime<Utc>,
}

/// The columns of [`AccountRow`].
macro_rules! account_columns {
    () => {
        "id, number, kind, customer_id, currency, posted, held, allow_negative, created_at"
    };
}

/// The columns of [`TransactionRow`].
macro_rules! transaction_columns {
    () => {
        "id, reference, idempotency_key, kind, state, debit_account, credit_account, amount, fee, currency,
         counterparty, counterparty_name, origin, origin_name, narration, reason, created_at, updated_at,
         suspense_at, refund_held_at"
    };
}

pub(crate) use {account_columns, transaction_columns};
