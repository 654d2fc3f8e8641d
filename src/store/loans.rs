//! Loans in the store: eligibility decisions, offers and loans, installments, and the worker's
//! once-per-day events.
//!
//! Like the bank's, the SQL is written once in the common dialect and implemented once for
//! both adapters, generically over `backend::Backend` (loans_sql.rs). Every guard that keeps money right is in the SQL itself: an
//! offer becomes a loan only from `offered`, one loan runs per customer (a unique index), a
//! payment cannot take an installment past what it owes (a `CHECK`), and a job's event for an
//! installment and day is recorded once (a primary key).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// A decision to record.
#[derive(Debug, Clone)]
pub struct NewDecision<'a> {
    /// The customer.
    pub customer_id: i64,
    /// The product that applied.
    pub product: Option<&'a str>,
    /// `eligible` or the rule that failed.
    pub outcome: &'a str,
    /// Minor units.
    pub limit: i64,
    /// JSON.
    pub reasons: &'a str,
    /// JSON.
    pub facts: &'a str,
    /// Now.
    pub now: DateTime<Utc>,
}

/// A decision as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct DecisionRow {
    /// Id.
    pub id: i64,
    /// The customer.
    pub customer_id: i64,
    /// The product that applied.
    pub product: Option<String>,
    /// `eligible` or the rule that failed.
    pub outcome: String,
    /// Minor units.
    pub loan_limit: i64,
    /// JSON: every rule.
    pub reasons: String,
    /// JSON: the facts.
    pub facts: String,
    /// When.
    pub decided_at: DateTime<Utc>,
}

/// An offer to record.
#[derive(Debug, Clone)]
pub struct NewLoan<'a> {
    /// `L…`.
    pub reference: &'a str,
    /// What made it (a repeat finds it).
    pub offer_key: &'a str,
    /// The customer.
    pub customer_id: i64,
    /// The decision it rests on.
    pub decision_id: i64,
    /// Product id.
    pub product: &'a str,
    /// ISO 4217.
    pub currency: &'a str,
    /// Minor units.
    pub principal: i64,
    /// Minor units.
    pub fee: i64,
    /// Minor units.
    pub interest: i64,
    /// Minor units.
    pub total: i64,
    /// Installments.
    pub tenor: i32,
    /// `month` or `week`.
    pub every: &'a str,
    /// Annualised rate, percent.
    pub apr: &'a str,
    /// The bank's date when offered.
    pub offered_on: &'a str,
    /// Now.
    pub now: DateTime<Utc>,
}

/// A loan (or an offer) as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct LoanRow {
    /// Id.
    pub id: i64,
    /// `L…`.
    pub reference: String,
    /// The customer.
    pub customer_id: i64,
    /// The decision it rests on.
    pub decision_id: i64,
    /// Product id.
    pub product: String,
    /// ISO 4217.
    pub currency: String,
    /// Minor units.
    pub principal: i64,
    /// Minor units.
    pub fee: i64,
    /// Minor units.
    pub interest: i64,
    /// Principal + fee + interest.
    pub total: i64,
    /// Installments.
    pub tenor: i32,
    /// `month` or `week`.
    pub every: String,
    /// Annualised rate, percent.
    pub apr: String,
    /// `offered`, `declined`, `active` or `repaid`.
    pub state: String,
    /// The bank's date when offered.
    pub offered_on: String,
    /// When offered.
    pub offered_at: DateTime<Utc>,
    /// When accepted.
    pub accepted_at: Option<DateTime<Utc>>,
    /// The payout's transaction.
    pub disbursement_id: Option<i64>,
    /// When the last of it was paid.
    pub repaid_at: Option<DateTime<Utc>>,
    /// Late fees added so far.
    pub late_fees: i64,
    /// Paid towards late fees.
    pub paid_late_fees: i64,
    /// Paid towards the fee.
    pub paid_fee: i64,
    /// Paid towards interest.
    pub paid_interest: i64,
    /// Paid towards principal.
    pub paid_principal: i64,
}

impl LoanRow {
    /// Everything paid.
    pub fn paid(&self) -> i64 {
        self.paid_late_fees + self.paid_fee + self.paid_interest + self.paid_principal
    }

    /// What is still owed, late fees included.
    pub fn outstanding(&self) -> i64 {
        self.total + self.late_fees - self.paid()
    }
}

/// An installment as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct InstallmentRow {
    /// The loan.
    pub loan_id: i64,
    /// 1, 2, …
    pub number: i32,
    /// `YYYY-MM-DD`, bank time.
    pub due_on: String,
    /// Minor units.
    pub amount: i64,
    /// Added when it became overdue.
    pub late_fee: i64,
    /// Paid towards it.
    pub paid: i64,
    /// The day it became overdue.
    pub overdue_since: Option<String>,
    /// When it was paid in full.
    pub paid_at: Option<DateTime<Utc>>,
}

