//! The bank: customers, PINs and one-time codes, the double-entry ledger, transfers, credits
//! and statements.
//!
//! Money rules, once, over the storage port's primitives (`store::BankTx`), so PostgreSQL and
//! SQLite run the same logic:
//! - every transaction's entries sum to zero, and an account's balance moves only in the unit
//!   of work that appends its entries (or its hold);
//! - a transaction is created first, under a unique idempotency key: a repeat (a redelivered
//!   message, a double tap, a replayed callback) finds it and returns its outcome instead of
//!   moving money again;
//! - accounts are locked in one global order (customer accounts by id, then system accounts by
//!   id), so concurrent transfers cannot deadlock, and balances change by guarded `UPDATE`s
//!   that refuse to take a wallet below zero (with a `CHECK` constraint behind them);
//! - funds leaving for another bank are held before the rail is called and posted or released
//!   only on its definite answer.
//!
//! Imports: the ports (store, kv, flows' action trait), whatsapp's outbound messages, the leaves;
//! never http/ or app/.

pub mod actions;
pub mod bands;
pub mod fees;
pub mod loans;
pub mod notices;
pub mod rail;
pub mod refunds;
pub mod rules;
pub mod secrets;
pub mod setup;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use self::notices::Notice;
use self::rail::{Rail, RailStatus, RailTransfer};
use self::rules::{Rules, fee};
use crate::clock::Clock;
use crate::flows::template::first_name_initial;
use crate::hashing::Hasher;
use crate::kv::Kv;
use crate::money::format_money;
use crate::phone::mask as mask_phone;
use crate::store::{
    AccountRow, BankTx, CustomerRow, NewAuditEvent, NewCustomer, NewOutboxMessage, NewTransaction, SqlStore,
    SqlTx, TransactionRow,
};
use crate::whatsapp::outbound::{Outbound, Template, Text};

/// Account kinds.
pub mod kind {
    /// A customer's wallet.
    pub const WALLET: &str = "wallet";
    /// Where money from and to other banks passes (may go negative).
    pub const SETTLEMENT: &str = "settlement";
    /// Fees earned.
    pub const FEE_INCOME: &str = "fee_income";
    /// Loans lent out (may go negative).
    pub const LOAN_BOOK: &str = "loan_book";
    /// Interest earned.
    pub const INTEREST_INCOME: &str = "interest_income";
    /// What cannot be placed yet (may go negative).
    pub const SUSPENSE: &str = "suspense";
}

/// System accounts, and whether each may go below zero.
const SYSTEM_ACCOUNTS: [(&str, bool); 5] = [
    (kind::SETTLEMENT, true),
    (kind::FEE_INCOME, false),
    (kind::LOAN_BOOK, true),
    (kind::INTEREST_INCOME, false),
    (kind::SUSPENSE, true),
];

/// How long a balance read is cached (posting invalidates it sooner).
const BALANCE_CACHE: Duration = Duration::from_secs(30);
/// How long a chosen PIN waits for its confirmation and the registration.
const NEW_PIN_TTL: Duration = Duration::from_secs(600);
/// How long an authenticator enrolment waits for its first code.
const TOTP_PENDING_TTL: Duration = Duration::from_secs(600);
/// Attempts at a number-unique account number before giving up.
const ACCOUNT_NUMBER_TRIES: usize = 8;
/// How many recent payees free text may name ("send 2k to Ada").
const RECENT_PAYEES: i64 = 20;

/// Where the bank is and how it speaks.
#[derive(Debug, Clone)]
pub struct BankSettings {
    /// ISO 4217 of wallets.
    pub currency: String,
    /// Days (daily limits, statements) are days here.
    pub timezone: Tz,
    /// The approved WhatsApp authentication template that carries one-time codes (its one
    /// body parameter is the code); `None` sends the code as text, which only the sandbox
    /// (and a conversation inside the 24-hour window) can deliver.
    pub otp_template: Option<(String, String)>,
    /// The issuer shown in authenticator apps.
    pub issuer: String,
}

/// Why a money action was refused. Each is a result code flows branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The customer is not registered.
    NotRegistered,
    /// Money actions are locked after wrong PINs.
    Locked,
    /// No recent PIN (or the number changed since).
    NotVerified,
    /// This transfer needs a one-time code first.
    CodeRequired,
    /// Not enough available balance for amount and fee.
    InsufficientFunds,
    /// Above the tier's single-transfer limit.
    OverLimit,
    /// Above what is left of the tier's daily limit.
    DailyLimit,
    /// The recipient's wallet would pass its maximum balance.
    RecipientLimit,
    /// No customer has that number.
    UnknownRecipient,
    /// To themselves.
    ToSelf,
    /// A bank the rules do not list.
    UnknownBank,
    /// No such account at that bank.
    UnknownAccount,
}

impl Refusal {
    /// The result code.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::NotRegistered => "not_registered",
            Refusal::Locked => "locked",
            Refusal::NotVerified => "not_verified",
            Refusal::CodeRequired => "code_required",
            Refusal::InsufficientFunds => "insufficient_funds",
            Refusal::OverLimit => "over_limit",
            Refusal::DailyLimit => "daily_limit",
            Refusal::RecipientLimit => "recipient_limit",
            Refusal::UnknownRecipient => "unknown_recipient",
            Refusal::ToSelf => "to_self",
            Refusal::UnknownBank => "unknown_bank",
            Refusal::UnknownAccount => "unknown_account",
        }
    }
}

/// What a PIN check said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinCheck {
    /// Right: the next money action is authorised.
    Verified,
    /// Wrong; this many tries are left before the lock.
    Wrong {
        /// Tries left.
        left: i32,
    },
    /// Locked until then (the PIN was not even checked, or this was the last try).
    Locked {
        /// When the lock ends.
        until: DateTime<Utc>,
    },
    /// Locked until an operator unlocks (too many locks in a row).
    Blocked,
    /// Not a customer.
    NotRegistered,
}

/// What a one-time code check said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right, and now used up.
    Verified,
    /// Wrong; try again.
    Wrong,
    /// No code is waiting (never sent, expired or already used).
    Expired,
    /// Too many guesses: the code is gone.
    TooMany,
}

/// How a transfer needing a second factor gets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepUp {
    /// It needs none.
    NotNeeded,
    /// A code was sent through WhatsApp.
    Sent,
    /// The customer's authenticator app gives it.
    Authenticator,
}

/// A registration's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    /// Done.
    Registered {
        /// The new wallet's number.
        account_number: String,
    },
    /// Already a customer.
    AlreadyRegistered,
    /// Younger than the rules allow (or a date in the future).
    TooYoung,
    /// The identity number does not look like one.
    InvalidIdNumber,
    /// Someone registered with this identity number already.
    IdNumberTaken,
    /// The confirmed PIN is gone (took too long): choose again.
    PinMissing,
    /// Only a WhatsApp number can register (not a username-only contact).
    NoPhone,
}

/// A wallet's balances (minor units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// What can be spent now.
    pub available: i64,
    /// Posted, holds included.
    pub ledger: i64,
}

/// A transfer's state as the customer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transfer {
    /// Done.
    Posted {
        /// Reference.
        reference: String,
        /// Fee charged.
        fee: i64,
    },
    /// Funds held; waiting for the other bank.
    Pending {
        /// Reference.
        reference: String,
        /// Fee charged on success.
        fee: i64,
    },
    /// It failed and nothing was taken.
    Failed {
        /// Reference.
        reference: String,
    },
    /// Refused before anything moved.
    Refused(Refusal),
}

/// What a transfer would cost and need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The fee.
    pub fee: i64,
    /// Amount plus fee.
    pub total: i64,
    /// Whether a one-time code will be needed.
    pub step_up: bool,
}

/// A recipient found by phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payee {
    /// "Ada L."
    pub name: String,
    /// International digits.
    pub phone: String,
}

