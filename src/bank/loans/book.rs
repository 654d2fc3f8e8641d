//! The loan book: what is lent, owed, late and earned, by product and by days past due, and
//! whether the ledger agrees with the loans.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::iso;
use crate::bank::{Bank, kind};
use crate::store::loans::{BookRow, PositionRow};

/// Overdue loans listed in the loan-book report.
const OVERDUE_LISTED: usize = 50;

/// The loan book: what is lent, owed, late and earned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoanBook {
    /// ISO 4217.
    pub currency: String,
    /// The bank's date it was made on.
    pub as_of: String,
    /// Running loans.
    pub active_loans: i64,
    /// Loans repaid in full.
    pub repaid_loans: i64,
    /// Principal lent over all running and repaid loans.
    pub lent: i64,
    /// Principal of running loans not repaid yet.
    pub principal_outstanding: i64,
    /// Everything running loans still owe (fees, interest and late fees included).
    pub outstanding: i64,
    /// Fees and late fees paid.
    pub fees_earned: i64,
    /// Interest paid.
    pub interest_earned: i64,
    /// The loan book account's balance (minus the principal out).
    pub loan_book_balance: i64,
    /// Whether the ledger agrees with the loans: the loan book holds minus the principal out.
    pub ledger_agrees: bool,
    /// By product.
    pub products: Vec<ProductBook>,
    /// Running loans by days past their oldest unpaid due date.
    pub arrears: Vec<Bucket>,
    /// The most overdue loans first.
    pub overdue: Vec<OverdueLoan>,
    /// Eligibility decisions of the last 30 days, by outcome.
    pub decisions_30d: BTreeMap<String, i64>,
    /// Offers of the last 30 days, by what became of them (`offered`: not answered).
    pub offers_30d: BTreeMap<String, i64>,
}

/// One product's part of the book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductBook {
    /// Product id.
    pub product: String,
    /// Its name, if it is still in the file.
    pub name: String,
    /// Running loans.
    pub active_loans: i64,
    /// Repaid loans.
    pub repaid_loans: i64,
    /// Principal lent.
    pub lent: i64,
    /// Still owed on running loans.
    pub outstanding: i64,
    /// Fees, interest and late fees paid.
    pub charges_earned: i64,
}

/// An arrears bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// `current`, `1-30`, `31-60`, `61-90`, `90+` days past due.
    pub days_past_due: &'static str,
    /// Loans.
    pub loans: i64,
    /// What they owe.
    pub outstanding: i64,
}

/// An overdue loan, without who owes it (that is the operators' customer view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverdueLoan {
    /// Reference.
    pub reference: String,
    /// Product id.
    pub product: String,
    /// Days past the oldest unpaid due date.
    pub days_past_due: i64,
    /// What it owes.
    pub outstanding: i64,
    /// Late fees added.
    pub late_fees: i64,
}

impl Bank {
    /// The loan book today.
    pub async fn loan_book(&self) -> anyhow::Result<LoanBook> {
        let today = self.today();
        let since = self.now() - chrono::Duration::days(30);
        let mut tx = self.begin().await?;
        let rows = tx.loans().loan_book().await?;
        let positions = tx.loans().loan_positions().await?;
        let decisions = tx.loans().decision_counts(since).await?;
        let offers = tx.loans().offer_counts(since).await?;
        let book = tx.bank().system_balance(kind::LOAN_BOOK, self.currency()).await?;
        tx.rollback().await?;

        let mut report = LoanBook {
            currency: self.currency().to_owned(),
            as_of: iso(today),
            active_loans: 0,
            repaid_loans: 0,
            lent: 0,
            principal_outstanding: 0,
            outstanding: 0,
            fees_earned: 0,
            interest_earned: 0,
            loan_book_balance: book,
            ledger_agrees: false,
            products: Vec::new(),
            arrears: ["current", "1-30", "31-60", "61-90", "90+"]
                .into_iter()
                .map(|days_past_due| Bucket { days_past_due, loans: 0, outstanding: 0 })
                .collect(),
            overdue: Vec::new(),
            decisions_30d: decisions.into_iter().collect(),
            offers_30d: offers.into_iter().collect(),
        };
        report.count_loans(&rows, |id| {
            self.rules.loans.product(id).map_or_else(String::new, |p| p.name.clone())
        });
        report.interest_earned = rows.iter().map(|r| r.interest_paid).sum();
        report.fees_earned = rows.iter().map(|r| r.charges_paid - r.interest_paid).sum();
        report.age(&positions, today);
        report
            .overdue
            .sort_by(|a, b| b.days_past_due.cmp(&a.days_past_due).then(a.reference.cmp(&b.reference)));
        report.overdue.truncate(OVERDUE_LISTED);
        report.ledger_agrees = report.loan_book_balance == -report.principal_outstanding;
        Ok(report)
    }
}

impl LoanBook {
    /// Loans counted by state and product.
    fn count_loans(&mut self, rows: &[BookRow], name_of: impl Fn(&str) -> String) {
        let mut products: BTreeMap<String, ProductBook> = BTreeMap::new();
        for row in rows {
            let entry = products.entry(row.product.clone()).or_insert_with(|| ProductBook {
                product: row.product.clone(),
                name: name_of(&row.product),
                active_loans: 0,
                repaid_loans: 0,
                lent: 0,
                outstanding: 0,
                charges_earned: 0,
            });
            if row.state == "active" {
                entry.active_loans += row.loans;
                self.active_loans += row.loans;
                entry.outstanding += row.principal + row.charges - row.paid;
            } else {
                entry.repaid_loans += row.loans;
                self.repaid_loans += row.loans;
            }
            entry.lent += row.principal;
            entry.charges_earned += row.charges_paid;
            self.lent += row.principal;
        }
        self.products = products.into_values().collect();
    }

    /// Outstanding loans by how far past due, and the overdue ones listed.
    fn age(&mut self, positions: &[PositionRow], today: NaiveDate) {
        for position in positions {
            self.principal_outstanding += position.principal_outstanding;
            self.outstanding += position.outstanding;
            let days = position
                .oldest_due
                .as_deref()
                .and_then(|d| d.parse::<NaiveDate>().ok())
                .map_or(0, |d| (today - d).num_days().max(0));
            let bucket = match days {
                0 => 0,
                1..=30 => 1,
                31..=60 => 2,
                61..=90 => 3,
                _ => 4,
            };
            self.arrears[bucket].loans += 1;
            self.arrears[bucket].outstanding += position.outstanding;
            if position.overdue_since.is_some() {
                self.overdue.push(OverdueLoan {
                    reference: position.reference.clone(),
                    product: position.product.clone(),
                    days_past_due: days,
                    outstanding: position.outstanding,
                    late_fees: position.late_fees,
                });
            }
        }
    }
}