impl InstallmentRow {
    /// What it still owes.
    pub fn outstanding(&self) -> i64 {
        self.amount + self.late_fee - self.paid
    }
}

/// An unpaid installment of a running loan, with what the worker needs to act on it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueRow {
    /// The loan.
    pub loan_id: i64,
    /// Its reference.
    pub reference: String,
    /// The borrower.
    pub customer_id: i64,
    /// The loan's product.
    pub product: String,
    /// The installment.
    pub number: i32,
    /// `YYYY-MM-DD`.
    pub due_on: String,
    /// Minor units.
    pub amount: i64,
    /// Added when it became overdue.
    pub late_fee: i64,
    /// Paid towards it.
    pub paid: i64,
    /// The day it became overdue.
    pub overdue_since: Option<String>,
}

impl DueRow {
    /// What it still owes.
    pub fn outstanding(&self) -> i64 {
        self.amount + self.late_fee - self.paid
    }
}

/// One running loan's position, for the loan book.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PositionRow {
    /// The loan.
    pub id: i64,
    /// Its reference.
    pub reference: String,
    /// Product id.
    pub product: String,
    /// Principal lent.
    pub principal: i64,
    /// Principal not yet repaid.
    pub principal_outstanding: i64,
    /// Everything still owed.
    pub outstanding: i64,
    /// Late fees added.
    pub late_fees: i64,
    /// The earliest unpaid due date.
    pub oldest_due: Option<String>,
    /// The earliest day an unpaid installment became overdue.
    pub overdue_since: Option<String>,
}

/// Sums over loans in one state and product, for the loan book.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BookRow {
    /// `active` or `repaid`.
    pub state: String,
    /// Product id.
    pub product: String,
    /// Loans.
    pub loans: i64,
    /// Principal lent.
    pub principal: i64,
    /// Fees, interest and late fees charged.
    pub charges: i64,
    /// Everything paid.
    pub paid: i64,
    /// Paid towards fees, interest and late fees.
    pub charges_paid: i64,
    /// Paid towards interest.
    pub interest_paid: i64,
}

/// A job's act on an installment on a day.
#[derive(Debug, Clone)]
pub struct LoanEvent<'a> {
    /// The loan.
    pub loan_id: i64,
    /// The installment.
    pub number: i32,
    /// `collect`, `late_fee` or `remind`.
    pub kind: &'a str,
    /// `YYYY-MM-DD`, bank time.
    pub day: &'a str,
    /// Minor units moved or charged.
    pub amount: i64,
    /// The ledger transaction, if money moved.
    pub transaction_id: Option<i64>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Where a payment went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allocation {
    /// To late fees.
    pub late_fees: i64,
    /// To the fee.
    pub fee: i64,
    /// To interest.
    pub interest: i64,
    /// To principal.
    pub principal: i64,
}

impl Allocation {
    /// The whole payment.
    pub fn total(&self) -> i64 {
        self.late_fees + self.fee + self.interest + self.principal
    }
}

/// The loans' part of a unit of work.
#[async_trait]
pub trait LoanTx: Send {
    /// New money from outside that came into `account` since `since`: provider credits and
    /// transfers from other customers (never a loan), net of what went back to the same
    /// counterparty in that time, counterparty by counterparty (another wallet by its account;
    /// another bank's account holder by name, a credit's payer matched against an external
    /// transfer's account name). Money bounced between customers, or out and back in, is not
    /// income.
    async fn income_since(&mut self, account: i64, since: DateTime<Utc>) -> Result<i64, StoreError>;

    /// The customer's running loans, and how many of them have an overdue installment.
    async fn loan_counts(&mut self, customer: i64) -> Result<(i64, i64), StoreError>;