/// An outcome of a provider callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callback {
    /// Applied now.
    Applied,
    /// Applied before: nothing more was done.
    Duplicate,
    /// No such customer or transfer.
    Unknown,
    /// Not in the bank's currency, or otherwise not acceptable.
    Refused,
}

/// Where an external transfer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Bank option id in the rules.
    pub bank: String,
    /// Account number.
    pub account: String,
    /// Account name as the rail gave it.
    pub name: String,
}

/// The bank.
pub struct Bank {
    store: Arc<dyn SqlStore>,
    kv: Arc<dyn Kv>,
    rules: Arc<Rules>,
    settings: BankSettings,
    clock: Arc<dyn Clock>,
    rail: Arc<dyn Rail>,
    code_key: secrecy::SecretBox<Vec<u8>>,
    outbox_wake: Arc<Notify>,
    /// PIN hashes are made and checked here, within the process's memory budget for them.
    hasher: Arc<Hasher>,
}

fn alias_of_phone(phone: &str) -> String {
    crate::phone::customer_key(phone)
}

/// "Ada L. (2348****21)".
fn shown(name: &str, phone: &str) -> String {
    format!("{} ({})", first_name_initial(name), mask_phone(phone))
}

impl Bank {
    /// The bank over these stores. `code_key` keys the hashes of one-time codes: every instance
    /// must share it.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn SqlStore>,
        kv: Arc<dyn Kv>,
        rules: Rules,
        settings: BankSettings,
        clock: Arc<dyn Clock>,
        rail: Arc<dyn Rail>,
        code_key: Vec<u8>,
        outbox_wake: Arc<Notify>,
    ) -> Bank {
        Bank {
            store,
            kv,
            rules: Arc::new(rules),
            settings,
            clock,
            rail,
            code_key: secrecy::SecretBox::new(Box::new(code_key)),
            outbox_wake,
            hasher: Arc::new(Hasher::default()),
        }
    }

    /// Where PINs are hashed and checked.
    pub fn hasher(&self) -> &Arc<Hasher> {
        &self.hasher
    }

    /// The bank, checking PINs with `hasher` (shared with everything else that hashes, so one
    /// memory budget bounds them all).
    pub fn with_hasher(mut self, hasher: Arc<Hasher>) -> Bank {
        self.hasher = hasher;
        self
    }

    /// The bank's currency.
    pub fn currency(&self) -> &str {
        &self.settings.currency
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn begin(&self) -> anyhow::Result<Box<dyn SqlTx>> {
        Ok(self.store.begin().await?)
    }

    /// Creates the system accounts that are missing.
    pub async fn open(&self) -> anyhow::Result<()> {
        let mut tx = self.begin().await?;
        for (kind, negative) in SYSTEM_ACCOUNTS {
            if tx.bank().system_account(kind, &self.settings.currency).await?.is_none() {
                let number = format!("SYS-{}-{}", kind.to_uppercase(), self.settings.currency);
                tx.bank()
                    .insert_account(&number, kind, None, &self.settings.currency, negative, self.now())
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether a sender key (`wa:…` or `bsuid:…`) is a registered customer's.
    pub async fn is_customer(&self, key: &str) -> anyhow::Result<bool> {
        Ok(self.store.is_customer(key).await?)
    }

    /// The customer behind a sender key (`wa:…` or `bsuid:…`).
    pub async fn customer(&self, key: &str) -> anyhow::Result<Option<CustomerRow>> {
        let mut tx = self.begin().await?;
        let customer = tx.bank().customer_by_alias(key).await?;
        tx.rollback().await?;
        Ok(customer)
    }

    /// The customer behind `key` and their wallet, read in a unit of work the caller goes on
    /// reading in (and rolls back); `None` when `key` is not a customer.
    async fn with_wallet(
        &self,
        key: &str,
    ) -> anyhow::Result<Option<(CustomerRow, AccountRow, Box<dyn SqlTx>)>> {
        let mut tx = self.begin().await?;
        let Some(customer) = tx.bank().customer_by_alias(key).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        let wallet = self.wallet(tx.bank(), customer.id).await?;
        Ok(Some((customer, wallet, tx)))
    }

    async fn wallet(&self, tx: &mut dyn BankTx, customer: i64) -> anyhow::Result<AccountRow> {
        tx.customer_account(customer, kind::WALLET).await?.context("a customer without a wallet")
    }

    async fn system(&self, tx: &mut dyn BankTx, kind: &str) -> anyhow::Result<AccountRow> {
        tx.system_account(kind, &self.settings.currency)
            .await?
            .with_context(|| format!("the {kind} account is missing: was Bank::open run?"))
    }

    /// Forgets what waited on the customer behind `key` finishing a flow: a PIN chosen but not
    /// yet confirmed or registered, a one-time code sent, a PIN or code verified for the next
    /// action, an authenticator enrolment begun. (Nothing of the ledger waits on a session:
    /// funds are held only for a confirmed transfer, which the stuck-transfer job settles.)
    pub async fn forget_pending(&self, key: &str) -> anyhow::Result<()> {
        for what in ["new_pin", "pin_ready"] {
            self.kv.delete(&Self::kv_key(what, key)).await?;
        }
        if let Some(customer) = self.customer(key).await? {
            for what in ["code", "code_tries", "code_ok", "verified", "totp_pending"] {
                self.kv.delete(&Self::kv_key(what, customer.id)).await?;
            }
        }
        Ok(())
    }

    // ---- PINs -------------------------------------------------------------------------------

    fn kv_key(what: &str, id: impl std::fmt::Display) -> String {
        format!("bank:{what}:{id}")
    }

    /// First entry of a new PIN: refused if weak, else kept (hashed) for its confirmation.
    pub async fn choose_pin(&self, key: &str, pin: &str) -> anyhow::Result<Result<(), secrets::WeakPin>> {
        if let Err(weak) = secrets::check_new_pin(pin) {
            return Ok(Err(weak));
        }
        let hash = self.hasher.hash(pin.to_owned()).await?;
        self.kv.set(&Self::kv_key("new_pin", key), hash.as_bytes(), NEW_PIN_TTL).await?;
        self.kv.delete(&Self::kv_key("pin_ready", key)).await?;
        Ok(Ok(()))
    }

    /// Second entry: true when it matches the first, which is then ready to use.
    pub async fn confirm_pin(&self, key: &str, pin: &str) -> anyhow::Result<Option<bool>> {
        let Some(hash) = self.kv.get(&Self::kv_key("new_pin", key)).await? else { return Ok(None) };
        let hash = String::from_utf8(hash).context("a kept PIN hash is not text")?;
        if !self.hasher.matches(pin.to_owned(), hash.clone()).await? {
            return Ok(Some(false));
        }
        self.kv.delete(&Self::kv_key("new_pin", key)).await?;
        self.kv.set(&Self::kv_key("pin_ready", key), hash.as_bytes(), NEW_PIN_TTL).await?;
        Ok(Some(true))
    }

    /// Registers the customer behind `key` with the PIN they confirmed.
    pub async fn register(
        &self,
        key: &str,
        first_name: &str,
        last_name: &str,
        date_of_birth: &str,
        id_number: &str,
    ) -> anyhow::Result<Registration> {
        let Some(phone) = crate::phone::wa_id_of(key) else { return Ok(Registration::NoPhone) };
        let id_number: String = id_number.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if !self.rules.id_number_pattern.is_match(&id_number) {
            return Ok(Registration::InvalidIdNumber);
        }
        let now = self.now();
        let Ok(born) = NaiveDate::parse_from_str(date_of_birth, "%Y-%m-%d") else {
            return Ok(Registration::TooYoung);
        };
        if age_on(born, now.with_timezone(&self.settings.timezone).date_naive()) < self.rules.minimum_age {
            return Ok(Registration::TooYoung);
        }
        if self.customer(key).await?.is_some() {
            return Ok(Registration::AlreadyRegistered);
        }
        let Some(hash) = self.kv.get(&Self::kv_key("pin_ready", key)).await? else {
            return Ok(Registration::PinMissing);
        };
        let hash = String::from_utf8(hash).context("a kept PIN hash is not text")?;
        let mut tx = self.begin().await?;
        let customer = NewCustomer {
            first_name,
            last_name,
            date_of_birth,
            id_number: &id_number,
            phone,
            kyc_tier: 1,
            pin_hash: &hash,
            now,
        };
        let Some(id) = tx.bank().insert_customer(&customer).await? else {
            tx.rollback().await?;
            return Ok(Registration::IdNumberTaken);
        };
        if !tx.bank().insert_alias(key, id, now).await? {
            tx.rollback().await?;
            return Ok(Registration::AlreadyRegistered);
        }
        let mut account_number = None;
        for _ in 0..ACCOUNT_NUMBER_TRIES {
            let number = format!("{:010}", 1_000_000_000 + fastrand::u64(..9_000_000_000));
            if tx
                .bank()
                .insert_account(&number, kind::WALLET, Some(id), &self.settings.currency, false, now)
                .await?
                .is_some()
            {
                account_number = Some(number);
                break;
            }
        }
        let account_number = account_number.context("no free account number after several tries")?;
        tx.append_audit(&customer_event(
            id,
            "customer.registered",
            serde_json::json!({ "kyc_tier": 1, "phone": mask_phone(phone), "account": account_number }),
            now,
        ))
        .await?;
        tx.commit().await?;
        self.kv.delete(&Self::kv_key("pin_ready", key)).await?;
        Ok(Registration::Registered { account_number })
    }

    /// Checks the PIN of the customer behind `key`. A locked customer's PIN is not checked.
    ///
    /// The try is counted before the hash is checked, atomically ([`BankTx::pin_try`]),
    /// so checks running at once can never test more PINs than tries are left; the last try
    /// locks in advance, and a right PIN lifts it. Locks in a row grow (`lockout_minutes`), and
    /// the `operator_unlock_after`-th waits for an operator. No transaction is open while the
    /// hash is checked.
    pub async fn verify_pin(&self, key: &str, pin: &str) -> anyhow::Result<PinCheck> {
        let Some(customer) = self.customer(key).await? else { return Ok(PinCheck::NotRegistered) };
        let now = self.now();
        if let Some(locked) = lock_of(&customer, now) {
            return Ok(locked);
        }
        let security = &self.rules.security;
        let lock = u32::try_from(customer.pin_locks).unwrap_or(0).saturating_add(1);
        let mut tx = self.begin().await?;
        let reserved = tx
            .bank()
            .pin_try(
                customer.id,
                security.pin_attempts,
                now + security.lockout_for(lock),
                security.needs_operator(lock),
                now,
            )
            .await?;
        tx.commit().await?;
        let Some(reserved) = reserved else {
            // Locked meanwhile: another check took the last try.
            let customer = self.customer(key).await?.context("a customer vanished")?;
            return Ok(lock_of(&customer, now).unwrap_or(PinCheck::Wrong { left: 0 }));
        };
        let right = self.hasher.matches(pin.to_owned(), customer.pin_hash.clone()).await?;
        let mut tx = self.begin().await?;
        let audit =
            |action: &str, detail: serde_json::Value| customer_event(customer.id, action, detail, now);
        if customer.locked_until.is_some_and(|until| until <= now) {
            // The last lock has run out: record that it ended.
            tx.append_audit(&audit("customer.unlocked", serde_json::json!({ "reason": "lock expired" })))
                .await?;
        }
        let last = reserved.pin_failures >= security.pin_attempts;
        let check = if right {
            tx.bank().pin_passed(customer.id, now).await?;
            PinCheck::Verified
        } else if last {
            let blocked = reserved.pin_blocked != 0;
            let detail = serde_json::json!({
                "reason": "wrong PIN",
                "attempts": security.pin_attempts,
                "locks_in_a_row": reserved.pin_locks,
                "until": if blocked { serde_json::Value::Null } else { serde_json::json!(reserved.locked_until) },
                "operator_unlock": blocked,
            });
            tx.append_audit(&audit(if blocked { "customer.blocked" } else { "customer.locked" }, detail))
                .await?;
            match reserved.locked_until {
                Some(until) if !blocked => PinCheck::Locked { until },
                _ => PinCheck::Blocked,
            }
        } else {
            PinCheck::Wrong { left: security.pin_attempts - reserved.pin_failures }
        };
        tx.commit().await?;
        if check == PinCheck::Verified {
            self.kv
                .set(&Self::kv_key("verified", customer.id), b"pin", self.rules.security.verified_for)
                .await?;
        } else if check == PinCheck::Blocked {
            tracing::warn!(
                customer = customer.id,
                "a customer's money actions are locked until an operator unlocks them"
            );
        }
        Ok(check)
    }

    /// Whether `text` is the PIN of the customer behind `key`: one hash check, no try counted
    /// (it authorises nothing; a conversation only learns from it what not to keep).
    pub async fn is_pin(&self, key: &str, text: &str) -> anyhow::Result<bool> {
        let Some(customer) = self.customer(key).await? else { return Ok(false) };
        Ok(self.hasher.matches(text.to_owned(), customer.pin_hash).await?)
    }

    /// When a lock ends, as a customer reads it: "14:30" today, "14:30 on Sat 5 Dec" later.
    pub fn lock_end(&self, until: DateTime<Utc>) -> String {
        let local = until.with_timezone(&self.settings.timezone);
        let today = self.now().with_timezone(&self.settings.timezone).date_naive();
        if local.date_naive() == today {
            local.format("%H:%M").to_string()
        } else {
            local.format("%H:%M on %a %-d %b").to_string()
        }
    }

    async fn verified(&self, customer: &CustomerRow) -> anyhow::Result<bool> {
        Ok(customer.reverify == 0 && self.kv.get(&Self::kv_key("verified", customer.id)).await?.is_some())
    }

    async fn spend_verification(&self, customer: i64) -> anyhow::Result<()> {
        self.kv.delete(&Self::kv_key("verified", customer)).await?;
        self.kv.delete(&Self::kv_key("code_ok", customer)).await?;
        Ok(())
    }

    /// Replaces the PIN with the one just confirmed; needs the old PIN verified first.
    pub async fn change_pin(&self, key: &str) -> anyhow::Result<Result<(), Refusal>> {
        let Some(customer) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered)) };
        if !self.verified(&customer).await? {
            return Ok(Err(Refusal::NotVerified));
        }
        let Some(hash) = self.kv.get(&Self::kv_key("pin_ready", key)).await? else {
            return Ok(Err(Refusal::NotVerified));
        };
        let hash = String::from_utf8(hash).context("a kept PIN hash is not text")?;
        let now = self.now();
        let mut tx = self.begin().await?;
        tx.bank().set_pin_hash(customer.id, &hash, now).await?;
        tx.append_audit(&customer_event(customer.id, "customer.pin_changed", serde_json::json!({}), now))
            .await?;
        tx.commit().await?;
        self.kv.delete(&Self::kv_key("pin_ready", key)).await?;
        self.spend_verification(customer.id).await?;
        Ok(Ok(()))
    }

    /// Lifts a customer's lockout (an operator's action), the one only an operator ends
    /// included; false when they were not locked.
    pub async fn unlock(&self, customer: i64, actor: &str) -> anyhow::Result<bool> {
        let now = self.now();
        let mut tx = self.begin().await?;
        if !tx.bank().unlock(customer, now).await? {
            return Ok(false);
        }
        tx.append_audit(&NewAuditEvent {
            occurred_at: now,
            actor: actor.to_owned(),
            action: "customer.unlocked".into(),
            subject: format!("customer:{customer}"),
            detail: serde_json::json!({ "reason": "operator" }),
        })
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The customer's number changed (a `system` message): their alias moves and the PIN is
    /// needed again before the next money action.
    pub async fn number_changed(&self, old_key: &str, new_wa_id: &str) -> anyhow::Result<bool> {
        let now = self.now();
        let new_key = alias_of_phone(new_wa_id);
        let mut tx = self.begin().await?;
        let Some(customer) = tx.bank().customer_by_alias(old_key).await? else { return Ok(false) };
        if !tx.bank().move_alias(old_key, &new_key).await? {
            tracing::warn!(customer = customer.id, "a number change to a number already in use was ignored");
            return Ok(false);
        }
        tx.bank().set_reverify(customer.id, new_wa_id, now).await?;
        tx.append_audit(&customer_event(
            customer.id,
            "customer.number_changed",
            serde_json::json!({ "from": mask_phone(&customer.phone), "to": mask_phone(new_wa_id) }),
            now,
        ))
        .await?;
        tx.commit().await?;
        self.spend_verification(customer.id).await?;
        Ok(true)
    }

    // ---- One-time codes and authenticator apps ----------------------------------------------

    fn code_subject(customer: i64) -> String {
        format!("customer:{customer}")
    }

    /// Whether sending `amount` to `counterparty` needs a one-time code.
    async fn needs_code(
        &self,
        tx: &mut dyn BankTx,
        wallet: i64,
        amount: i64,
        counterparty: &str,
    ) -> anyhow::Result<bool> {
        Ok(amount > self.rules.security.step_up_above || !tx.has_paid(wallet, counterparty).await?)
    }

    /// Starts the second factor for a transfer, if it needs one: sends a code, or asks for the
    /// authenticator's. Repeating `idempotency_key` sends nothing more.
    pub async fn step_up(
        &self,
        key: &str,
        amount: i64,
        counterparty: &str,
        idempotency_key: &str,
    ) -> anyhow::Result<Result<StepUp, Refusal>> {
        let Some((customer, wallet, mut tx)) = self.with_wallet(key).await? else {
            return Ok(Err(Refusal::NotRegistered));
        };
        let needed = self.needs_code(tx.bank(), wallet.id, amount, counterparty).await?;
        tx.rollback().await?;
        if !needed {
            return Ok(Ok(StepUp::NotNeeded));
        }
        if customer.totp_secret.is_some() {
            return Ok(Ok(StepUp::Authenticator));
        }
        let once = Self::kv_key("step_up", idempotency_key);
        if !self.kv.set_if_absent(&once, b"sent", self.rules.security.otp_ttl).await? {
            return Ok(Ok(StepUp::Sent));
        }
        let code = secrets::new_code();
        let digest =
            secrets::code_digest(self.code_key.expose_secret(), &Self::code_subject(customer.id), &code);
        let ttl = self.rules.security.otp_ttl;
        self.kv.set(&Self::kv_key("code", customer.id), digest.as_bytes(), ttl).await?;
        self.kv.delete(&Self::kv_key("code_tries", customer.id)).await?;
        let message: Outbound = match &self.settings.otp_template {
            Some((name, language)) => {
                Template::new(name.clone(), language.clone(), vec![code.clone()])?.into()
            }
            None => {
                let language = self.store.customer_language(key).await?.unwrap_or_default();
                let minutes = ttl.as_secs().div_ceil(60);
                Text::new(notices::text(&Notice::Code { code: &code, minutes }, &language, self.currency()))?
                    .into()
            }
        };
        let mut tx = self.begin().await?;
        // The message is scrubbed once the code can no longer be used.
        let useless_after = self.now() + chrono::Duration::from_std(ttl)?;
        self.queue(tx.as_mut(), &customer.phone, &message, Some(useless_after)).await?;
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(Ok(StepUp::Sent))
    }

    /// Checks a code: the one sent, or the authenticator's.
    pub async fn verify_code(&self, key: &str, code: &str) -> anyhow::Result<Result<CodeCheck, Refusal>> {
        let Some(customer) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered)) };
        let security = &self.rules.security;
        let check = if let Some(secret) = &customer.totp_secret {
            self.check_totp(customer.id, secret, code).await?
        } else {
            let code_key = Self::kv_key("code", customer.id);
            if self.kv.get(&code_key).await?.is_none() {
                return Ok(Ok(CodeCheck::Expired));
            }
            let tries =
                self.kv.increment(&Self::kv_key("code_tries", customer.id), 1, security.otp_ttl).await?;
            if tries > security.otp_attempts {
                self.kv.delete(&code_key).await?;
                return Ok(Ok(CodeCheck::TooMany));
            }
            let digest =
                secrets::code_digest(self.code_key.expose_secret(), &Self::code_subject(customer.id), code);
            let kept = self.kv.get(&code_key).await?;
            if kept.as_deref().is_some_and(|k| crate::signature::secrets_match(k, digest.as_bytes())) {
                // Single use: of two racing checks, one takes it.
                if self.kv.get_and_delete(&code_key).await?.is_none() {
                    return Ok(Ok(CodeCheck::Expired));
                }
                CodeCheck::Verified
            } else if tries >= security.otp_attempts {
                self.kv.delete(&code_key).await?;
                CodeCheck::TooMany
            } else {
                CodeCheck::Wrong
            }
        };
        if check == CodeCheck::Verified {
            self.kv.set(&Self::kv_key("code_ok", customer.id), b"code", security.verified_for).await?;
        }
        Ok(Ok(check))
    }

    async fn check_totp(&self, customer: i64, secret: &str, code: &str) -> anyhow::Result<CodeCheck> {
        let tries_key = Self::kv_key("totp_tries", customer);
        let tries = self.kv.increment(&tries_key, 1, self.rules.security.otp_ttl).await?;
        if tries > self.rules.security.otp_attempts {
            return Ok(CodeCheck::TooMany);
        }
        let totp = self.totp(secret, "")?;
        let now = u64::try_from(self.now().timestamp()).unwrap_or(0);
        if !totp.check(code, now) {
            return Ok(if tries >= self.rules.security.otp_attempts {
                CodeCheck::TooMany
            } else {
                CodeCheck::Wrong
            });
        }
        // A code is good for its 30-second step (and one either side): never twice.
        let used = Self::kv_key("totp_used", format!("{customer}:{code}"));
        if !self.kv.set_if_absent(&used, b"1", Duration::from_secs(120)).await? {
            return Ok(CodeCheck::Expired);
        }
        self.kv.delete(&tries_key).await?;
        Ok(CodeCheck::Verified)
    }

    fn totp(&self, secret: &str, account: &str) -> anyhow::Result<totp_rs::TOTP> {
        secrets::totp(secret, &self.settings.issuer, account)
    }

    /// Starts authenticator enrolment (PIN verified first): returns the secret to type in
    /// and the `otpauth://` URI. It is only recorded once a code from the app proves it.
    pub async fn totp_begin(&self, key: &str) -> anyhow::Result<Result<(String, String), Refusal>> {
        let Some(customer) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered)) };
        if !self.verified(&customer).await? {
            return Ok(Err(Refusal::NotVerified));
        }
        // A key already shown and not yet confirmed is shown again: a redelivered message, or a
        // customer starting over, must not leave the app holding a key the bank forgot.
        let pending = Self::kv_key("totp_pending", customer.id);
        let secret = match self.kv.get(&pending).await? {
            Some(shown) => String::from_utf8(shown).context("a pending secret is not text")?,
            None => totp_rs::Secret::Raw(secrets::random_bytes::<20>().to_vec()).to_encoded().to_string(),
        };
        let totp = self.totp(&secret, &mask_phone(&customer.phone))?;
        self.kv.set(&pending, secret.as_bytes(), TOTP_PENDING_TTL).await?;
        Ok(Ok((secret, totp.get_url())))
    }

    /// Finishes enrolment with a code from the app.
    pub async fn totp_confirm(&self, key: &str, code: &str) -> anyhow::Result<Result<CodeCheck, Refusal>> {
        let Some(customer) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered)) };
        let Some(secret) = self.kv.get(&Self::kv_key("totp_pending", customer.id)).await? else {
            return Ok(Ok(CodeCheck::Expired));
        };
        let secret = String::from_utf8(secret).context("a pending secret is not text")?;
        let check = self.check_totp(customer.id, &secret, code).await?;
        if check == CodeCheck::Verified {
            let now = self.now();
            let mut tx = self.begin().await?;
            tx.bank().set_totp_secret(customer.id, Some(&secret), now).await?;
            tx.append_audit(&customer_event(
                customer.id,
                "customer.authenticator_enrolled",
                serde_json::json!({}),
                now,
            ))
            .await?;
            tx.commit().await?;
            self.kv.delete(&Self::kv_key("totp_pending", customer.id)).await?;
            self.spend_verification(customer.id).await?;
        }
        Ok(Ok(check))
    }

    // ---- Balances and statements ------------------------------------------------------------

    /// The wallet's balances and number, cached briefly (every posting drops the cache).
    pub async fn balance(&self, key: &str) -> anyhow::Result<Result<(Balance, String), Refusal>> {
        let Some(customer) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered)) };
        let cache = Self::kv_key("balance", customer.id);
        if let Some(bytes) = self.kv.get(&cache).await?
            && let Ok(cached) = serde_json::from_slice::<(Balance, String)>(&bytes)
        {
            return Ok(Ok(cached));
        }
        let mut tx = self.begin().await?;
        let wallet = self.wallet(tx.bank(), customer.id).await?;
        tx.rollback().await?;
        let read = (Balance { available: wallet.available(), ledger: wallet.posted }, wallet.number);
        self.kv.set(&cache, &serde_json::to_vec(&read)?, BALANCE_CACHE).await?;
        Ok(Ok(read))
    }

    async fn forget_balance(&self, customer: Option<i64>) {
        if let Some(id) = customer
            && let Err(err) = self.kv.delete(&Self::kv_key("balance", id)).await
        {
            tracing::warn!(error = %err, "a cached balance could not be dropped; it expires on its own");
        }
    }

    /// The newest `limit` transactions, one line each, counterparties masked.
    pub async fn statement(&self, key: &str, limit: i64) -> anyhow::Result<Result<Vec<String>, Refusal>> {
        let Some((_, wallet, mut tx)) = self.with_wallet(key).await? else {
            return Ok(Err(Refusal::NotRegistered));
        };
        let rows = tx.bank().recent_transactions(wallet.id, limit).await?;
        tx.rollback().await?;
        Ok(Ok(rows.iter().map(|row| self.statement_line(row, wallet.id)).collect()))
    }

    /// The people `key` sent money to within teller lately, most recent first: (phone number,
    /// name). Empty for someone not registered.
    pub async fn recent_payees(&self, key: &str) -> anyhow::Result<Vec<(String, String)>> {
        let Some((_, wallet, mut tx)) = self.with_wallet(key).await? else { return Ok(Vec::new()) };
        let payees = tx.bank().recent_payees(wallet.id, RECENT_PAYEES).await?;
        tx.rollback().await?;
        Ok(payees)
    }

    fn statement_line(&self, row: &TransactionRow, wallet: i64) -> String {
        let date = row.created_at.with_timezone(&self.settings.timezone);
        let date = format!("{} {}", date.day(), MONTHS[date.month0() as usize]);
        let out = row.debit_account == wallet;
        let amount = if out { row.amount + row.fee } else { row.amount };
        let sign = if out { "−" } else { "+" };
        let party = if out {
            self.party(&row.counterparty, &row.counterparty_name)
        } else {
            self.party(&row.origin, &row.origin_name)
        };
        let state = match row.state.as_str() {
            "pending" => " ⏳",
            "failed" | "reversed" => " ✖",
            _ => "",
        };
        format!("{date} · {sign}{} · {party}{state}", format_money(amount, self.currency()))
    }

    fn party(&self, who: &str, name: &str) -> String {
        let name = if name.is_empty() { String::new() } else { first_name_initial(name) };
        let masked = match who.split_once(':') {
            Some((bank, account)) => {
                let bank =
                    self.rules.banks.values().find(|b| b.code == bank).map_or(bank, |b| b.name.as_str());
                let tail: String =
                    account.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
                format!("{bank} ****{tail}")
            }
            None if who.is_empty() => String::new(),
            None => mask_phone(who),
        };
        match (name.is_empty(), masked.is_empty()) {
            (true, _) => masked,
            (false, true) => name,
            (false, false) => format!("{name} ({masked})"),
        }
    }

    // ---- Transfers --------------------------------------------------------------------------

    /// The customer behind phone number `phone`, as a payee of the customer behind `key`.
    pub async fn find_payee(&self, key: &str, phone: &str) -> anyhow::Result<Result<Payee, Refusal>> {
        let Some(me) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered)) };
        let Some(them) = self.customer(&alias_of_phone(phone)).await? else {
            return Ok(Err(Refusal::UnknownRecipient));
        };
        if them.id == me.id {
            return Ok(Err(Refusal::ToSelf));
        }
        Ok(Ok(Payee {
            name: first_name_initial(&format!("{} {}", them.first_name, them.last_name)),
            phone: them.phone,
        }))
    }

    /// The account at another bank, as its bank names it.
    pub async fn find_account(&self, bank: &str, account: &str) -> anyhow::Result<Result<String, Refusal>> {
        let Some(info) = self.rules.banks.get(bank) else { return Ok(Err(Refusal::UnknownBank)) };
        Ok(self.rail.lookup(&info.code, account).await?.ok_or(Refusal::UnknownAccount))
    }

    /// What sending `amount` (internal when `bank` is `None`) would cost, checked against the
    /// balance and limits now (the transfer checks again).
    pub async fn quote(
        &self,
        key: &str,
        amount: i64,
        counterparty: &str,
        external: bool,
    ) -> anyhow::Result<Result<Quote, Refusal>> {
        let Some((customer, wallet, mut tx)) = self.with_wallet(key).await? else {
            return Ok(Err(Refusal::NotRegistered));
        };
        let fee = fee(if external { &self.rules.external_fees } else { &self.rules.internal_fees }, amount);
        let total = amount.saturating_add(fee);
        let tier = self.rules.tier(customer.kyc_tier);
        let sent_today = tx.bank().debited_since(wallet.id, self.start_of_day()).await?;
        let step_up = self.needs_code(tx.bank(), wallet.id, amount, counterparty).await?;
        tx.rollback().await?;
        let refusal = if amount > tier.per_transaction {
            Some(Refusal::OverLimit)
        } else if sent_today.saturating_add(total) > tier.per_day {
            Some(Refusal::DailyLimit)
        } else if wallet.available() < total {
            Some(Refusal::InsufficientFunds)
        } else {
            None
        };
        Ok(match refusal {
            Some(refusal) => Err(refusal),
            None => Ok(Quote { fee, total, step_up }),
        })
    }

    fn start_of_day(&self) -> DateTime<Utc> {
        let tz = self.settings.timezone;
        let today = self.now().with_timezone(&tz).date_naive();
        today
            .and_hms_opt(0, 0, 0)
            .and_then(|midnight| tz.from_local_datetime(&midnight).earliest())
            .map_or_else(|| self.now(), |t| t.with_timezone(&Utc))
    }

    /// Checks what every transfer needs of its sender; the customer when all is well.
    async fn authorise(
        &self,
        key: &str,
        amount: i64,
        counterparty: &str,
    ) -> anyhow::Result<Result<(CustomerRow, AccountRow), Refusal>> {
        let Some((customer, wallet, mut tx)) = self.with_wallet(key).await? else {
            return Ok(Err(Refusal::NotRegistered));
        };
        let needs_code = self.needs_code(tx.bank(), wallet.id, amount, counterparty).await?;
        tx.rollback().await?;
        if customer.locked_at(self.now()) {
            return Ok(Err(Refusal::Locked));
        }
        if !self.verified(&customer).await? {
            return Ok(Err(Refusal::NotVerified));
        }
        if needs_code && self.kv.get(&Self::kv_key("code_ok", customer.id)).await?.is_none() {
            return Ok(Err(Refusal::CodeRequired));
        }
        Ok(Ok((customer, wallet)))
    }

    /// What a known idempotency key already did.
    async fn repeat(&self, key: &str) -> anyhow::Result<Option<Transfer>> {
        let mut tx = self.begin().await?;
        let found = tx.bank().transaction_by_key(key).await?;
        tx.rollback().await?;
        Ok(found.map(|row| outcome_of(&row)))
    }

    /// Sends `amount` to the customer whose WhatsApp number is `to_phone`, once per
    /// `idempotency_key`, with the PIN (and code, if needed) verified just before.
    pub async fn transfer_internal(
        &self,
        key: &str,
        to_phone: &str,
        amount: i64,
        idempotency_key: &str,
    ) -> anyhow::Result<Transfer> {
        if let Some(done) = self.repeat(idempotency_key).await? {
            return Ok(done);
        }
        let (sender, wallet) = match self.authorise(key, amount, to_phone).await? {
            Ok(found) => found,
            Err(refusal) => return Ok(Transfer::Refused(refusal)),
        };
        let Some(recipient) = self.customer(&alias_of_phone(to_phone)).await? else {
            return Ok(Transfer::Refused(Refusal::UnknownRecipient));
        };
        if recipient.id == sender.id {
            return Ok(Transfer::Refused(Refusal::ToSelf));
        }
        let outcome = self.move_internal(&sender, &wallet, &recipient, amount, idempotency_key).await?;
        if matches!(outcome, Transfer::Posted { .. }) {
            self.spend_verification(sender.id).await?;
            self.forget_balance(Some(sender.id)).await;
            self.forget_balance(Some(recipient.id)).await;
            self.outbox_wake.notify_one();
        }
        Ok(outcome)
    }

    /// The ledger part of an internal transfer: one unit of work.
    pub async fn move_internal(
        &self,
        sender: &CustomerRow,
        wallet: &AccountRow,
        recipient: &CustomerRow,
        amount: i64,
        idempotency_key: &str,
    ) -> anyhow::Result<Transfer> {
        let now = self.now();
        let fee = fee(&self.rules.internal_fees, amount);
        let tier = self.rules.tier(sender.kyc_tier);
        if amount > tier.per_transaction {
            return Ok(Transfer::Refused(Refusal::OverLimit));
        }
        let reference = new_reference("T");
        // Read before the unit of work: it holds its connection, and must not wait for another.
        let language = self.language_of(&recipient.phone).await?;
        let mut tx = self.begin().await?;
        let to_wallet = self.wallet(tx.bank(), recipient.id).await?;
        let fees = self.system(tx.bank(), kind::FEE_INCOME).await?;
        let sender_name = format!("{} {}", sender.first_name, sender.last_name);
        let recipient_name = format!("{} {}", recipient.first_name, recipient.last_name);
        let new = NewTransaction {
            reference: &reference,
            idempotency_key,
            kind: "transfer",
            state: "posted",
            debit_account: wallet.id,
            credit_account: to_wallet.id,
            amount,
            fee,
            currency: &self.settings.currency,
            counterparty: &recipient.phone,
            counterparty_name: &recipient_name,
            origin: &sender.phone,
            origin_name: &sender_name,
            narration: "",
            now,
        };
        let Some(id) = tx.bank().insert_transaction(&new).await? else {
            tx.rollback().await?;
            return Ok(self
                .repeat(idempotency_key)
                .await?
                .unwrap_or(Transfer::Refused(Refusal::InsufficientFunds)));
        };
        let legs = [(wallet.id, -(amount + fee)), (to_wallet.id, amount), (fees.id, fee)];
        let locked = lock_in_order(tx.bank(), &legs).await?;
        let sent_today = tx.bank().debited_since(wallet.id, self.start_of_day()).await?;
        if sent_today > tier.per_day {
            tx.rollback().await?;
            return Ok(Transfer::Refused(Refusal::DailyLimit));
        }
        let recipient_max = self.rules.tier(recipient.kyc_tier).max_balance;
        if let Some(max) = recipient_max
            && locked.iter().any(|a| a.id == to_wallet.id && a.posted.saturating_add(amount) > max)
        {
            tx.rollback().await?;
            return Ok(Transfer::Refused(Refusal::RecipientLimit));
        }
        if !post(tx.bank(), id, &legs, now).await? {
            tx.rollback().await?;
            return Ok(Transfer::Refused(Refusal::InsufficientFunds));
        }
        audit_posting(tx.as_mut(), &sender_actor(sender.id), &reference, "transfer", amount, fee, now)
            .await?;
        let balance = locked.iter().find(|a| a.id == to_wallet.id).map_or(0, |a| a.available() + amount);
        let text = notices::text(
            &Notice::Received { amount, from: &shown(&sender_name, &sender.phone), balance },
            &language,
            self.currency(),
        );
        self.notify(tx.as_mut(), &recipient.phone, &Text::new(text)?.into()).await?;
        tx.commit().await?;
        Ok(Transfer::Posted { reference, fee })
    }

    /// Sends `amount` to an account at another bank: funds held, the rail called, then posted
    /// or released on its answer (now, by a later poll, or by its callback).
    pub async fn transfer_external(
        self: &Arc<Self>,
        key: &str,
        to: &Destination,
        amount: i64,
        idempotency_key: &str,
    ) -> anyhow::Result<Transfer> {
        if let Some(done) = self.repeat(idempotency_key).await? {
            return Ok(done);
        }
        let Some(bank) = self.rules.banks.get(&to.bank) else {
            return Ok(Transfer::Refused(Refusal::UnknownBank));
        };
        let counterparty = format!("{}:{}", bank.code, to.account);
        let (sender, wallet) = match self.authorise(key, amount, &counterparty).await? {
            Ok(found) => found,
            Err(refusal) => return Ok(Transfer::Refused(refusal)),
        };
        let tier = self.rules.tier(sender.kyc_tier);
        if amount > tier.per_transaction {
            return Ok(Transfer::Refused(Refusal::OverLimit));
        }
        let now = self.now();
        let fee = fee(&self.rules.external_fees, amount);
        let reference = new_reference("X");
        let mut tx = self.begin().await?;
        let settlement = self.system(tx.bank(), kind::SETTLEMENT).await?;
        let new = NewTransaction {
            reference: &reference,
            idempotency_key,
            kind: "external_transfer",
            state: "pending",
            debit_account: wallet.id,
            credit_account: settlement.id,
            amount,
            fee,
            currency: &self.settings.currency,
            counterparty: &counterparty,
            counterparty_name: &to.name,
            origin: &sender.phone,
            origin_name: "",
            narration: "",
            now,
        };
        let Some(_) = tx.bank().insert_transaction(&new).await? else {
            tx.rollback().await?;
            return Ok(self
                .repeat(idempotency_key)
                .await?
                .unwrap_or(Transfer::Refused(Refusal::InsufficientFunds)));
        };
        tx.bank().lock_account(wallet.id).await?;
        if tx.bank().debited_since(wallet.id, self.start_of_day()).await? > tier.per_day {
            tx.rollback().await?;
            return Ok(Transfer::Refused(Refusal::DailyLimit));
        }
        if !tx.bank().shift_balance(wallet.id, 0, amount + fee).await? {
            tx.rollback().await?;
            return Ok(Transfer::Refused(Refusal::InsufficientFunds));
        }
        audit_posting(tx.as_mut(), &sender_actor(sender.id), &reference, "hold", amount, fee, now).await?;
        tx.commit().await?;
        self.spend_verification(sender.id).await?;
        self.forget_balance(Some(sender.id)).await;

        let transfer = RailTransfer {
            reference: reference.clone(),
            bank_code: bank.code.clone(),
            account_number: to.account.clone(),
            amount,
            currency: self.settings.currency.clone(),
            narration: format!(
                "From {}",
                first_name_initial(&format!("{} {}", sender.first_name, sender.last_name))
            ),
        };
        let status = match self.rail.initiate(&transfer).await {
            Ok(status) => status,
            Err(err) => {
                // Unknown: the funds stay held until the rail says (poll, callback, or the
                // worker's reconciliation).
                tracing::warn!(error = %err, %reference, "the rail did not answer; the transfer stays pending");
                RailStatus::Pending
            }
        };
        match status {
            RailStatus::Pending => {
                self.follow_up(transfer);
                Ok(Transfer::Pending { reference, fee })
            }
            final_status => {
                self.settle(&reference, &final_status).await?;
                Ok(self.repeat(idempotency_key).await?.unwrap_or(Transfer::Pending { reference, fee }))
            }
        }
    }

    /// Asks the rail again shortly, so a transfer does not wait for the worker's round.
    fn follow_up(self: &Arc<Self>, transfer: RailTransfer) {
        let bank = Arc::downgrade(self);
        tokio::spawn(async move {
            for delay in [1, 5, 30] {
                tokio::time::sleep(Duration::from_secs(delay)).await;
                let Some(bank) = bank.upgrade() else { return };
                match bank.rail.status(&transfer).await {
                    Ok(RailStatus::Pending) => continue,
                    Ok(status) => {
                        if let Err(err) = bank.settle(&transfer.reference, &status).await {
                            tracing::warn!(error = %err, reference = %transfer.reference, "could not settle a transfer");
                        }
                        return;
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, reference = %transfer.reference, "the rail's status is unknown")
                    }
                }
            }
        });
    }

    /// Applies the rail's final word on a pending transfer: posted on success, the hold
    /// released on failure. Once: a repeat finds it settled.
    pub async fn settle(&self, reference: &str, status: &RailStatus) -> anyhow::Result<Callback> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let Some(row) = tx.bank().transaction_by_reference(reference).await? else {
            tx.rollback().await?;
            return Ok(Callback::Unknown);
        };
        let owner = tx.bank().account_owner(row.debit_account).await?;
        tx.rollback().await?;
        if row.kind != "external_transfer" {
            return Ok(Callback::Unknown);
        }
        let (to, reason) = match status {
            RailStatus::Pending => return Ok(Callback::Duplicate),
            RailStatus::Success => ("posted", None),
            RailStatus::Failed(reason) => ("failed", Some(reason.as_str())),
        };
        let language = match &owner {
            Some(owner) => self.language_of(&owner.phone).await?,
            None => String::new(),
        };
        let mut tx = self.begin().await?;
        if !tx.bank().set_transaction_state(row.id, "pending", to, reason, now).await? {
            tx.rollback().await?;
            return Ok(Callback::Duplicate);
        }
        // Read again now that the row is ours: the stuck-transfer job may have moved it to
        // suspense since the first read.
        let row = tx.bank().transaction_by_reference(reference).await?.context("the transaction vanished")?;
        let total = row.amount + row.fee;
        let fees = self.system(tx.bank(), kind::FEE_INCOME).await?;
        let mut held = None;
        if row.suspense_at.is_some() {
            // The customer's funds wait in suspense: on to the rail's side, or back to them,
            // unless that would pass their maximum balance (then the refund waits there).
            let suspense = self.system(tx.bank(), kind::SUSPENSE).await?;
            let legs = if to == "posted" {
                vec![(suspense.id, -total), (row.credit_account, row.amount), (fees.id, row.fee)]
            } else {
                vec![(suspense.id, -total), (row.debit_account, total)]
            };
            let locked = lock_in_order(tx.bank(), &legs).await?;
            held = (to == "failed")
                .then(|| self.passes_maximum(owner.as_ref(), &locked, row.debit_account, total))
                .flatten();
            if held.is_none() && !post(tx.bank(), row.id, &legs, now).await? {
                anyhow::bail!("transfer {reference}: funds in suspense could not be moved on");
            }
        } else {
            let legs = [(row.debit_account, -total), (row.credit_account, row.amount), (fees.id, row.fee)];
            lock_in_order(tx.bank(), &legs).await?;
            // The hold goes either way; on success the money leaves with it.
            if !tx.bank().shift_balance(row.debit_account, 0, -total).await? {
                anyhow::bail!("transfer {reference}: its hold is not on the account");
            }
            if to == "posted" && !post(tx.bank(), row.id, &legs, now).await? {
                anyhow::bail!("transfer {reference}: held funds could not be posted");
            }
        }
        audit_posting(tx.as_mut(), "system:rail", reference, to, row.amount, row.fee, now).await?;
        if let (Some(limit), Some(customer)) = (held, &owner) {
            self.hold_refund(tx.as_mut(), &row, customer, limit, &language, now).await?;
        } else if let Some(customer) = &owner {
            let payee = self.party(&row.counterparty, &row.counterparty_name);
            let notice = if to == "posted" {
                Notice::TransferDone { amount: row.amount, to: &payee, reference }
            } else {
                Notice::TransferFailed { amount: row.amount, to: &payee, reference }
            };
            let text = notices::text(&notice, &language, self.currency());
            self.notify(tx.as_mut(), &customer.phone, &Text::new(text)?.into()).await?;
        }
        tx.commit().await?;
        self.forget_balance(owner.map(|c| c.id)).await;
        self.outbox_wake.notify_one();
        Ok(Callback::Applied)
    }

    /// Transfers to other banks pending since before `created_before`, by id after `after`.
    pub async fn stuck_transfers(
        &self,
        created_before: DateTime<Utc>,
        after: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<TransactionRow>> {
        let mut tx = self.begin().await?;
        let rows = tx.bank().stuck_transfers(created_before, after, limit).await?;
        tx.rollback().await?;
        Ok(rows)
    }

    /// What became of pending transfer `row`, as its rail says now.
    pub async fn rail_status(&self, row: &TransactionRow) -> anyhow::Result<RailStatus> {
        let (bank_code, account_number) = row
            .counterparty
            .split_once(':')
            .with_context(|| format!("transfer {}: no bank in its counterparty", row.reference))?;
        let transfer = RailTransfer {
            reference: row.reference.clone(),
            bank_code: bank_code.to_owned(),
            account_number: account_number.to_owned(),
            amount: row.amount,
            currency: row.currency.clone(),
            narration: String::new(),
        };
        self.rail.status(&transfer).await
    }

    /// A transfer whose outcome stayed unknown too long: the customer's held funds are posted
    /// to the suspense account, for operations to resolve with the rail. It stays pending, so
    /// the rail's eventual answer (a callback, or a later poll) still settles it, from
    /// suspense. False when it was settled or suspended already.
    pub async fn suspend(&self, reference: &str) -> anyhow::Result<bool> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let Some(row) = tx.bank().transaction_by_reference(reference).await? else {
            tx.rollback().await?;
            return Ok(false);
        };
        if row.kind != "external_transfer" || !tx.bank().set_suspense(row.id, now).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        let total = row.amount + row.fee;
        let suspense = self.system(tx.bank(), kind::SUSPENSE).await?;
        let legs = [(row.debit_account, -total), (suspense.id, total)];
        lock_in_order(tx.bank(), &legs).await?;
        if !tx.bank().shift_balance(row.debit_account, 0, -total).await? {
            anyhow::bail!("transfer {reference}: its hold is not on the account");
        }
        if !post(tx.bank(), row.id, &legs, now).await? {
            anyhow::bail!("transfer {reference}: held funds could not be moved to suspense");
        }
        audit_posting(tx.as_mut(), "system:worker", reference, "suspense", row.amount, row.fee, now).await?;
        let owner = tx.bank().account_owner(row.debit_account).await?;
        tx.commit().await?;
        self.forget_balance(owner.map(|c| c.id)).await;
        Ok(true)
    }

    /// Money arrived from outside for the customer with WhatsApp number `wa_id`: credited once
    /// per provider `reference`.
    pub async fn credit(
        &self,
        reference: &str,
        wa_id: &str,
        amount: i64,
        currency: &str,
        payer: &str,
    ) -> anyhow::Result<Callback> {
        if currency != self.settings.currency || amount <= 0 {
            return Ok(Callback::Refused);
        }
        let now = self.now();
        let key = format!("credit:{reference}");
        let Some(customer) = self.customer(&alias_of_phone(wa_id)).await? else {
            return Ok(Callback::Unknown);
        };
        let language = self.language_of(&customer.phone).await?;
        let mut tx = self.begin().await?;
        let wallet = self.wallet(tx.bank(), customer.id).await?;
        let settlement = self.system(tx.bank(), kind::SETTLEMENT).await?;
        let new = NewTransaction {
            reference: &new_reference("C"),
            idempotency_key: &key,
            kind: "credit",
            state: "posted",
            debit_account: settlement.id,
            credit_account: wallet.id,
            amount,
            fee: 0,
            currency,
            counterparty: "",
            counterparty_name: "",
            origin: "",
            origin_name: payer,
            narration: reference,
            now,
        };
        let Some(id) = tx.bank().insert_transaction(&new).await? else { return Ok(Callback::Duplicate) };
        let legs = [(settlement.id, -amount), (wallet.id, amount)];
        let locked = lock_in_order(tx.bank(), &legs).await?;
        // A tier's maximum balance holds for money from outside too: the provider returns it.
        let limit = self.rules.tier(customer.kyc_tier).max_balance;
        if let Some(limit) = limit
            && locked.iter().any(|a| a.id == wallet.id && a.posted.saturating_add(amount) > limit)
        {
            tx.rollback().await?;
            tracing::warn!(%reference, "a credit would take a wallet past its tier's maximum balance; refused");
            let text = notices::text(&Notice::CreditRefused { amount, limit }, &language, self.currency());
            let mut tx = self.begin().await?;
            self.notify(tx.as_mut(), &customer.phone, &Text::new(text)?.into()).await?;
            tx.append_audit(&customer_event(
                customer.id,
                "ledger.credit_refused",
                serde_json::json!({ "reference": reference, "amount": amount, "limit": limit }),
                now,
            ))
            .await?;
            tx.commit().await?;
            self.outbox_wake.notify_one();
            return Ok(Callback::Refused);
        }
        if !post(tx.bank(), id, &legs, now).await? {
            anyhow::bail!("a credit could not be posted");
        }
        audit_posting(tx.as_mut(), "system:payments", reference, "credit", amount, 0, now).await?;
        let balance = locked.iter().find(|a| a.id == wallet.id).map_or(0, |a| a.available() + amount);
        let from = if payer.is_empty() { String::new() } else { first_name_initial(payer) };
        let text =
            notices::text(&Notice::Credited { amount, from: &from, balance }, &language, self.currency());
        self.notify(tx.as_mut(), &customer.phone, &Text::new(text)?.into()).await?;
        tx.commit().await?;
        self.forget_balance(Some(customer.id)).await;
        self.outbox_wake.notify_one();
        Ok(Callback::Applied)
    }

    /// The language the customer at `phone` chose (empty: the default).
    async fn language_of(&self, phone: &str) -> anyhow::Result<String> {
        Ok(self.store.customer_language(&alias_of_phone(phone)).await?.unwrap_or_default())
    }

    /// Queues `message` to the customer at `phone` in the unit of work `tx`, so it goes out
    /// exactly when the change it reports is committed. Outside the 24-hour window the sender
    /// turns it into the configured template.
    async fn notify(&self, tx: &mut dyn SqlTx, phone: &str, message: &Outbound) -> anyhow::Result<()> {
        self.queue(tx, phone, message, None).await
    }

    /// [`Bank::notify`], for a message whose body is replaced once settled and past `scrub_after`.
    async fn queue(
        &self,
        tx: &mut dyn SqlTx,
        phone: &str,
        message: &Outbound,
        scrub_after: Option<DateTime<Utc>>,
    ) -> anyhow::Result<()> {
        let body = message.to_body();
        let key = alias_of_phone(phone);
        tx.enqueue_outbound(&NewOutboxMessage {
            recipient_key: &key,
            wa_id: Some(phone),
            bsuid: None,
            in_reply_to: None,
            body: &body,
            window_from: None,
            created_at: self.now(),
            scrub_after,
            question: None,
        })
        .await?;
        Ok(())
    }

    /// Sums over the whole ledger.
    pub async fn totals(&self) -> anyhow::Result<crate::store::LedgerTotals> {
        let mut tx = self.begin().await?;
        let totals = tx.bank().ledger_totals().await?;
        tx.rollback().await?;
        Ok(totals)
    }
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// An audit event a customer caused about themselves.
fn customer_event(
    customer: i64,
    action: &str,
    detail: serde_json::Value,
    now: DateTime<Utc>,
) -> NewAuditEvent {
    NewAuditEvent {
        occurred_at: now,
        actor: sender_actor(customer),
        action: action.to_owned(),
        subject: sender_actor(customer),
        detail,
    }
}

