//! Money in from the payment provider, and the notices the bank queues for customers.

use crate::bank::ledger::{TxKind, TxState};
use chrono::{DateTime, Utc};

use super::notices::Notice;

use crate::flows::template::first_name_initial;
use crate::store::{AccountRow, CustomerRow, NewOutboxMessage, NewTransaction, SqlTx};
use crate::whatsapp::outbound::{Outbound, Text};

use super::customers::alias_of_phone;
use super::funding::Funded;
use super::ledger::{audit_posting, kind, post};
use super::notices;
use super::{Bank, Callback, customer_event, new_reference};

/// Money in, as the bank books it.
struct Credit<'a> {
    /// Its idempotency key.
    key: String,
    /// The provider's reference.
    reference: &'a str,
    amount: i64,
    currency: &'a str,
    payer: &'a str,
}

/// What a credit past the wallet's maximum balance does.
#[derive(Debug, Clone, Copy)]
enum OverMaximum {
    /// Refused: the provider returns it to the sender.
    Refuse,
    /// Held in suspense, paid in when there is room: the money is with the bank already.
    Hold,
}

impl Bank {
    /// Money arrived from outside for the customer with WhatsApp number `wa_id`: credited once
    /// per provider `reference`. Past the tier's maximum balance it is refused: the provider
    /// returns it.
    pub async fn credit(
        &self,
        reference: &str,
        wa_id: &str,
        amount: i64,
        currency: &str,
        payer: &str,
    ) -> anyhow::Result<Callback> {
        let Some(customer) = self.customer(&alias_of_phone(wa_id)).await? else {
            return Ok(Callback::Unknown);
        };
        let credit = Credit { key: format!("credit:{reference}"), reference, amount, currency, payer };
        self.credit_customer(&customer, &credit, OverMaximum::Refuse).await
    }

    /// Money the provider says arrived in a customer's funding account: credited once per
    /// provider reference, in the bank's currency only. Past the tier's maximum balance it is
    /// held (the money is with the bank already) and paid in when there is room.
    pub async fn fund(&self, funded: &Funded) -> anyhow::Result<Callback> {
        let Some((customer, account)) = self.funding_owner(&funded.customer_code).await? else {
            tracing::warn!(reference = %funded.reference, "money arrived for a provider customer teller does not know");
            return Ok(Callback::Unknown);
        };
        if let (Some(paid_into), Some(account)) = (&funded.account_number, &account)
            && *paid_into != account.account_number
        {
            tracing::error!(reference = %funded.reference, customer, "money arrived in an account that is not the customer's funding account; not credited");
            return Ok(Callback::Unknown);
        }
        let mut tx = self.begin().await?;
        let customer = tx.customers().customer(customer).await?;
        tx.rollback().await?;
        let Some(customer) = customer else { return Ok(Callback::Unknown) };
        let credit = Credit {
            key: format!("credit:paystack:{}", funded.reference),
            reference: &funded.reference,
            amount: funded.amount,
            currency: &funded.currency,
            payer: &funded.payer,
        };
        self.credit_customer(&customer, &credit, OverMaximum::Hold).await
    }

