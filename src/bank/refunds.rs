//! Refunds from suspense that would break a tier's maximum balance, and credits held for the
//! same reason (money that arrived through a funding account: the bank has it already).
//!
//! A transfer to another bank whose outcome stayed unknown for days had its held funds moved
//! to suspense; if the rail then says it failed, the money goes back to the wallet. Every
//! credit respects the tier's maximum balance, this one too: when the wallet has filled up
//! meanwhile, the refund is held in suspense (`refund_held_at`), the customer is told how much
//! waits and why, operations are alerted (an error log line and the audit trail), and the
//! stuck-transfer job pays it as soon as there is room. It is paid once: the hold is cleared in
//! the unit of work that posts it.

use chrono::{DateTime, Utc};

use super::ledger::{TxKind, TxState};
use super::notices::{self, Notice};
use super::{Bank, audit_posting, kind, post};
use crate::store::{AccountRow, CustomerRow, SqlTx, TransactionRow};
use crate::whatsapp::outbound::Text;

/// What became of the held refunds one pass looked at.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HeldRefunds {
    /// Paid into the wallet now.
    pub paid: u64,
    /// Still waiting for room.
    pub waiting: u64,
}

impl Bank {
    /// Whether crediting `amount` to `wallet` (of `owner`, locked) passes their tier's maximum.
    pub(super) fn passes_maximum(
        &self,
        owner: Option<&CustomerRow>,
        locked: &[AccountRow],
        wallet: i64,
        amount: i64,
    ) -> Option<i64> {
        let limit = self.rules.tier(owner?.kyc_tier).max_balance?;
        locked.iter().any(|a| a.id == wallet && a.posted.saturating_add(amount) > limit).then_some(limit)
    }

    /// Holds failed transfer `row`'s refund (funds in suspense) because it would pass the
    /// wallet's `limit`: audited, the customer told, operations alerted, in `tx`.
    pub(super) async fn hold_refund(
        &self,
        tx: &mut dyn SqlTx,
        row: &TransactionRow,
        owner: &CustomerRow,
        limit: i64,
        language: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        tx.bank().hold_refund(row.id, Some(now)).await?;
        audit_posting(tx, "system:rail", &row.reference, "refund_held", row.amount, row.fee, now).await?;
        tracing::error!(
            reference = %row.reference,
            customer = owner.id,
            "a failed transfer's refund is held in suspense: the wallet is at its maximum balance; it is paid when there is room"
        );
        let notice = Notice::RefundHeld { amount: row.amount + row.fee, limit, reference: &row.reference };
        let text = notices::text(&notice, language, self.currency());
        self.notify(tx, &owner.phone, &Text::new(text)?.into()).await
    }

    /// Pays the held refunds that now fit under their wallets' maximum, page by page from
    /// `after`; what it did.
    pub async fn pay_held_refunds(&self, page: i64) -> anyhow::Result<HeldRefunds> {
        let mut done = HeldRefunds::default();
        let mut after = 0;
        loop {
            let mut tx = self.begin().await?;
            let rows = tx.bank().held_refunds(after, page).await?;
            tx.rollback().await?;
            let Some(last) = rows.last() else { return Ok(done) };
            after = last.id;
            for row in rows {
                if self.pay_held_refund(&row).await? {
                    done.paid += 1;
                } else {
                    done.waiting += 1;
                }
            }
        }
    }

    /// Pays one held refund (or credit) if it fits now; false when it still waits.
    async fn pay_held_refund(&self, row: &TransactionRow) -> anyhow::Result<bool> {
        let now = self.now();
        // A failed transfer's refund goes back to the account it left; a held credit to the
        // account it was for.
        let credit = TxKind::parse(&row.kind) == Some(TxKind::Credit);
        let (wallet, total) =
            if credit { (row.credit_account, row.amount) } else { (row.debit_account, row.amount + row.fee) };
        let mut tx = self.begin().await?;
        let owner = tx.bank().account_owner(wallet).await?;
        let suspense = self.system(tx.bank(), kind::SUSPENSE).await?;
        let legs = [(suspense, -total), (wallet, total)];
        let locked = self.lock_in_order(tx.bank(), &legs).await?;
        if self.passes_maximum(owner.as_ref(), &locked, wallet, total).is_some() {
            tx.rollback().await?;
            return Ok(false);
        }
        // Cleared in the unit of work that pays it: a second pass finds nothing to pay.
        if !tx.bank().hold_refund(row.id, None).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        if !post(tx.bank(), &locked, row.id, &legs, now).await? {
            anyhow::bail!("transaction {}: its held money could not be posted", row.reference);
        }
        if credit {
            let (from, to) = (TxState::Pending.as_str(), TxState::Posted.as_str());
            tx.bank().set_transaction_state(row.id, from, to, None, now).await?;
        }
        let what = if credit { "credit_paid" } else { "refund_paid" };
        audit_posting(tx.as_mut(), "system:worker", &row.reference, what, row.amount, row.fee, now).await?;
        let balance = locked.iter().find(|a| a.id == wallet).map_or(0, |a| a.available() + total);
        if let Some(owner) = &owner {
            let language = self.language_in(tx.as_mut(), &owner.phone).await?;
            let reference = row.reference.as_str();
            let notice = if credit {
                Notice::HeldCreditPaid { amount: total, balance, reference }
            } else {
                Notice::RefundPaid { amount: total, balance, reference }
            };
            let text = notices::text(&notice, &language, self.currency());
            self.notify(tx.as_mut(), &owner.phone, &Text::new(text)?.into()).await?;
        }
        tx.commit().await?;
        self.forget_balance(owner.map(|c| c.id)).await;
        self.outbox_wake.signal();
        Ok(true)
    }
}