/// How a customer's lock answers a PIN check at `now`, if they are locked.
fn lock_of(customer: &CustomerRow, now: DateTime<Utc>) -> Option<PinCheck> {
    if customer.pin_blocked != 0 {
        return Some(PinCheck::Blocked);
    }
    customer.locked_until.filter(|until| *until > now).map(|until| PinCheck::Locked { until })
}

fn sender_actor(customer: i64) -> String {
    format!("customer:{customer}")
}

fn new_reference(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    format!("{prefix}{}", &id[..15])
}

fn outcome_of(row: &TransactionRow) -> Transfer {
    let reference = row.reference.clone();
    match row.state.as_str() {
        "posted" => Transfer::Posted { reference, fee: row.fee },
        "pending" => Transfer::Pending { reference, fee: row.fee },
        _ => Transfer::Failed { reference },
    }
}

/// Completed years between `born` and `today`.
pub fn age_on(born: NaiveDate, today: NaiveDate) -> u32 {
    today.years_since(born).unwrap_or(0)
}

/// Locks the accounts of `legs` in the global order: customer accounts by id, then system
/// accounts by id (the busiest rows, held for the shortest time).
async fn lock_in_order(tx: &mut dyn BankTx, legs: &[(i64, i64)]) -> anyhow::Result<Vec<AccountRow>> {
    let mut accounts = Vec::with_capacity(legs.len());
    for (id, _) in legs {
        if !accounts.iter().any(|a: &AccountRow| a.id == *id) {
            accounts.push(tx.account(*id).await?.with_context(|| format!("account {id} is missing"))?);
        }
    }
    accounts.sort_by_key(|a| (a.customer_id.is_none(), a.id));
    // Read again, now in order, under the locks (PostgreSQL takes them here).
    let mut locked = Vec::with_capacity(accounts.len());
    for account in accounts {
        locked.push(
            tx.lock_account(account.id)
                .await?
                .with_context(|| format!("account {} is missing", account.id))?,
        );
    }
    Ok(locked)
}

/// Appends the entries of `legs` (which sum to zero) and moves the balances; false when a
/// wallet would go below zero (the caller rolls back).
async fn post(
    tx: &mut dyn BankTx,
    transaction: i64,
    legs: &[(i64, i64)],
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    debug_assert_eq!(legs.iter().map(|(_, a)| a).sum::<i64>(), 0);
    if legs.iter().map(|(_, a)| a).sum::<i64>() != 0 {
        anyhow::bail!("unbalanced postings for transaction {transaction}");
    }
    for (account, amount) in legs.iter().filter(|(_, a)| *a != 0) {
        if !tx.shift_balance(*account, *amount, 0).await? {
            return Ok(false);
        }
        tx.insert_entry(transaction, *account, *amount, now).await?;
    }
    Ok(true)
}

async fn audit_posting(
    tx: &mut dyn SqlTx,
    actor: &str,
    reference: &str,
    what: &str,
    amount: i64,
    fee: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    tx.append_audit(&NewAuditEvent {
        occurred_at: now,
        actor: actor.to_owned(),
        action: format!("ledger.{what}"),
        subject: format!("transaction:{reference}"),
        detail: serde_json::json!({ "amount": amount, "fee": fee }),
    })
    .await?;
    Ok(())
}
