//! Money in from the payment provider, and the notices the bank queues for customers.

use crate::bank::ledger::{TxKind, TxState};
use chrono::{DateTime, Utc};

use super::notices::Notice;

use crate::flows::template::first_name_initial;
use crate::store::{NewOutboxMessage, NewTransaction, SqlTx};
use crate::whatsapp::outbound::{Outbound, Text};

use super::customers::alias_of_phone;
use super::ledger::{audit_posting, kind, lock_in_order, post};
use super::notices;
use super::{Bank, Callback, customer_event, new_reference};

impl Bank {
    /// Money arrived from outside for the customer with WhatsApp number `wa_id`: credited once
    /// per provider `reference`.
    pub async fn credit(
        &self,
        reference: &str,
        wa_id: &str,
        amount: i64,
        currency: &str,
        payer: &str,
    ) -> anyhow::Result<Callback> {
        if currency != self.settings.currency || amount <= 0 {
            return Ok(Callback::Refused);
        }
        let now = self.now();
        let key = format!("credit:{reference}");
        let Some(customer) = self.customer(&alias_of_phone(wa_id)).await? else {
            return Ok(Callback::Unknown);
        };
        let language = self.language_of(&customer.phone).await?;
        let mut tx = self.begin().await?;
        let wallet = self.wallet(tx.bank(), customer.id).await?;
        let settlement = self.system(tx.bank(), kind::SETTLEMENT).await?;
        let new = NewTransaction {
            reference: &new_reference("C"),
            idempotency_key: &key,
            kind: TxKind::Credit.as_str(),
            state: TxState::Posted.as_str(),
            debit_account: settlement.id,
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
        let legs = [(settlement.id, -amount), (wallet.id, amount)];
        let locked = lock_in_order(tx.bank(), &legs).await?;
        // A tier's maximum balance holds for money from outside too: the provider returns it.
        let limit = self.rules.tier(customer.kyc_tier).max_balance;
        let held = locked.iter().find(|a| a.id == wallet.id).map_or(0, |a| a.posted);
        if let Some(limit) = limit
            && held.saturating_add(amount) > limit
        {
            tx.rollback().await?;
            tracing::warn!(%reference, "a credit would take a wallet past its tier's maximum balance; refused");
            let room = (limit - held).max(0);
            let notice = Notice::CreditRefused { amount, limit, room };
            let text = notices::text(&notice, &language, self.currency());
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
            self.outbox_wake.notify_one();
            return Ok(Callback::Refused);
        }
        if !post(tx.bank(), id, &legs, now).await? {
            anyhow::bail!("a credit could not be posted");
        }
        audit_posting(tx.as_mut(), "system:payments", reference, "credit", amount, 0, now).await?;
        let balance = locked.iter().find(|a| a.id == wallet.id).map_or(0, |a| a.available() + amount);
        let from = if payer.is_empty() { String::new() } else { first_name_initial(payer) };
        let text =
            notices::text(&Notice::Credited { amount, from: &from, balance }, &language, self.currency());
        self.notify(tx.as_mut(), &customer.phone, &Text::new(text)?.into()).await?;
        tx.commit().await?;
        self.forget_balance(Some(customer.id)).await;
        self.outbox_wake.notify_one();
        Ok(Callback::Applied)
    }

    /// The language the customer at `phone` chose (empty: the default).
    pub(super) async fn language_of(&self, phone: &str) -> anyhow::Result<String> {
        Ok(self.store.customer_language(&alias_of_phone(phone)).await?.unwrap_or_default())
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
