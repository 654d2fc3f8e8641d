//! Loans: an explainable eligibility decision, an offer with every cost, acceptance with the PIN
//! and payout on the ledger, repayment by the customer, and the worker's collection, overdue
//! marking and reminders.
//!
//! The ledger of a loan, in the bank's accounts:
//! - payout: the loan book pays the wallet the principal (`loan_disbursement`);
//! - repayment (`loan_repayment` by the customer, `loan_collection` by the worker): the wallet
//!   pays late fees and the fee to fee income, interest to interest income and principal back
//!   to the loan book, in that order of what is owed.
//!
//! So the loan book's balance is always minus the principal still lent, which the loan-book
//! report checks. Fees and interest are income when they are paid (cash basis); what is owed
//! and not paid is in the loan rows, not the ledger.
//!
//! The worker's jobs are in `collection`, the loan-book report in `book`.

pub mod book;
pub mod collection;
pub mod eligibility;
mod offers;
pub mod pricing;
pub mod products;
mod repayment;

pub use self::book::{Bucket, LoanBook, OverdueLoan, ProductBook};
pub use self::collection::Collection;

use chrono::NaiveDate;

use self::pricing::Terms;

use super::{Bank, Refusal, audit_posting, customer_event, kind, new_reference, post};
use crate::money::format_money;
use crate::store::loans::{Allocation, InstallmentRow, LoanRow};

/// Schedule lines shown in full; a longer schedule shows its first three and its last.
const SCHEDULE_LINES: usize = 6;

/// An offer, as the customer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The offer's (and, accepted, the loan's) reference.
    pub reference: String,
    /// Its terms.
    pub terms: Terms,
}

/// Why a loan request, acceptance or repayment was refused: each is a result code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoanRefusal {
    /// A bank-wide refusal (not registered, locked, not verified, insufficient funds).
    Bank(Refusal),
    /// Not eligible: the decision's code.
    Ineligible(&'static str),
    /// Under the product's minimum.
    BelowMinimum {
        /// The minimum, minor units.
        min: i64,
    },
    /// Above the customer's limit.
    AboveLimit {
        /// The limit, minor units.
        limit: i64,
    },
    /// A tenor the product does not offer.
    BadTenor {
        /// "1, 2 or 3".
        tenors: String,
    },
    /// The offer is unknown, not the customer's, or no longer stands.
    Expired,
    /// A loan is running already.
    HasLoan,
    /// The payout would take the wallet past its tier's maximum balance.
    BalanceLimit,
    /// No loan is running.
    NoLoan,
    /// More than is owed.
    TooMuch {
        /// What is owed, minor units.
        outstanding: i64,
    },
}

impl LoanRefusal {
    /// The result code.
    pub fn code(&self) -> &'static str {
        match self {
            LoanRefusal::Bank(refusal) => refusal.code(),
            LoanRefusal::Ineligible(code) => code,
            LoanRefusal::BelowMinimum { .. } => "below_minimum",
            LoanRefusal::AboveLimit { .. } => "above_limit",
            LoanRefusal::BadTenor { .. } => "bad_tenor",
            LoanRefusal::Expired => "expired",
            LoanRefusal::HasLoan => "has_loan",
            LoanRefusal::BalanceLimit => "balance_limit",
            LoanRefusal::NoLoan => "no_loan",
            LoanRefusal::TooMuch { .. } => "too_much",
        }
    }
}

impl From<Refusal> for LoanRefusal {
    fn from(refusal: Refusal) -> Self {
        LoanRefusal::Bank(refusal)
    }
}

/// A running loan, as the customer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanStatus {
    /// The loan.
    pub loan: LoanRow,
    /// Its installments.
    pub installments: Vec<InstallmentRow>,
}

impl LoanStatus {
    /// The first installment not paid in full.
    pub fn next(&self) -> Option<&InstallmentRow> {
        self.installments.iter().find(|i| i.outstanding() > 0)
    }

    /// Whether an unpaid installment is overdue.
    pub fn overdue(&self) -> bool {
        self.installments.iter().any(|i| i.outstanding() > 0 && i.overdue_since.is_some())
    }
}

/// A repayment's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaid {
    /// The ledger reference.
    pub reference: String,
    /// Minor units paid.
    pub amount: i64,
    /// Still owed.
    pub outstanding: i64,
}

