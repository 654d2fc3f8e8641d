//! Corrections an operator makes to money: a transfer held in suspense resolved as sent or
//! returned (with the rail's evidence), a late fee waived, a loan rescheduled or written off.
//! Each checks the state it changes under its lock, moves money only through the ledger, and
//! is audited with who made it and why; [`crate::admin::operations`] decides whether a second
//! admin must approve it first.

use anyhow::Context as _;
use chrono::NaiveDate;
use serde_json::json;

use super::ledger::{TxKind, audit_posting, kind, post};
use super::loans::pricing::due_date;
use super::loans::products::Every;
use super::notices::{self, Notice};
use super::rail::RailStatus;
use super::{Bank, Callback};
use crate::store::{NewAuditEvent, TransactionRow};

/// A correction, as an operator asks for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Correction {
    /// A transfer held in suspense, settled as the rail says it went.
    ResolveTransfer {
        /// The transfer's reference.
        reference: String,
        /// Whether the rail delivered it (`true`) or returned it.
        sent: bool,
        /// The rail's evidence: its reference, session id or statement line.
        evidence: String,
    },
    /// Installment `number`'s unpaid late fee forgiven.
    WaiveLateFee {
        /// The loan's reference.
        loan: String,
        /// The installment.
        number: i32,
    },
    /// A loan's unpaid installments due again from `first_due`, one a period.
    RestructureLoan {
        /// The loan's reference.
        loan: String,
        /// `YYYY-MM-DD`: when the first unpaid installment falls due now.
        first_due: String,
    },
    /// A running loan closed as a loss: nothing more is collected.
    WriteOffLoan {
        /// The loan's reference.
        loan: String,
    },
}

impl Correction {
    /// Its kind, as operator requests store it.
    pub fn kind(&self) -> &'static str {
        match self {
            Correction::ResolveTransfer { .. } => "resolve_transfer",
            Correction::WaiveLateFee { .. } => "waive_late_fee",
            Correction::RestructureLoan { .. } => "restructure_loan",
            Correction::WriteOffLoan { .. } => "write_off_loan",
        }
    }

    /// What it is about: the transfer or loan (and installment).
    pub fn subject(&self) -> String {
        match self {
            Correction::ResolveTransfer { reference, .. } => reference.clone(),
            Correction::WaiveLateFee { loan, number } => format!("{loan}#{number}"),
            Correction::RestructureLoan { loan, .. } | Correction::WriteOffLoan { loan } => loan.clone(),
        }
    }
}

/// Why a correction cannot be made, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorrectionRefusal {
    /// No such transfer or loan.
    #[error("there is no {0} with that reference")]
    NotFound(&'static str),
    /// The transfer is not waiting in suspense (settled, or not moved there yet).
    #[error("that transfer is not held in suspense (it was settled, or is still waiting for the rail)")]
    NotInSuspense,
    /// The loan is not running.
    #[error("that loan is not running (repaid, written off, or never paid out)")]
    NotRunning,
    /// Nothing is left to waive on that installment.
    #[error("that installment has no unpaid late fee")]
    NothingToWaive,
    /// Bad input, said how.
    #[error("{0}")]
    Invalid(String),
}

type Refusable<T> = anyhow::Result<Result<T, CorrectionRefusal>>;

impl Bank {
    /// Transfers to other banks waiting in suspense for an operator, oldest first.
    pub async fn suspended_transfers(&self, limit: i64) -> anyhow::Result<Vec<TransactionRow>> {
        let mut tx = self.begin().await?;
        let rows = tx.bank().suspended_transfers(limit).await?;
        tx.rollback().await?;
        Ok(rows)
    }

    /// The money `correction` moves or forgives (minor units): what decides whether a second
    /// admin must approve it.
    pub async fn correction_amount(&self, correction: &Correction) -> Refusable<i64> {
        Ok(match correction {
            Correction::ResolveTransfer { reference, .. } => {
                self.in_suspense(reference).await?.map(|row| row.amount + row.fee)
            }
            Correction::WaiveLateFee { loan, number } => self.waivable(loan, *number).await?.map(|(_, a)| a),
            Correction::RestructureLoan { loan, .. } | Correction::WriteOffLoan { loan } => {
                self.running_loan(loan).await?.map(|l| l.outstanding())
            }
        })
    }

    /// Makes `correction` as `by` (`admin:<id>`) for `reason`; what was done, in words.
    pub async fn correct(&self, correction: &Correction, by: &str, reason: &str) -> Refusable<String> {
        match correction {
            Correction::ResolveTransfer { reference, sent, evidence } => {
                self.resolve_transfer(reference, *sent, evidence, by, reason).await
            }
            Correction::WaiveLateFee { loan, number } => self.waive_late_fee(loan, *number, by, reason).await,
            Correction::RestructureLoan { loan, first_due } => {
                self.restructure(loan, first_due, by, reason).await
            }
            Correction::WriteOffLoan { loan } => self.write_off(loan, by, reason).await,
        }
    }