    /// Records a decision; returns its id.
    async fn insert_decision(&mut self, decision: &NewDecision<'_>) -> Result<i64, StoreError>;

    /// The customer's latest decisions, newest first.
    async fn decisions(&mut self, customer: i64, limit: i64) -> Result<Vec<DecisionRow>, StoreError>;

    /// Records an offer, unless its offer key is known; returns its id.
    async fn insert_loan(&mut self, loan: &NewLoan<'_>) -> Result<Option<i64>, StoreError>;

    /// Adds an installment to an offer.
    async fn insert_installment(
        &mut self,
        loan: i64,
        number: i32,
        due_on: &str,
        amount: i64,
    ) -> Result<(), StoreError>;

    /// The loan made under `offer_key`.
    async fn loan_by_offer_key(&mut self, key: &str) -> Result<Option<LoanRow>, StoreError>;

    /// The loan `reference`.
    async fn loan_by_reference(&mut self, reference: &str) -> Result<Option<LoanRow>, StoreError>;

    /// The loan `id`, locked for this unit of work.
    async fn lock_loan(&mut self, id: i64) -> Result<Option<LoanRow>, StoreError>;

    /// The customer's running loan.
    async fn active_loan(&mut self, customer: i64) -> Result<Option<LoanRow>, StoreError>;

    /// The customer's loans and offers, newest first.
    async fn loans_of(&mut self, customer: i64, limit: i64) -> Result<Vec<LoanRow>, StoreError>;

    /// A loan's installments, in order.
    async fn installments(&mut self, loan: i64) -> Result<Vec<InstallmentRow>, StoreError>;

    /// Turns an offer into a running loan; false when it is no longer an offer.
    async fn activate_loan(
        &mut self,
        id: i64,
        disbursement: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Marks an offer declined; false when it is no longer an offer.
    async fn decline_loan(&mut self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Adds a payment's allocation to the loan; repaid in full, it turns `repaid`.
    async fn add_loan_payment(
        &mut self,
        id: i64,
        paid: &Allocation,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Adds `amount` to what installment `number` has been paid.
    async fn pay_installment(
        &mut self,
        loan: i64,
        number: i32,
        amount: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Takes `amount` off installment `number`'s late fee and the loan's, closing the
    /// installment (and the loan) when nothing is left to pay; false when the late fee not yet
    /// paid is smaller, or the loan is not running.
    async fn waive_late_fee(
        &mut self,
        loan: i64,
        number: i32,
        amount: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Moves unpaid installment `number` to fall due on `due_on`; false when it is paid.
    async fn reschedule_installment(
        &mut self,
        loan: i64,
        number: i32,
        due_on: &str,
    ) -> Result<bool, StoreError>;

    /// Writes running loan `id` off: nothing more is collected; false when it was not running.
    async fn write_off_loan(&mut self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Marks the installment overdue since `day` with `fee` added, once; false if it was already.
    async fn mark_overdue(&mut self, loan: i64, number: i32, fee: i64, day: &str)
    -> Result<bool, StoreError>;

    /// Records a job's event; false when it was recorded already (that day, for that installment).
    async fn insert_loan_event(&mut self, event: &LoanEvent<'_>) -> Result<bool, StoreError>;

    /// Unpaid installments of running loans due on or before `day`, after (`loan`, `number`), in
    /// that order.
    async fn unpaid_due_by(
        &mut self,
        day: &str,
        after: (i64, i32),
        limit: i64,
    ) -> Result<Vec<DueRow>, StoreError>;

    /// Unpaid installments of running loans due from `from` to `to`, after (`loan`, `number`).
    async fn unpaid_due_between(
        &mut self,
        from: &str,
        to: &str,
        after: (i64, i32),
        limit: i64,
    ) -> Result<Vec<DueRow>, StoreError>;

    /// How many events of `kind` the loan's installment has.
    async fn loan_events(&mut self, loan: i64, kind: &str) -> Result<Vec<(i32, String, i64)>, StoreError>;

    /// Every running loan's position.
    async fn loan_positions(&mut self) -> Result<Vec<PositionRow>, StoreError>;

    /// Sums over running and repaid loans by state and product.
    async fn loan_book(&mut self) -> Result<Vec<BookRow>, StoreError>;

    /// Decisions since `since`, counted by outcome.
    async fn decision_counts(&mut self, since: DateTime<Utc>) -> Result<Vec<(String, i64)>, StoreError>;

    /// Offers since `since`, counted by state.
    async fn offer_counts(&mut self, since: DateTime<Utc>) -> Result<Vec<(String, i64)>, StoreError>;
}

/// The columns of [`LoanRow`].
macro_rules! loan_columns {
    () => {
        "id, reference, customer_id, decision_id, product, currency, principal, fee, interest, total, tenor, every,
         apr, state, offered_on, offered_at, accepted_at, disbursement_id, repaid_at, late_fees, paid_late_fees,
         paid_fee, paid_interest, paid_principal"
    };
}

/// The columns of [`DueRow`], from `loans l JOIN loan_installments i`.
macro_rules! due_columns {
    () => {
        "l.id AS loan_id, l.reference, l.customer_id, l.product, i.number, i.due_on, i.amount, i.late_fee, i.paid,
         i.overdue_since"
    };
}

pub(crate) use {due_columns, loan_columns};