/// How a payment moved money, or why it did not.
enum Payment {
    Posted { transaction: i64, reference: String, paid: Allocation, outstanding: i64 },
    Repeat,
    Insufficient,
}

/// Splits `amount` over what `loan` owes: late fees, then the fee, then interest, then
/// principal.
pub fn allocate(loan: &LoanRow, amount: i64) -> Allocation {
    let mut left = amount;
    let mut take = |owed: i64| {
        let part = left.min(owed.max(0));
        left -= part;
        part
    };
    Allocation {
        late_fees: take(loan.late_fees - loan.paid_late_fees),
        fee: take(loan.fee - loan.paid_fee),
        interest: take(loan.interest - loan.paid_interest),
        principal: take(loan.principal - loan.paid_principal),
    }
}

/// The schedule as lines a customer reads ("22 Dec 2026: ₦3,783.34"); a long one shows its
/// first three installments, "…", and its last.
pub fn schedule_lines(dues: &[(NaiveDate, i64)], currency: &str) -> String {
    let line = |(date, amount): &(NaiveDate, i64)| {
        format!("{}: {}", date.format("%-d %b %Y"), format_money(*amount, currency))
    };
    if dues.len() <= SCHEDULE_LINES {
        return dues.iter().map(line).collect::<Vec<_>>().join("\n");
    }
    let mut lines: Vec<String> = dues.iter().take(3).map(line).collect();
    lines.push("…".to_owned());
    lines.extend(dues.last().map(line));
    lines.join("\n")
}

fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

impl Bank {
    /// Today, in the bank's time zone.
    pub fn today(&self) -> NaiveDate {
        self.now().with_timezone(&self.settings.timezone).date_naive()
    }

    /// The loan rules.
    pub fn loan_rules(&self) -> &products::LoanRules {
        &self.rules.loans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loan() -> LoanRow {
        LoanRow {
            id: 1,
            reference: "L1".into(),
            customer_id: 1,
            decision_id: 1,
            product: "starter".into(),
            currency: "NGN".into(),
            principal: 10_000,
            fee: 150,
            interest: 1_200,
            total: 11_350,
            tenor: 3,
            every: "month".into(),
            apr: "79.3".into(),
            state: "active".into(),
            offered_on: "2026-11-22".into(),
            offered_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            accepted_at: None,
            disbursement_id: None,
            repaid_at: None,
            late_fees: 300,
            paid_late_fees: 0,
            paid_fee: 0,
            paid_interest: 0,
            paid_principal: 0,
        }
    }

    #[test]
    fn a_payment_pays_late_fees_then_the_fee_then_interest_then_principal() {
        let mut l = loan();
        assert_eq!(allocate(&l, 200), Allocation { late_fees: 200, fee: 0, interest: 0, principal: 0 });
        assert_eq!(allocate(&l, 1_000), Allocation { late_fees: 300, fee: 150, interest: 550, principal: 0 });
        assert_eq!(allocate(&l, 99_999).total(), l.outstanding(), "never more than is owed");
        l.paid_late_fees = 300;
        l.paid_fee = 150;
        l.paid_interest = 1_000;
        assert_eq!(allocate(&l, 500), Allocation { late_fees: 0, fee: 0, interest: 200, principal: 300 });
    }

    #[test]
    fn a_long_schedule_shows_its_first_three_installments_and_its_last() {
        let day = |d: &str| d.parse::<NaiveDate>().unwrap();
        let short = [(day("2026-12-22"), 378_334), (day("2027-01-22"), 378_333)];
        assert_eq!(schedule_lines(&short, "NGN"), "22 Dec 2026: ₦3,783.34\n22 Jan 2027: ₦3,783.33");
        let long: Vec<(NaiveDate, i64)> = (1..=12)
            .map(|m| (pricing::due_date(day("2026-11-30"), products::Every::Month, m).unwrap(), 100))
            .collect();
        let shown = schedule_lines(&long, "NGN");
        assert_eq!(shown.lines().count(), 5);
        assert!(
            shown.starts_with("30 Dec 2026: ₦1.00\n30 Jan 2027: ₦1.00\n28 Feb 2027: ₦1.00\n…\n30 Nov 2027"),
            "{shown}"
        );
    }
}