    async fn in_suspense(&self, reference: &str) -> Refusable<TransactionRow> {
        let mut tx = self.begin().await?;
        let row = tx.bank().transaction_by_reference(reference).await?;
        tx.rollback().await?;
        Ok(match row {
            None => Err(CorrectionRefusal::NotFound("transfer")),
            Some(row) if TxKind::parse(&row.kind) != Some(TxKind::ExternalTransfer) => {
                Err(CorrectionRefusal::NotFound("transfer"))
            }
            Some(row) if row.state != "pending" || row.suspense_at.is_none() => {
                Err(CorrectionRefusal::NotInSuspense)
            }
            Some(row) => Ok(row),
        })
    }

    async fn resolve_transfer(
        &self,
        reference: &str,
        sent: bool,
        evidence: &str,
        by: &str,
        reason: &str,
    ) -> Refusable<String> {
        let evidence = evidence.trim();
        if evidence.is_empty() || evidence.len() > 500 {
            return Ok(Err(CorrectionRefusal::Invalid(
                "give the rail's evidence (at most 500 characters)".into(),
            )));
        }
        let row = match self.in_suspense(reference).await? {
            Ok(row) => row,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let status =
            if sent { RailStatus::Success } else { RailStatus::Failed(format!("returned: {evidence}")) };
        if self.settle_as(reference, &status, by).await? != Callback::Applied {
            return Ok(Err(CorrectionRefusal::NotInSuspense));
        }
        let outcome =
            if sent { "sent: posted from suspense to the rail" } else { "returned: refunded from suspense" };
        let detail = json!({ "outcome": outcome, "evidence": evidence, "reason": reason, "amount": row.amount, "fee": row.fee });
        self.audit(by, "transfer.resolved", reference, detail).await?;
        Ok(Ok(format!("Transfer {reference} {outcome}.")))
    }

    /// The running loan `reference`, and installment `number`'s late fee not yet paid.
    async fn waivable(&self, reference: &str, number: i32) -> Refusable<(crate::store::loans::LoanRow, i64)> {
        let loan = match self.running_loan(reference).await? {
            Ok(loan) => loan,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let mut tx = self.begin().await?;
        let installments = tx.loans().installments(loan.id).await?;
        tx.rollback().await?;
        let Some(due) = installments.iter().find(|i| i.number == number) else {
            return Ok(Err(CorrectionRefusal::Invalid(format!(
                "loan {reference} has no installment {number}"
            ))));
        };
        let amount = due.late_fee.min(due.outstanding()).min(loan.late_fees - loan.paid_late_fees);
        Ok(if amount > 0 { Ok((loan, amount)) } else { Err(CorrectionRefusal::NothingToWaive) })
    }

    async fn running_loan(&self, reference: &str) -> Refusable<crate::store::loans::LoanRow> {
        let mut tx = self.begin().await?;
        let loan = tx.loans().loan_by_reference(reference.trim()).await?;
        tx.rollback().await?;
        Ok(match loan {
            None => Err(CorrectionRefusal::NotFound("loan")),
            Some(loan) if loan.state != "active" => Err(CorrectionRefusal::NotRunning),
            Some(loan) => Ok(loan),
        })
    }

    async fn waive_late_fee(
        &self,
        reference: &str,
        number: i32,
        by: &str,
        reason: &str,
    ) -> Refusable<String> {
        let (loan, amount) = match self.waivable(reference, number).await? {
            Ok(found) => found,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let now = self.now();
        let today = self.today().format("%Y-%m-%d").to_string();
        let mut tx = self.begin().await?;
        tx.loans().lock_loan(loan.id).await?;
        if !tx.loans().waive_late_fee(loan.id, number, amount, now).await? {
            tx.rollback().await?;
            return Ok(Err(CorrectionRefusal::NothingToWaive));
        }
        let event = crate::store::loans::LoanEvent {
            loan_id: loan.id,
            number,
            kind: "late_fee_waived",
            day: &today,
            amount,
            transaction_id: None,
            now,
        };
        tx.loans().insert_loan_event(&event).await?;
        self.tell_borrower(tx.as_mut(), loan.customer_id, |words| {
            let notice = Notice::LateFeeWaived { amount, outstanding: loan.outstanding() - amount };
            notices::text(&notice, words, self.currency())
        })
        .await?;
        tx.append_audit(&NewAuditEvent::new(
            by,
            "loan.late_fee_waived",
            reference,
            now,
            json!({
                "installment": number, "amount": amount, "reason": reason,
            }),
        ))
        .await?;
        tx.commit().await?;
        self.outbox_wake.signal();
        Ok(Ok(format!(
            "Late fee of {} waived on installment {number} of loan {reference}.",
            self.money(amount)
        )))
    }

    async fn restructure(
        &self,
        reference: &str,
        first_due: &str,
        by: &str,
        reason: &str,
    ) -> Refusable<String> {
        let Ok(first) = NaiveDate::parse_from_str(first_due.trim(), "%Y-%m-%d") else {
            return Ok(Err(CorrectionRefusal::Invalid("first_due is a date like 2027-01-31".into())));
        };
        if first <= self.today() || first > self.today() + chrono::Days::new(366) {
            return Ok(Err(CorrectionRefusal::Invalid(
                "the first new due date is after today and within a year".into(),
            )));
        }
        let loan = match self.running_loan(reference).await? {
            Ok(loan) => loan,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let every = if loan.every == "week" { Every::Week } else { Every::Month };
        let now = self.now();
        let mut tx = self.begin().await?;
        tx.loans().lock_loan(loan.id).await?;
        let unpaid: Vec<_> =
            tx.loans().installments(loan.id).await?.into_iter().filter(|i| i.outstanding() > 0).collect();
        let mut moved = Vec::new();
        for (k, due) in (0u32..).zip(&unpaid) {
            let on = due_date(first, every, k)
                .context("a due date past the calendar")?
                .format("%Y-%m-%d")
                .to_string();
            if !tx.loans().reschedule_installment(loan.id, due.number, &on).await? {
                tx.rollback().await?;
                return Ok(Err(CorrectionRefusal::NotRunning));
            }
            moved.push(json!({ "installment": due.number, "before": due.due_on, "after": on }));
        }
        let shown = crate::flows::template::long_date(first_due.trim());
        self.tell_borrower(tx.as_mut(), loan.customer_id, |words| {
            let notice =
                Notice::LoanRescheduled { first_due: &shown, installments: unpaid.len(), every: &loan.every };
            notices::text(&notice, words, self.currency())
        })
        .await?;
        tx.append_audit(&NewAuditEvent::new(
            by,
            "loan.restructured",
            reference,
            now,
            json!({
                "installments": moved, "outstanding": loan.outstanding(), "reason": reason,
            }),
        ))
        .await?;
        tx.commit().await?;
        self.outbox_wake.signal();
        Ok(Ok(format!(
            "Loan {reference}: {} unpaid installment(s) now fall due from {first_due}.",
            unpaid.len()
        )))
    }

    async fn write_off(&self, reference: &str, by: &str, reason: &str) -> Refusable<String> {
        let loan = match self.running_loan(reference).await? {
            Ok(loan) => loan,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let now = self.now();
        let mut tx = self.begin().await?;
        let Some(loan) = tx.loans().lock_loan(loan.id).await?.filter(|l| l.state == "active") else {
            tx.rollback().await?;
            return Ok(Err(CorrectionRefusal::NotRunning));
        };
        // The principal still out leaves the loan book as a loss; fees and interest never
        // earned are simply not collected.
        let principal = loan.principal - loan.paid_principal;
        let losses = self.system(tx.bank(), kind::LOAN_LOSSES).await?;
        let book = self.system(tx.bank(), kind::LOAN_BOOK).await?;
        let legs = [(losses, -principal), (book, principal)];
        let locked = self.lock_in_order(tx.bank(), &legs).await?;
        let key = format!("loan_write_off:{}", loan.id);
        let entry = format!("{}-WO", loan.reference);
        let new = self.loan_transaction(&entry, &key, TxKind::LoanWriteOff, losses, book, principal, now);
        let Some(id) = tx.bank().insert_transaction(&new).await? else {
            tx.rollback().await?;
            return Ok(Err(CorrectionRefusal::NotRunning));
        };
        if !post(tx.bank(), &locked, id, &legs, now).await?
            || !tx.loans().write_off_loan(loan.id, now).await?
        {
            tx.rollback().await?;
            return Ok(Err(CorrectionRefusal::NotRunning));
        }
        audit_posting(tx.as_mut(), by, &entry, TxKind::LoanWriteOff.as_str(), principal, 0, now).await?;
        tx.append_audit(&NewAuditEvent::new(
            by,
            "loan.written_off",
            reference,
            now,
            json!({
                "principal": principal, "outstanding": loan.outstanding(), "reason": reason,
            }),
        ))
        .await?;
        tx.commit().await?;
        Ok(Ok(format!(
            "Loan {reference} written off: {} of principal to losses; {} will not be collected.",
            self.money(principal),
            self.money(loan.outstanding())
        )))
    }

    /// Tells the borrower `customer` what was done, in their language, in the same unit of work.
    async fn tell_borrower(
        &self,
        tx: &mut dyn crate::store::SqlTx,
        customer: i64,
        said: impl Fn(&str) -> String,
    ) -> anyhow::Result<()> {
        let Some(owner) = tx.customers().customer(customer).await? else { return Ok(()) };
        if owner.phone.is_empty() {
            return Ok(());
        }
        let language = self.language_in(tx, &owner.phone).await?;
        let text = crate::whatsapp::outbound::Text::new(said(&language))?;
        self.notify(tx, &owner.phone, &text.into()).await
    }

    async fn audit(
        &self,
        by: &str,
        action: &str,
        subject: &str,
        detail: serde_json::Value,
    ) -> anyhow::Result<()> {
        let mut tx = self.begin().await?;
        tx.append_audit(&NewAuditEvent::new(by, action, subject, self.now(), detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    fn money(&self, minor: i64) -> String {
        crate::money::format_money(minor, self.currency())
    }
}
