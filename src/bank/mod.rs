//! The bank: customers, PINs and one-time codes, the double-entry ledger, transfers, credits
//! and statements; by concern, each an `impl Bank` of its own:
//!
//! - [`ledger`]: posting, the one lock order, the system accounts, the transaction kinds and
//!   states ([`ledger::TxKind`], [`ledger::TxState`]), and the totals every check reads;
//! - `customers`: registration, look-up, a change of number;
//! - `pins` and `codes`: verification (PINs and their locks; sent codes and authenticator
//!   apps);
//! - `statements`: balances, mini statements, recent payees;
//! - `transfers` and `settlement`: moving money between customers and to other banks, and the
//!   rail's word on it; `credits`: money in, and the notices the bank queues;
//! - [`fees`], [`refunds`], [`loans`]: the monthly fee, refunds held at a maximum balance, and
//!   lending; [`actions`]: what flows may ask of all this.
//!
//! Money rules, once, over the storage port's primitives (`store::BankTx`), so PostgreSQL and
//! SQLite run the same logic:
//! - every transaction's entries sum to zero, and an account's balance moves only in the unit
//!   of work that appends its entries (or its hold);
//! - a transaction is created first, under a unique idempotency key: a repeat (a redelivered
//!   message, a double tap, a replayed callback) finds it and returns its outcome instead of
//!   moving money again;
//! - accounts are locked in one global order (customer accounts by id up front, then system
//!   accounts by id as their balances move, last), so concurrent transfers cannot deadlock;
//!   fee income and settlement are kept in parts so that postings do not queue on one row;
//!   balances change by guarded `UPDATE`s that refuse to take a wallet below zero (with a
//!   `CHECK` constraint behind them);
//! - funds leaving for another bank are held before the rail is called and posted or released
//!   only on its definite answer.
//!
//! Imports: the ports (store, kv, flows' action trait), whatsapp's outbound messages, the leaves;
//! never http/ or app/.

pub mod actions;
pub mod bands;
pub mod biller;
pub mod bills;
pub mod care;
mod codes;
pub mod corrections;
mod credits;
mod customers;
pub mod fees;
pub mod funding;
pub mod ledger;
pub mod loans;
pub mod notices;
pub mod nuban;
pub mod paystack;
mod pin_reset;
mod pins;
pub mod rail;
pub mod refunds;
mod reversals;
pub mod rules;
pub mod secrets;
mod settlement;
pub mod setup;
mod statements;
mod transfers;

pub use customers::age_on;
use customers::alias_of_phone;
pub use ledger::kind;
use ledger::{audit_posting, post};
pub use pin_reset::{IdentityCheck, PinReset};

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use self::rail::Rail;
use self::rules::Rules;
use crate::clock::Clock;
use crate::hashing::Hasher;
use crate::kv::Kv;
use crate::store::{NewAuditEvent, SqlStore, SqlTx};

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
    /// Not an account number of that bank: its check digit is wrong (a typo).
    InvalidAccount,
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
            Refusal::InvalidAccount => "invalid_account",
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
    /// Frozen at the customer's request (or a fraud report) until an operator unfreezes it.
    Frozen,
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

/// How much a customer may send, by the tier of their account, and what is left of today's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The most one transfer may send.
    pub per_transaction: i64,
    /// The most that may leave the wallet in a day, fees included.
    pub per_day: i64,
    /// What is left of `per_day` today.
    pub left_today: i64,
    /// The most the wallet may hold, when the tier caps it.
    pub max_balance: Option<i64>,
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

/// Why a transfer cannot be quoted, with the figure that lets the customer fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuoteRefusal {
    /// Above the tier's limit for one transfer (minor units).
    OverLimit {
        /// The limit.
        limit: i64,
    },
    /// Past what is left of today's limit.
    DailyLimit {
        /// What may still be sent today, fees included.
        left: i64,
    },
    /// Not enough available for amount and fee.
    InsufficientFunds {
        /// The available balance.
        available: i64,
    },
    /// Money actions are locked after wrong PINs.
    Locked {
        /// When the lock ends, as the customer reads it; empty when only an operator ends it.
        until: String,
    },
    /// Frozen at the customer's request until an operator unfreezes it.
    Frozen,
    /// Anything else.
    Other(Refusal),
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
    /// The provider whose accounts customers fund their wallets through; `None`: the wallet's
    /// own number.
    funding: Option<Arc<dyn funding::Funding>>,
    /// Where airtime and data are bought.
    biller: Arc<dyn biller::Biller>,
    code_key: secrecy::SecretBox<Vec<u8>>,
    outbox_wake: Arc<crate::wake::Wake>,
    /// PIN hashes are made and checked here, within the process's memory budget for them.
    hasher: Arc<Hasher>,
    /// Seals customers' authenticator secrets at rest.
    sealing: Arc<crate::sealed::Keys>,
    /// The system accounts' ids, read once: they never change (see `ledger::Systems`).
    systems: std::sync::RwLock<Option<Arc<ledger::Systems>>>,
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
        outbox_wake: Arc<crate::wake::Wake>,
    ) -> Bank {
        Bank {
            store,
            kv,
            rules: Arc::new(rules),
            settings,
            clock,
            rail,
            funding: None,
            biller: Arc::new(biller::SimulatedBiller::default()),
            code_key: secrecy::SecretBox::new(Box::new(code_key)),
            outbox_wake,
            hasher: Arc::new(Hasher::default()),
            // A key of this process alone until the configured one is given (`with_sealing`).
            sealing: Arc::new(crate::sealed::Keys::ephemeral()),
            systems: std::sync::RwLock::new(None),
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

    /// The bank, sealing customers' authenticator secrets with `keys` (`SECRETS_KEY`).
    pub fn with_sealing(mut self, keys: Arc<crate::sealed::Keys>) -> Bank {
        self.sealing = keys;
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

    fn kv_key(what: &str, id: impl std::fmt::Display) -> String {
        format!("bank:{what}:{id}")
    }
}

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

fn sender_actor(customer: i64) -> String {
    format!("customer:{customer}")
}

fn new_reference(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    format!("{prefix}{}", &id[..15])
}
