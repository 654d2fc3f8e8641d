//! Deciding and offering: eligibility (recorded with its reasons), an offer priced from the
//! product, its decline, and its acceptance, which pays the loan out.

use super::eligibility::{Decision, Facts};
use super::pricing::{PriceError, Terms};
use super::products::Product;
use super::{Bank, Refusal, audit_posting, customer_event, kind, new_reference, post};
use crate::bank::ledger::{TxKind, TxState};
use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::store::loans::{InstallmentRow, LoanRow, NewDecision, NewLoan};
use crate::store::{CustomerRow, NewTransaction, SqlTx};

use super::{LoanRefusal, Offer, eligibility, iso, pricing};

impl Bank {
    /// Decides, from what `tx` reads, whether `customer` may borrow and how much; with the facts
    /// the decision read.
    pub(super) async fn decide(
        &self,
        tx: &mut dyn SqlTx,
        customer: &CustomerRow,
    ) -> anyhow::Result<(Decision, Facts)> {
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
    pub(super) async fn decide_and_record(
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
    pub(super) fn check_request(
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
    pub(super) async fn standing_offer(
        &self,
        customer: &CustomerRow,
        reference: &str,
    ) -> anyhow::Result<Option<LoanRow>> {
        let mut tx = self.begin().await?;
        let loan = tx.loans().loan_by_reference(reference.trim()).await?;
        tx.rollback().await?;
        Ok(loan.filter(|l| l.customer_id == customer.id))
    }

    pub(super) fn offer_stands(&self, loan: &LoanRow) -> bool {
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
        let legs = [(book, -loan.principal), (wallet.id, loan.principal)];
        let locked = self.lock_in_order(tx.bank(), &legs).await?;
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
                book,
                wallet.id,
                loan.principal,
                now,
            ))
            .await?
        else {
            tx.rollback().await?;
            return Ok(self.standing_offer(&customer, reference).await?.ok_or(LoanRefusal::Expired));
        };
        if !post(tx.bank(), &locked, id, &legs, now).await?
            || !tx.loans().activate_loan(loan.id, id, now).await?
        {
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
    pub(in crate::bank) fn loan_transaction<'a>(
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
}

/// The offer a stored loan row was.
pub(super) fn offer_of(loan: &LoanRow, installments: &[InstallmentRow]) -> Offer {
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
