//! Repaying: the loan as it stands, a repayment from the wallet, and the payment every
//! repayment and collection makes (late fees, then the fee, interest and principal).

use crate::bank::ledger::TxKind;
use anyhow::Context as _;

use super::{Bank, Refusal, audit_posting, kind, new_reference, post};

use crate::store::loans::{InstallmentRow, LoanRow};
use crate::store::{AccountRow, CustomerRow, SqlTx};

use super::{LoanRefusal, LoanStatus, Payment, Repaid, allocate};

impl Bank {
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
    pub(super) async fn repayment_made(
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
    pub(super) async fn pay(
        &self,
        tx: &mut dyn SqlTx,
        wallet: &AccountRow,
        loan_id: i64,
        how_much: impl FnOnce(i64, &[InstallmentRow]) -> i64,
        kind_of: TxKind,
        idempotency_key: &str,
    ) -> anyhow::Result<Payment> {
        let now = self.now();
        let fees = self.system_for(tx.bank(), kind::FEE_INCOME, wallet.id).await?;
        let interest = self.system(tx.bank(), kind::INTEREST_INCOME).await?;
        let book = self.system(tx.bank(), kind::LOAN_BOOK).await?;
        let accounts = [(wallet.id, 0), (fees, 0), (interest, 0), (book, 0)];
        let locked = self.lock_in_order(tx.bank(), &accounts).await?;
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
            self.loan_transaction(&loan.reference, idempotency_key, kind_of, wallet.id, book, amount, now);
        new.reference = &reference;
        let Some(id) = tx.bank().insert_transaction(&new).await? else { return Ok(Payment::Repeat) };
        let paid = allocate(&loan, amount);
        let legs = [
            (wallet.id, -amount),
            (fees, paid.late_fees + paid.fee),
            (interest, paid.interest),
            (book, paid.principal),
        ];
        if !post(tx.bank(), &locked, id, &legs, now).await? {
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
