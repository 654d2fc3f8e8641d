//! The ledger: double-entry posting, the one global lock order, the system accounts (the
//! busiest kept in parts), and the sums every check reads. Every transaction's entries sum to
//! zero; accounts are locked in one order (customer accounts by id up front, then system
//! accounts by id as their balances move, last) so concurrent postings cannot deadlock; a
//! balance moves only in the unit of work that appends its entries.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::store::{AccountRow, BankTx, NewAuditEvent, SqlTx};

use super::Bank;

/// What a ledger transaction is (its `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
    /// Between two of the bank's customers.
    Transfer,
    /// To another bank, through the rail: held, then posted or released.
    ExternalTransfer,
    /// Money in from the payment provider.
    Credit,
    /// The monthly maintenance fee.
    MonthlyFee,
    /// A loan paid out.
    LoanDisbursement,
    /// A repayment the customer made.
    LoanRepayment,
    /// An installment collected on its date.
    LoanCollection,
    /// The principal of a loan written off, moved from the loan book to losses.
    LoanWriteOff,
    /// Airtime or data bought from the biller: held, then posted or released.
    BillPayment,
}

impl TxKind {
    /// Every kind.
    pub const ALL: [TxKind; 9] = [
        TxKind::Transfer,
        TxKind::ExternalTransfer,
        TxKind::Credit,
        TxKind::MonthlyFee,
        TxKind::LoanDisbursement,
        TxKind::LoanRepayment,
        TxKind::LoanCollection,
        TxKind::LoanWriteOff,
        TxKind::BillPayment,
    ];

