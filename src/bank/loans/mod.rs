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
pub mod pricing;
pub mod products;

pub use self::book::{Bucket, LoanBook, OverdueLoan, ProductBook};
pub use self::collection::Collection;

use crate::bank::ledger::{TxKind, TxState};
use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};

use self::eligibility::{Decision, Facts};
use self::pricing::{PriceError, Terms};
use self::products::Product;
use super::{Bank, Refusal, audit_posting, customer_event, kind, lock_in_order, new_reference, post};
use crate::money::format_money;
use crate::store::loans::{Allocation, InstallmentRow, LoanRow, NewDecision, NewLoan};
use crate::store::{AccountRow, CustomerRow, NewTransaction, SqlTx};

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

    /// Decides, from what `tx` reads, whether `customer` may borrow and how much; with the facts
    /// the decision read.
    async fn decide(&self, tx: &mut dyn SqlTx, customer: &CustomerRow) -> anyhow::Result<(Decision, Facts)> {
        let now = self.now();
        let e = &self.rules.loans.eligibility;
        let wallet = self.wallet(tx.bank(), customer.id).await?;
        let since = now - chrono::Duration::days(i64::from(e.income_days));
        let income = tx.loans().income_since(wallet.id, since).await?;
        let (active, overdue) = tx.loans().loan_counts(customer.id).await?;
        let facts = Facts {
            tier: customer.kyc_tier,
            opened_on: customer.created_at.with_timezone(&self.settings.timezone).date_naive(),
            today: self.today(),
            income,
            active_loans: u32::try_from(active).unwrap_or(u32::MAX),
            overdue_loans: u32::try_from(overdue).unwrap_or(u32::MAX),
            locked: customer.locked_at(now),
        };
        let decision = eligibility::decide(&self.rules.loans, &facts, self.currency());
        Ok((decision, facts))
    }

    /// Decides as [`Bank::decide`] and records the decision, its reasons and facts, in `tx`;
    /// with its id.
    async fn decide_and_record(
        &self,
        tx: &mut dyn SqlTx,
        customer: &CustomerRow,
    ) -> anyhow::Result<(Decision, i64)> {
        let (decision, facts) = self.decide(tx, customer).await?;
        let reasons = serde_json::to_string(&decision.reasons)?;
        let facts = serde_json::to_string(&facts)?;
        let id = tx
            .loans()
            .insert_decision(&NewDecision {
                customer_id: customer.id,
                product: decision.product.as_deref(),
                outcome: decision.code,
                limit: decision.limit,
                reasons: &reasons,
                facts: &facts,
                now: self.now(),
            })
            .await?;
        Ok((decision, id))
    }

    /// Whether the customer behind `key` may borrow, how much and why (recorded).
    pub async fn loan_eligibility(
        &self,
        key: &str,
    ) -> anyhow::Result<Result<(Decision, Option<Product>), Refusal>> {
        let Some(customer) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered)) };
        let mut tx = self.begin().await?;
        let (decision, _) = self.decide_and_record(tx.as_mut(), &customer).await?;
        tx.commit().await?;
        let product = decision.product.as_deref().and_then(|id| self.rules.loans.product(id)).cloned();
        Ok(Ok((decision, product)))
    }

    /// An offer of `amount` over `tenor` installments, priced and recorded, once per
    /// `idempotency_key`.
    pub async fn loan_offer(
        &self,
        key: &str,
        amount: i64,
        tenor: &str,
        idempotency_key: &str,
    ) -> anyhow::Result<Result<Offer, LoanRefusal>> {
        let Some(customer) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered.into())) };
        let mut tx = self.begin().await?;
        if let Some(made) = tx.loans().loan_by_offer_key(idempotency_key).await? {
            let installments = tx.loans().installments(made.id).await?;
            tx.rollback().await?;
            return Ok(Ok(offer_of(&made, &installments)));
        }
        let (decision, decision_id) = self.decide_and_record(tx.as_mut(), &customer).await?;
        // The decision stays on record, whatever the answer.
        let checked = self.check_request(&decision, amount, Some(tenor));
        tx.commit().await?;
        let (product, tenor) = match checked {
            Ok((product, tenor)) => (product, tenor.context("a checked tenor")?),
            Err(refusal) => return Ok(Err(refusal)),
        };
        // The request was checked against the product: pricing can only fail on the calendar.
        let terms = match pricing::price(product, amount, tenor, self.today()) {
            Ok(terms) => terms,
            Err(PriceError::Calendar) => anyhow::bail!("a due date is beyond the calendar"),
            Err(other) => anyhow::bail!("a checked request was priced as {other:?}"),
        };
        let reference = new_reference("L");
        let apr = terms.apr.to_string();
        let offered_on = iso(self.today());
        let new = NewLoan {
            reference: &reference,
            offer_key: idempotency_key,
            customer_id: customer.id,
            decision_id,
            product: &product.id,
            currency: self.currency(),
            principal: terms.principal,
            fee: terms.fee,
            interest: terms.interest,
            total: terms.total,
            tenor: i32::try_from(tenor)?,
            every: product.every.code(),
            apr: &apr,
            offered_on: &offered_on,
            now: self.now(),
        };
        let mut tx = self.begin().await?;
        let Some(id) = tx.loans().insert_loan(&new).await? else {
            tx.rollback().await?;
            anyhow::bail!("offer {idempotency_key} was made at the same time by another delivery; try again");
        };
        for due in &terms.installments {
            tx.loans()
                .insert_installment(id, i32::try_from(due.number)?, &iso(due.due_on), due.amount)
                .await?;
        }
        tx.commit().await?;
        Ok(Ok(Offer { reference, terms }))
    }

    /// The product, and the tenor when given, for borrowing `amount` under `decision`.
    fn check_request(
        &self,
        decision: &Decision,
        amount: i64,
        tenor: Option<&str>,
    ) -> Result<(&Product, Option<u32>), LoanRefusal> {
        let product = decision.product.as_deref().and_then(|id| self.rules.loans.product(id));
        let product = match product {
            Some(p) if decision.eligible() => p,
            _ if decision.eligible() => return Err(LoanRefusal::Ineligible("no_product")),
            _ => return Err(LoanRefusal::Ineligible(decision.code)),
        };
        if amount < product.min {
            return Err(LoanRefusal::BelowMinimum { min: product.min });
        }
        if amount > decision.limit {
            return Err(LoanRefusal::AboveLimit { limit: decision.limit });
        }
        let Some(tenor) = tenor else { return Ok((product, None)) };
        match tenor.trim().parse::<u32>() {
            Ok(n) if product.tenors.contains(&n) => Ok((product, Some(n))),
            _ => Err(LoanRefusal::BadTenor { tenors: product.tenors_text() }),
        }
    }

    /// Whether the customer behind `key` may borrow `amount` now (nothing recorded: the offer
    /// that follows records its decision).
    pub async fn loan_check_amount(&self, key: &str, amount: i64) -> anyhow::Result<Result<(), LoanRefusal>> {
        let Some(customer) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered.into())) };
        let mut tx = self.begin().await?;
        let (decision, _) = self.decide(tx.as_mut(), &customer).await?;
        tx.rollback().await?;
        Ok(self.check_request(&decision, amount, None).map(|_| ()))
    }

    /// The customer's offer `reference`, if it still stands.
    async fn standing_offer(
        &self,
        customer: &CustomerRow,
        reference: &str,
    ) -> anyhow::Result<Option<LoanRow>> {
        let mut tx = self.begin().await?;
        let loan = tx.loans().loan_by_reference(reference.trim()).await?;
        tx.rollback().await?;
        Ok(loan.filter(|l| l.customer_id == customer.id))
    }

    fn offer_stands(&self, loan: &LoanRow) -> bool {
        let age = self.now() - loan.offered_at;
        loan.state == "offered"
            && age < chrono::Duration::minutes(i64::from(self.rules.loans.offer_minutes))
            && loan.offered_on == iso(self.today())
    }

    /// Declines offer `reference`.
    pub async fn loan_decline(&self, key: &str, reference: &str) -> anyhow::Result<Result<(), LoanRefusal>> {
        let Some(customer) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered.into())) };
        let Some(loan) = self.standing_offer(&customer, reference).await? else {
            return Ok(Err(LoanRefusal::Expired));
        };
        let now = self.now();
        let mut tx = self.begin().await?;
        if tx.loans().decline_loan(loan.id, now).await? {
            let detail = serde_json::json!({ "loan": loan.reference, "principal": loan.principal });
            tx.append_audit(&customer_event(customer.id, "loan.declined", detail, now)).await?;
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Accepts offer `reference` (the PIN verified just before) and pays the principal out
    /// into the wallet, once: a repeat finds the payout made.
    pub async fn loan_accept(
        &self,
        key: &str,
        reference: &str,
    ) -> anyhow::Result<Result<LoanRow, LoanRefusal>> {
        let Some(customer) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered.into())) };
        let Some(loan) = self.standing_offer(&customer, reference).await? else {
            return Ok(Err(LoanRefusal::Expired));
        };
        if loan.disbursement_id.is_some() {
            return Ok(Ok(loan));
        }
        if !self.offer_stands(&loan) {
            return Ok(Err(LoanRefusal::Expired));
        }
        if customer.locked_at(self.now()) {
            return Ok(Err(Refusal::Locked.into()));
        }
        if !self.verified(&customer).await? {
            return Ok(Err(Refusal::NotVerified.into()));
        }
        let now = self.now();
        let mut tx = self.begin().await?;
        let wallet = self.wallet(tx.bank(), customer.id).await?;
        let book = self.system(tx.bank(), kind::LOAN_BOOK).await?;
        let legs = [(book.id, -loan.principal), (wallet.id, loan.principal)];
        let locked = lock_in_order(tx.bank(), &legs).await?;
        // Under the wallet's lock, so two offers accepted at once cannot both pay out.
        if tx.loans().active_loan(customer.id).await?.is_some() {
            tx.rollback().await?;
            return Ok(Err(LoanRefusal::HasLoan));
        }
        let max = self.rules.tier(customer.kyc_tier).max_balance;
        if let Some(max) = max
            && locked.iter().any(|a| a.id == wallet.id && a.posted.saturating_add(loan.principal) > max)
        {
            tx.rollback().await?;
            return Ok(Err(LoanRefusal::BalanceLimit));
        }
        let idempotency_key = format!("loan_disbursement:{}", loan.id);
        let Some(id) = tx
            .bank()
            .insert_transaction(&self.loan_transaction(
                &loan.reference,
                &idempotency_key,
                TxKind::LoanDisbursement,
                book.id,
                wallet.id,
                loan.principal,
                now,
            ))
            .await?
        else {
            tx.rollback().await?;
            return Ok(self.standing_offer(&customer, reference).await?.ok_or(LoanRefusal::Expired));
        };
        if !post(tx.bank(), id, &legs, now).await? || !tx.loans().activate_loan(loan.id, id, now).await? {
            tx.rollback().await?;
            return Ok(Err(LoanRefusal::Expired));
        }
        audit_posting(
            tx.as_mut(),
            &format!("customer:{}", customer.id),
            &loan.reference,
            TxKind::LoanDisbursement.as_str(),
            loan.principal,
            0,
            now,
        )
        .await?;
        tx.commit().await?;
        self.spend_verification(customer.id).await?;
        self.forget_balance(Some(customer.id)).await;
        let accepted = self.standing_offer(&customer, reference).await?;
        Ok(accepted.ok_or(LoanRefusal::Expired))
    }

    /// A ledger transaction of a loan (`narration` carries the loan reference).
    #[allow(clippy::too_many_arguments)]
    fn loan_transaction<'a>(
        &'a self,
        loan_reference: &'a str,
        idempotency_key: &'a str,
        kind: TxKind,
        debit: i64,
        credit: i64,
        amount: i64,
        now: DateTime<Utc>,
    ) -> NewTransaction<'a> {
        NewTransaction {
            reference: loan_reference,
            idempotency_key,
            kind: kind.as_str(),
            state: TxState::Posted.as_str(),
            debit_account: debit,
            credit_account: credit,
            amount,
            fee: 0,
            currency: self.currency(),
            counterparty: "",
            counterparty_name: "Loan",
            origin: "",
            origin_name: "Loan",
            narration: loan_reference,
            now,
        }
    }

    /// The customer's running loan.
    pub async fn loan_status(&self, key: &str) -> anyhow::Result<Result<Option<LoanStatus>, Refusal>> {
        let Some(customer) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered)) };
        let mut tx = self.begin().await?;
        let status = match tx.loans().active_loan(customer.id).await? {
            Some(loan) => {
                let installments = tx.loans().installments(loan.id).await?;
                Some(LoanStatus { loan, installments })
            }
            None => None,
        };
        tx.rollback().await?;
        Ok(Ok(status))
    }

    /// Pays `amount` off the running loan from the wallet (the PIN verified just before), once
    /// per `idempotency_key`.
    pub async fn loan_repay(
        &self,
        key: &str,
        amount: i64,
        idempotency_key: &str,
    ) -> anyhow::Result<Result<Repaid, LoanRefusal>> {
        let Some(customer) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered.into())) };
        let (done, active) = self.repayment_made(&customer, idempotency_key).await?;
        if let Some(done) = done {
            return Ok(Ok(done));
        }
        let Some(loan) = active else { return Ok(Err(LoanRefusal::NoLoan)) };
        if customer.locked_at(self.now()) {
            return Ok(Err(Refusal::Locked.into()));
        }
        if !self.verified(&customer).await? {
            return Ok(Err(Refusal::NotVerified.into()));
        }
        if amount > loan.outstanding() {
            return Ok(Err(LoanRefusal::TooMuch { outstanding: loan.outstanding() }));
        }
        let mut tx = self.begin().await?;
        let wallet = self.wallet(tx.bank(), customer.id).await?;
        let outcome = self
            .pay(tx.as_mut(), &wallet, loan.id, |_, _| amount, TxKind::LoanRepayment, idempotency_key)
            .await?;
        let repaid = match outcome {
            Payment::Posted { reference, paid, outstanding, .. } => {
                tx.commit().await?;
                Repaid { reference, amount: paid.total(), outstanding }
            }
            Payment::Repeat => {
                // Another delivery of the same message paid in the meantime: its outcome.
                tx.rollback().await?;
                let (done, _) = self.repayment_made(&customer, idempotency_key).await?;
                return done.context("a repayment key taken without its transaction").map(Ok);
            }
            Payment::Insufficient => {
                tx.rollback().await?;
                return Ok(Err(Refusal::InsufficientFunds.into()));
            }
        };
        self.spend_verification(customer.id).await?;
        self.forget_balance(Some(customer.id)).await;
        Ok(Ok(repaid))
    }

    /// The repayment made under `idempotency_key`, if any, and the customer's running loan.
    async fn repayment_made(
        &self,
        customer: &CustomerRow,
        idempotency_key: &str,
    ) -> anyhow::Result<(Option<Repaid>, Option<LoanRow>)> {
        let mut tx = self.begin().await?;
        let done = tx.bank().transaction_by_key(idempotency_key).await?;
        let active = tx.loans().active_loan(customer.id).await?;
        tx.rollback().await?;
        let outstanding = active.as_ref().map_or(0, LoanRow::outstanding);
        let done = done.map(|t| Repaid { reference: t.reference, amount: t.amount, outstanding });
        Ok((done, active))
    }

    /// Moves what `how_much(wallet available, installments)` says from `wallet` to the loan
    /// `loan_id`, in `tx`: accounts locked in the global order, then the loan; the amount split
    /// over what is owed and over the installments in order. `how_much` sees the installments
    /// as they are under the loan's lock, so what is due is never read before a payment that
    /// raced it (a collection racing a repayment takes what is still due, no more).
    async fn pay(
        &self,
        tx: &mut dyn SqlTx,
        wallet: &AccountRow,
        loan_id: i64,
        how_much: impl FnOnce(i64, &[InstallmentRow]) -> i64,
        kind_of: TxKind,
        idempotency_key: &str,
    ) -> anyhow::Result<Payment> {
        let now = self.now();
        let fees = self.system(tx.bank(), kind::FEE_INCOME).await?;
        let interest = self.system(tx.bank(), kind::INTEREST_INCOME).await?;
        let book = self.system(tx.bank(), kind::LOAN_BOOK).await?;
        let accounts = [(wallet.id, 0), (fees.id, 0), (interest.id, 0), (book.id, 0)];
        let locked = lock_in_order(tx.bank(), &accounts).await?;
        let available = locked.iter().find(|a| a.id == wallet.id).map_or(0, AccountRow::available);
        let loan =
            tx.loans().lock_loan(loan_id).await?.with_context(|| format!("loan {loan_id} is missing"))?;
        if loan.state != "active" {
            return Ok(Payment::Insufficient);
        }
        let installments = tx.loans().installments(loan.id).await?;
        let amount = how_much(available, &installments).min(loan.outstanding());
        if amount <= 0 || amount > available {
            return Ok(Payment::Insufficient);
        }
        let reference = new_reference("R");
        let mut new =
            self.loan_transaction(&loan.reference, idempotency_key, kind_of, wallet.id, book.id, amount, now);
        new.reference = &reference;
        let Some(id) = tx.bank().insert_transaction(&new).await? else { return Ok(Payment::Repeat) };
        let paid = allocate(&loan, amount);
        let legs = [
            (wallet.id, -amount),
            (fees.id, paid.late_fees + paid.fee),
            (interest.id, paid.interest),
            (book.id, paid.principal),
        ];
        if !post(tx.bank(), id, &legs, now).await? {
            anyhow::bail!("loan {}: a payment could not be posted after the balance check", loan.reference);
        }
        let mut left = amount;
        for installment in installments {
            let part = left.min(installment.outstanding());
            if part > 0 {
                tx.loans().pay_installment(loan.id, installment.number, part, now).await?;
                left -= part;
            }
        }
        tx.loans().add_loan_payment(loan.id, &paid, now).await?;
        let actor = if kind_of == TxKind::LoanCollection {
            "system:worker".to_owned()
        } else {
            format!("customer:{}", loan.customer_id)
        };
        audit_posting(tx, &actor, &reference, kind_of.as_str(), amount, 0, now).await?;
        Ok(Payment::Posted { transaction: id, reference, paid, outstanding: loan.outstanding() - amount })
    }
}

/// The offer a stored loan row was.
fn offer_of(loan: &LoanRow, installments: &[InstallmentRow]) -> Offer {
    let installments = installments
        .iter()
        .map(|i| pricing::Due {
            number: u32::try_from(i.number).unwrap_or(0),
            due_on: i.due_on.parse().unwrap_or_default(),
            amount: i.amount,
        })
        .collect();
    Offer {
        reference: loan.reference.clone(),
        terms: Terms {
            principal: loan.principal,
            fee: loan.fee,
            interest: loan.interest,
            total: loan.total,
            installments,
            apr: loan.apr.parse().unwrap_or_default(),
        },
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
            offered_at: DateTime::<Utc>::UNIX_EPOCH,
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