    async fn credit_customer(
        &self,
        customer: &CustomerRow,
        credit: &Credit<'_>,
        over: OverMaximum,
    ) -> anyhow::Result<Callback> {
        let Credit { key, reference, amount, currency, payer } = credit;
        let (amount, reference) = (*amount, *reference);
        if *currency != self.settings.currency || amount <= 0 {
            tracing::warn!(%reference, currency, "a credit not in the bank's currency (or not positive); not credited");
            return Ok(Callback::Refused);
        }
        let now = self.now();
        let language = self.language_of(&customer.phone).await?;
        let mut tx = self.begin().await?;
        let wallet = self.wallet(tx.bank(), customer.id).await?;
        let settlement = self.system_for(tx.bank(), kind::SETTLEMENT, wallet.id).await?;
        let suspense = self.system(tx.bank(), kind::SUSPENSE).await?;
        let new_reference = new_reference("C");
        let new = NewTransaction {
            reference: &new_reference,
            idempotency_key: key,
            kind: TxKind::Credit.as_str(),
            state: TxState::Posted.as_str(),
            debit_account: settlement,
            credit_account: wallet.id,
            amount,
            fee: 0,
            currency,
            counterparty: "",
            counterparty_name: "",
            origin: "",
            origin_name: payer,
            narration: reference,
            now,
        };
        let Some(id) = tx.bank().insert_transaction(&new).await? else { return Ok(Callback::Duplicate) };
        let locked = self.lock_in_order(tx.bank(), &[(wallet.id, 0), (settlement, 0), (suspense, 0)]).await?;
        // A tier's maximum balance holds for money from outside too.
        let limit = self.passes_maximum(Some(customer), &locked, wallet.id, amount);
        let held = match (limit, over) {
            (Some(limit), OverMaximum::Refuse) => {
                tx.rollback().await?;
                return self
                    .refuse_credit(customer, reference, amount, limit, &locked, wallet.id, &language)
                    .await;
            }
            (Some(limit), OverMaximum::Hold) => Some(limit),
            (None, _) => None,
        };
        let to = if held.is_some() { suspense } else { wallet.id };
        if !post(tx.bank(), &locked, id, &[(settlement, -amount), (to, amount)], now).await? {
            anyhow::bail!("a credit could not be posted");
        }
        let text = if let Some(limit) = held {
            // Waits in suspense, marked for the stuck-transfer job's pass over held refunds.
            let (from, to) = (TxState::Posted.as_str(), TxState::Pending.as_str());
            tx.bank().set_transaction_state(id, from, to, None, now).await?;
            tx.bank().hold_refund(id, Some(now)).await?;
            audit_posting(tx.as_mut(), "system:payments", reference, "credit_held", amount, 0, now).await?;
            tracing::error!(%reference, customer = customer.id, "a credit is held in suspense: the wallet is at its maximum balance; it is paid when there is room");
            notices::text(
                &Notice::CreditHeld { amount, limit, reference: &new_reference },
                &language,
                self.currency(),
            )
        } else {
            audit_posting(tx.as_mut(), "system:payments", reference, "credit", amount, 0, now).await?;
            let balance = locked.iter().find(|a| a.id == wallet.id).map_or(0, |a| a.available() + amount);
            let from = if payer.is_empty() { String::new() } else { first_name_initial(payer) };
            notices::text(&Notice::Credited { amount, from: &from, balance }, &language, self.currency())
        };
        self.notify(tx.as_mut(), &customer.phone, &Text::new(text)?.into()).await?;
        tx.commit().await?;
        self.forget_balance(Some(customer.id)).await;
        self.outbox_wake.signal();
        Ok(Callback::Applied)
    }

    /// A credit past the maximum balance, refused: the customer told, and audited.
    #[allow(clippy::too_many_arguments)]
    async fn refuse_credit(
        &self,
        customer: &CustomerRow,
        reference: &str,
        amount: i64,
        limit: i64,
        locked: &[AccountRow],
        wallet: i64,
        language: &str,
    ) -> anyhow::Result<Callback> {
        let now = self.now();
        tracing::warn!(%reference, "a credit would take a wallet past its tier's maximum balance; refused");
        let posted = locked.iter().find(|a| a.id == wallet).map_or(0, |a| a.posted);
        let room = (limit - posted).max(0);
        let notice = Notice::CreditRefused { amount, limit, room };
        let text = notices::text(&notice, language, self.currency());
        let mut tx = self.begin().await?;
        self.notify(tx.as_mut(), &customer.phone, &Text::new(text)?.into()).await?;
        tx.append_audit(&customer_event(
            customer.id,
            "ledger.credit_refused",
            serde_json::json!({ "reference": reference, "amount": amount, "limit": limit }),
            now,
        ))
        .await?;
        tx.commit().await?;
        self.outbox_wake.signal();
        Ok(Callback::Refused)
    }

    /// The language the customer at `phone` chose (empty: the default).
    pub(super) async fn language_of(&self, phone: &str) -> anyhow::Result<String> {
        Ok(self.store.customer_language(&alias_of_phone(phone)).await?.unwrap_or_default())
    }

    /// [`Self::language_of`], read in the unit of work `tx`: while it holds the write lock, a
    /// read on another connection may wait for a connection that waits for the lock.
    pub(super) async fn language_in(&self, tx: &mut dyn SqlTx, phone: &str) -> anyhow::Result<String> {
        Ok(tx.customers().language(&alias_of_phone(phone)).await?.unwrap_or_default())
    }

    /// Queues `message` to the customer at `phone` in the unit of work `tx`, so it goes out
    /// exactly when the change it reports is committed. Outside the 24-hour window the sender
    /// turns it into the configured template.
    pub(super) async fn notify(
        &self,
        tx: &mut dyn SqlTx,
        phone: &str,
        message: &Outbound,
    ) -> anyhow::Result<()> {
        self.queue(tx, phone, message, None).await
    }

    /// [`Bank::notify`], for a message whose body is replaced once settled and past `scrub_after`.
    pub(super) async fn queue(
        &self,
        tx: &mut dyn SqlTx,
        phone: &str,
        message: &Outbound,
        scrub_after: Option<DateTime<Utc>>,
    ) -> anyhow::Result<()> {
        let body = message.to_body();
        let key = alias_of_phone(phone);
        tx.enqueue_outbound(&NewOutboxMessage {
            recipient_key: &key,
            wa_id: Some(phone),
            bsuid: None,
            in_reply_to: None,
            body: &body,
            window_from: None,
            created_at: self.now(),
            scrub_after,
            question: None,
        })
        .await?;
        Ok(())
    }
}
