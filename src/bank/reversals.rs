//! A transfer to another bank that had gone and came back (the provider's `reversed`): the
//! money and the fee return to the wallet, once, on the transfer's own row; past the wallet's
//! maximum balance they wait in suspense like any refund (see `refunds`).

use crate::bank::ledger::TxState;
use crate::store::{CustomerRow, TransactionRow};
use crate::whatsapp::outbound::Text;

use super::notices::{self, Notice};
use super::{Bank, Callback, audit_posting, kind, post};

impl Bank {
    /// Reverses posted transfer `row` (of `owner`) for `reason`; a repeat does nothing.
    pub(super) async fn reverse(
        &self,
        row: &TransactionRow,
        owner: Option<&CustomerRow>,
        reason: &str,
    ) -> anyhow::Result<Callback> {
        let now = self.now();
        let language = match owner {
            Some(owner) => self.language_of(&owner.phone).await?,
            None => String::new(),
        };
        let mut tx = self.begin().await?;
        let from = TxState::Posted.as_str();
        if !tx
            .bank()
            .set_transaction_state(row.id, from, TxState::Reversed.as_str(), Some(reason), now)
            .await?
        {
            tx.rollback().await?;
            return Ok(Callback::Duplicate);
        }
        let total = row.amount + row.fee;
        // The fee comes back out of the part of fee income it went into.
        let fees = match tx.bank().system_entry(row.id, kind::FEE_INCOME).await? {
            Some(part) => part,
            None => self.system_for(tx.bank(), kind::FEE_INCOME, row.debit_account).await?,
        };
        let suspense = self.system(tx.bank(), kind::SUSPENSE).await?;
        // Every account either way, locked once in the global order.
        let all = [(row.credit_account, 0), (fees, 0), (row.debit_account, 0), (suspense, 0)];
        let locked = self.lock_in_order(tx.bank(), &all).await?;
        let held = self.passes_maximum(owner, &locked, row.debit_account, total);
        let to = if held.is_some() { suspense } else { row.debit_account };
        let legs = [(row.credit_account, -row.amount), (fees, -row.fee), (to, total)];
        if !post(tx.bank(), &locked, row.id, &legs, now).await? {
            anyhow::bail!("transfer {}: its reversal could not be posted", row.reference);
        }
        audit_posting(tx.as_mut(), "system:rail", &row.reference, "reversed", row.amount, row.fee, now)
            .await?;
        match (held, owner) {
            (Some(limit), Some(owner)) => {
                self.hold_refund(tx.as_mut(), row, owner, limit, &language, now).await?;
            }
            (None, Some(owner)) => {
                let to = self.party(&row.counterparty, &row.counterparty_name);
                let notice = Notice::TransferReversed {
                    amount: row.amount,
                    refunded: total,
                    to: &to,
                    reference: &row.reference,
                };
                let text = notices::text(&notice, &language, self.currency());
                self.notify(tx.as_mut(), &owner.phone, &Text::new(text)?.into()).await?;
            }
            _ => {}
        }
        tx.commit().await?;
        self.forget_balance(owner.map(|c| c.id)).await;
        self.outbox_wake.signal();
        Ok(Callback::Applied)
    }
}