    /// As stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            TxKind::Transfer => "transfer",
            TxKind::ExternalTransfer => "external_transfer",
            TxKind::Credit => "credit",
            TxKind::MonthlyFee => "monthly_fee",
            TxKind::LoanDisbursement => "loan_disbursement",
            TxKind::LoanRepayment => "loan_repayment",
            TxKind::LoanCollection => "loan_collection",
            TxKind::LoanWriteOff => "loan_write_off",
            TxKind::BillPayment => "bill_payment",
        }
    }

    /// The kind stored as `text`.
    pub fn parse(text: &str) -> Option<TxKind> {
        TxKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Where a ledger transaction stands (its `state` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxState {
    /// Funds held, waiting for the rail's word.
    Pending,
    /// Entries written: money moved.
    Posted,
    /// The rail refused it: the hold was released.
    Failed,
    /// Undone after posting.
    Reversed,
}

impl TxState {
    /// Every state.
    pub const ALL: [TxState; 4] = [TxState::Pending, TxState::Posted, TxState::Failed, TxState::Reversed];

    /// As stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            TxState::Pending => "pending",
            TxState::Posted => "posted",
            TxState::Failed => "failed",
            TxState::Reversed => "reversed",
        }
    }

    /// The state stored as `text`.
    pub fn parse(text: &str) -> Option<TxState> {
        TxState::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

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
    /// Loans written off: principal lost (goes negative).
    pub const LOAN_LOSSES: &str = "loan_losses";
    /// What the bank owes the biller for airtime and data bought.
    pub const BILLER: &str = "biller";
}

/// System accounts, and whether each may go below zero.
const SYSTEM_ACCOUNTS: [(&str, bool); 7] = [
    (kind::SETTLEMENT, true),
    (kind::FEE_INCOME, false),
    (kind::LOAN_BOOK, true),
    (kind::INTEREST_INCOME, false),
    (kind::SUSPENSE, true),
    (kind::LOAN_LOSSES, true),
    (kind::BILLER, false),
];

/// The system accounts kept in parts, and how many parts each has: the rows nearly every
/// posting moves. A posting moves the part its customer's wallet picks (the wallet's id, modulo
/// the parts), so postings of different customers seldom wait for one another's row; a
/// balance is the sum of its parts (`BankTx::system_balance`). More parts can be added later;
/// none is ever removed.
const PARTS: [(&str, i32); 2] = [(kind::FEE_INCOME, 8), (kind::SETTLEMENT, 8)];

/// How many parts the system account of `kind` is kept in.
fn parts(kind: &str) -> i32 {
    PARTS.iter().find(|(k, _)| *k == kind).map_or(1, |(_, parts)| *parts)
}

/// The number of part `part` of the system account of `kind` (part 0 keeps the number the
/// account had before parts).
fn system_number(kind: &str, currency: &str, part: i32) -> String {
    let number = format!("SYS-{}-{currency}", kind.to_uppercase());
    if part == 0 { number } else { format!("{number}-{part}") }
}

/// The system accounts' ids by kind and part, as read from the store. An id never changes
/// once opened, so each process reads them once (and again after `Bank::open`).
pub(super) struct Systems {
    by_kind: HashMap<String, HashMap<i32, i64>>,
    ids: HashSet<i64>,
}

impl Systems {
    fn new(rows: Vec<(String, i32, i64)>) -> Systems {
        let mut systems = Systems { by_kind: HashMap::new(), ids: HashSet::new() };
        for (kind, part, id) in rows {
            systems.ids.insert(id);
            systems.by_kind.entry(kind).or_default().insert(part, id);
        }
        systems
    }

    fn id(&self, kind: &str, part: i32) -> Option<i64> {
        self.by_kind.get(kind)?.get(&part).copied()
    }

    fn contains(&self, account: i64) -> bool {
        self.ids.contains(&account)
    }

    /// Whether every part of every system account is here.
    fn complete(&self) -> bool {
        SYSTEM_ACCOUNTS.iter().all(|(kind, _)| (0..parts(kind)).all(|part| self.id(kind, part).is_some()))
    }
}

impl Bank {
    /// Opens the system accounts, and the parts of each, that are missing.
    pub async fn open(&self) -> anyhow::Result<()> {
        let currency = &self.settings.currency;
        let mut tx = self.begin().await?;
        let open = Systems::new(tx.bank().system_accounts(currency).await?);
        for (kind, negative) in SYSTEM_ACCOUNTS {
            for part in 0..parts(kind) {
                if open.id(kind, part).is_none() {
                    let number = system_number(kind, currency, part);
                    tx.bank().insert_system_part(&number, kind, currency, part, negative, self.now()).await?;
                }
            }
        }
        tx.commit().await?;
        if let Ok(mut systems) = self.systems.write() {
            *systems = None;
        }
        Ok(())
    }

    /// The system accounts' ids: read once, kept once complete.
    async fn systems(&self, tx: &mut dyn BankTx) -> anyhow::Result<Arc<Systems>> {
        if let Some(systems) = self.systems.read().ok().and_then(|s| s.clone()) {
            return Ok(systems);
        }
        let systems = Arc::new(Systems::new(tx.system_accounts(&self.settings.currency).await?));
        if systems.complete()
            && let Ok(mut kept) = self.systems.write()
        {
            *kept = Some(systems.clone());
        }
        Ok(systems)
    }

    /// The id of the system account of `kind` (its part 0, for a kind kept in parts).
    pub(super) async fn system(&self, tx: &mut dyn BankTx, kind: &str) -> anyhow::Result<i64> {
        self.system_part(tx, kind, 0).await
    }

    /// The id of the part of the system account of `kind` that postings for customer account
    /// `wallet` move (see [`PARTS`]).
    pub(super) async fn system_for(
        &self,
        tx: &mut dyn BankTx,
        kind: &str,
        wallet: i64,
    ) -> anyhow::Result<i64> {
        let part = i32::try_from(wallet.rem_euclid(i64::from(parts(kind)))).unwrap_or(0);
        self.system_part(tx, kind, part).await
    }

    async fn system_part(&self, tx: &mut dyn BankTx, kind: &str, part: i32) -> anyhow::Result<i64> {
        self.systems(tx)
            .await?
            .id(kind, part)
            .with_context(|| format!("part {part} of the {kind} account is missing: was Bank::open run?"))
    }

    /// Sums over the whole ledger.
    pub async fn totals(&self) -> anyhow::Result<crate::store::LedgerTotals> {
        let mut tx = self.begin().await?;
        let totals = tx.bank().ledger_totals().await?;
        tx.rollback().await?;
        Ok(totals)
    }

    /// Locks the customer accounts of `legs` in the global order (by id); system accounts are
    /// not locked here. A system account (fee income, settlement) is in nearly every posting:
    /// locked here, it would be held through the whole unit of work and every transfer would
    /// queue behind it. Its balance moves in [`post`] instead, after every customer's, so its
    /// row is locked from that one update to the commit, and always after the customer rows:
    /// the one order still holds, and concurrent postings cannot deadlock.
    pub(super) async fn lock_in_order(
        &self,
        tx: &mut dyn BankTx,
        legs: &[(i64, i64)],
    ) -> anyhow::Result<Locked> {
        let systems = self.systems(tx).await?;
        let (system, mut customers): (Vec<i64>, Vec<i64>) =
            legs.iter().map(|(id, _)| *id).partition(|id| systems.contains(*id));
        customers.sort_unstable();
        customers.dedup();
        let mut rows = Vec::with_capacity(customers.len());
        for id in customers {
            rows.push(tx.lock_account(id).await?.with_context(|| format!("account {id} is missing"))?);
        }
        Ok(Locked { rows, system })
    }
}

/// The accounts of one posting: each customer account read under its lock (so its balance here
/// is the one the posting moves), and the ids of its system accounts (see
/// [`Bank::lock_in_order`]).
pub(super) struct Locked {
    rows: Vec<AccountRow>,
    system: Vec<i64>,
}

impl std::ops::Deref for Locked {
    type Target = [AccountRow];

    fn deref(&self) -> &[AccountRow] {
        &self.rows
    }
}

impl Locked {
    /// Whether `account` is one of the bank's own (no customer), or `None` when the posting did
    /// not lock or name it.
    fn is_system(&self, account: i64) -> Option<bool> {
        if self.system.contains(&account) {
            return Some(true);
        }
        self.rows.iter().find(|a| a.id == account).map(|a| a.customer_id.is_none())
    }
}

/// Appends the entries of `legs` (which sum to zero) and moves the balances of accounts
/// `locked` read: the customers' first, then the system accounts' by id, last before the
/// caller's few remaining writes and its commit. False when a balance would go below what its
/// account allows (the caller rolls back).
pub(super) async fn post(
    tx: &mut dyn BankTx,
    locked: &Locked,
    transaction: i64,
    legs: &[(i64, i64)],
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    debug_assert_eq!(legs.iter().map(|(_, a)| a).sum::<i64>(), 0);
    if legs.iter().map(|(_, a)| a).sum::<i64>() != 0 {
        anyhow::bail!("unbalanced postings for transaction {transaction}");
    }
    let mut moves = Vec::with_capacity(legs.len());
    for &(account, amount) in legs.iter().filter(|(_, a)| *a != 0) {
        let system = locked.is_system(account).with_context(|| {
            format!("transaction {transaction} moves account {account}, which was not locked for it")
        })?;
        moves.push((system, account, amount));
    }
    moves.sort_by_key(|&(system, account, _)| (system, account));
    // An entry's reference to its account takes a key-share lock, which no balance update
    // waits for: the entries go first, outside the system rows' locks.
    let entries: Vec<(i64, i64)> = moves.iter().map(|&(_, account, amount)| (account, amount)).collect();
    tx.insert_entries(transaction, &entries, now).await?;
    for &(_, account, amount) in &moves {
        if !tx.shift_balance(account, amount, 0).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

pub(super) async fn audit_posting(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_states_read_back_as_stored() {
        for kind in TxKind::ALL {
            assert_eq!(TxKind::parse(kind.as_str()), Some(kind));
        }
        for state in TxState::ALL {
            assert_eq!(TxState::parse(state.as_str()), Some(state));
        }
        assert_eq!((TxKind::parse("gift"), TxState::parse("lost")), (None, None));
    }
}
