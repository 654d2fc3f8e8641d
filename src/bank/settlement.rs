//! The rail's word on a transfer to another bank: post it or release its hold, once; and the
//! stuck ones, asked again or parked in suspense.

use crate::bank::ledger::{TxKind, TxState};
use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::notices::Notice;
use super::rail::{RailStatus, RailTransfer};

use crate::store::TransactionRow;
use crate::whatsapp::outbound::Text;

use super::ledger::{audit_posting, kind, post};
use super::notices;
use super::{Bank, Callback};

impl Bank {
    /// Applies the rail's final word on a pending transfer: posted on success, the hold
    /// released on failure. Once: a repeat finds it settled.
    pub async fn settle(&self, reference: &str, status: &RailStatus) -> anyhow::Result<Callback> {
        self.settle_as(reference, status, "system:rail").await
    }

    /// [`Bank::settle`], the posting audited as `actor`'s (an operator resolving suspense).
    pub(super) async fn settle_as(
        &self,
        reference: &str,
        status: &RailStatus,
        actor: &str,
    ) -> anyhow::Result<Callback> {
        self.settle_telling(reference, status, actor, true).await
    }

    /// [`Bank::settle`] for an answer the provider gave at once, while the customer waits in
    /// the chat: their flow says what happened, so no notice repeats it.
    pub(super) async fn settle_at_once(
        &self,
        reference: &str,
        status: &RailStatus,
    ) -> anyhow::Result<Callback> {
        self.settle_telling(reference, status, "system:rail", false).await
    }

    async fn settle_telling(
        &self,
        reference: &str,
        status: &RailStatus,
        actor: &str,
        tell: bool,
    ) -> anyhow::Result<Callback> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let Some(row) = tx.bank().transaction_by_reference(reference).await? else {
            tx.rollback().await?;
            return Ok(Callback::Unknown);
        };
        let owner = tx.bank().account_owner(row.debit_account).await?;
        tx.rollback().await?;
        if !leaves_the_bank(&row) {
            return Ok(Callback::Unknown);
        }
        let (to, reason) = match status {
            RailStatus::Pending => return Ok(Callback::Duplicate),
            RailStatus::Success => (TxState::Posted, None),
            RailStatus::Failed(reason) => (TxState::Failed, Some(reason.as_str())),
            RailStatus::Reversed(reason) if TxState::parse(&row.state) == Some(TxState::Posted) => {
                return self.reverse(&row, owner.as_ref(), reason).await;
            }
            RailStatus::Reversed(reason) => (TxState::Reversed, Some(reason.as_str())),
        };
        let language = match &owner {
            Some(owner) => self.language_of(&owner.phone).await?,
            None => String::new(),
        };
        let mut tx = self.begin().await?;
        if !tx
            .bank()
            .set_transaction_state(row.id, TxState::Pending.as_str(), to.as_str(), reason, now)
            .await?
        {
            tx.rollback().await?;
            // A reversal racing the success it follows: once posted, it is reversed after all.
            if let RailStatus::Reversed(reason) = status {
                let mut tx = self.begin().await?;
                let now_row = tx.bank().transaction_by_reference(reference).await?;
                tx.rollback().await?;
                if let Some(posted) = now_row.filter(|r| TxState::parse(&r.state) == Some(TxState::Posted)) {
                    return self.reverse(&posted, owner.as_ref(), reason).await;
                }
            }
            return Ok(Callback::Duplicate);
        }
        // Read again now that the row is ours: the stuck-transfer job may have moved it to
        // suspense since the first read.
        let row = tx.bank().transaction_by_reference(reference).await?.context("the transaction vanished")?;
        let total = row.amount + row.fee;
        let fees = self.system_for(tx.bank(), kind::FEE_INCOME, row.debit_account).await?;
        let mut held = None;
        if row.suspense_at.is_some() {
            // The customer's funds wait in suspense: on to the rail's side, or back to them,
            // unless that would pass their maximum balance (then the refund waits there).
            let suspense = self.system(tx.bank(), kind::SUSPENSE).await?;
            let legs = if to == TxState::Posted {
                vec![(suspense, -total), (row.credit_account, row.amount), (fees, row.fee)]
            } else {
                vec![(suspense, -total), (row.debit_account, total)]
            };
            let locked = self.lock_in_order(tx.bank(), &legs).await?;
            held = (to != TxState::Posted)
                .then(|| self.passes_maximum(owner.as_ref(), &locked, row.debit_account, total))
                .flatten();
            if held.is_none() && !post(tx.bank(), &locked, row.id, &legs, now).await? {
                anyhow::bail!("transfer {reference}: funds in suspense could not be moved on");
            }
        } else {
            let legs = [(row.debit_account, -total), (row.credit_account, row.amount), (fees, row.fee)];
            let locked = self.lock_in_order(tx.bank(), &legs).await?;
            // The hold goes either way; on success the money leaves with it.
            if !tx.bank().shift_balance(row.debit_account, 0, -total).await? {
                anyhow::bail!("transfer {reference}: its hold is not on the account");
            }
            if to == TxState::Posted && !post(tx.bank(), &locked, row.id, &legs, now).await? {
                anyhow::bail!("transfer {reference}: held funds could not be posted");
            }
        }
        audit_posting(tx.as_mut(), actor, reference, to.as_str(), row.amount, row.fee, now).await?;
        if let (Some(limit), Some(customer)) = (held, &owner) {
            self.hold_refund(tx.as_mut(), &row, customer, limit, &language, now).await?;
        } else if let Some(customer) = owner.as_ref().filter(|_| tell) {
            let payee = self.party(&row.counterparty, &row.counterparty_name);
            let bill = TxKind::parse(&row.kind) == Some(TxKind::BillPayment);
            let notice = match (bill, to == TxState::Posted) {
                (false, true) => Notice::TransferDone { amount: row.amount, to: &payee, reference },
                (false, false) => Notice::TransferFailed { amount: row.amount, to: &payee, reference },
                (true, true) => Notice::BillDone { amount: row.amount, what: &payee, reference },
                (true, false) => Notice::BillFailed { amount: row.amount, what: &payee, reference },
            };
            let text = notices::text(&notice, &language, self.currency());
            self.notify(tx.as_mut(), &customer.phone, &Text::new(text)?.into()).await?;
        }
        tx.commit().await?;
        self.forget_balance(owner.map(|c| c.id)).await;
        self.outbox_wake.signal();
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

    /// What became of pending transfer (or purchase) `row`, as its rail (or biller) says now.
    pub async fn rail_status(&self, row: &TransactionRow) -> anyhow::Result<RailStatus> {
        if TxKind::parse(&row.kind) == Some(TxKind::BillPayment) {
            return self.bill_status(&row.reference).await;
        }
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
            account_name: row.counterparty_name.clone(),
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
        if !leaves_the_bank(&row) || !tx.bank().set_suspense(row.id, now).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        let total = row.amount + row.fee;
        let suspense = self.system(tx.bank(), kind::SUSPENSE).await?;
        let legs = [(row.debit_account, -total), (suspense, total)];
        let locked = self.lock_in_order(tx.bank(), &legs).await?;
        if !tx.bank().shift_balance(row.debit_account, 0, -total).await? {
            anyhow::bail!("transfer {reference}: its hold is not on the account");
        }
        if !post(tx.bank(), &locked, row.id, &legs, now).await? {
            anyhow::bail!("transfer {reference}: held funds could not be moved to suspense");
        }
        audit_posting(tx.as_mut(), "system:worker", reference, "suspense", row.amount, row.fee, now).await?;
        let owner = tx.bank().account_owner(row.debit_account).await?;
        tx.commit().await?;
        self.forget_balance(owner.map(|c| c.id)).await;
        Ok(true)
    }
}

/// Whether `row` is a payment held until a provider outside the bank answers: a transfer to
/// another bank, or airtime and data from the biller.
fn leaves_the_bank(row: &TransactionRow) -> bool {
    matches!(TxKind::parse(&row.kind), Some(TxKind::ExternalTransfer | TxKind::BillPayment))
}
