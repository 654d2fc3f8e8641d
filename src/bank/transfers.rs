//! Transfers: finding the payee, the quote (fee and limits), the authorisation a verified PIN
//! or code gives, moves between customers, and transfers to other banks (held, then sent to
//! the rail).

use crate::bank::ledger::{TxKind, TxState};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::notices::Notice;
use super::rail::{RailStatus, RailTransfer};
use super::rules::fee;

use crate::flows::template::first_name_initial;

use crate::store::{AccountRow, CustomerRow, NewTransaction, TransactionRow};
use crate::whatsapp::outbound::Text;

use super::customers::{alias_of_phone, shown};
use super::ledger::{audit_posting, kind, post};
use super::notices;
use super::{
    Bank, Destination, Limits, Payee, Quote, QuoteRefusal, Refusal, Transfer, new_reference, sender_actor,
};

impl Bank {
    /// The customer behind phone number `phone`, as a payee of the customer behind `key`.
    pub async fn find_payee(&self, key: &str, phone: &str) -> anyhow::Result<Result<Payee, Refusal>> {
        let Some(me) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered)) };
        let Some(them) = self.customer(&alias_of_phone(phone)).await? else {
            return Ok(Err(Refusal::UnknownRecipient));
        };
        if them.id == me.id {
            return Ok(Err(Refusal::ToSelf));
        }
        Ok(Ok(Payee {
            name: first_name_initial(&format!("{} {}", them.first_name, them.last_name)),
            phone: them.phone,
        }))
    }

    /// The account at another bank, as its bank names it.
    pub async fn find_account(&self, bank: &str, account: &str) -> anyhow::Result<Result<String, Refusal>> {
        let Some(info) = self.rules.banks.get(bank) else { return Ok(Err(Refusal::UnknownBank)) };
        if !super::nuban::valid(&info.code, account) {
            return Ok(Err(Refusal::InvalidAccount));
        }
        Ok(self.rail.lookup(&info.code, account).await?.ok_or(Refusal::UnknownAccount))
    }

    /// The limits of the customer `key`'s tier, and what is left of today's, as the quote
    /// counts it.
    pub async fn limits(&self, key: &str) -> anyhow::Result<Result<Limits, Refusal>> {
        let Some((customer, wallet, mut tx)) = self.with_wallet(key).await? else {
            return Ok(Err(Refusal::NotRegistered));
        };
        let sent_today = tx.bank().debited_since(wallet.id, self.start_of_day()).await?;
        tx.rollback().await?;
        let tier = self.tier_of(&customer);
        Ok(Ok(Limits {
            per_transaction: tier.per_transaction,
            per_day: tier.per_day,
            left_today: (tier.per_day - sent_today).max(0),
            max_balance: tier.max_balance,
        }))
    }

    /// What sending `amount` (internal when `bank` is `None`) would cost, checked against the
    /// balance and limits now (the transfer checks again).
    pub async fn quote(
        &self,
        key: &str,
        amount: i64,
        counterparty: &str,
        external: bool,
    ) -> anyhow::Result<Result<Quote, QuoteRefusal>> {
        let fees = if external { &self.rules.external_fees } else { &self.rules.internal_fees };
        self.quote_under(key, amount, counterparty, fees).await
    }

    /// [`Bank::quote`] with the fee from `fees`.
    pub(super) async fn quote_under(
        &self,
        key: &str,
        amount: i64,
        counterparty: &str,
        fees: &[super::rules::FeeBand],
    ) -> anyhow::Result<Result<Quote, QuoteRefusal>> {
        let Some((customer, wallet, mut tx)) = self.with_wallet(key).await? else {
            return Ok(Err(QuoteRefusal::Other(Refusal::NotRegistered)));
        };
        let fee = fee(fees, amount);
        let total = amount.saturating_add(fee);
        let tier = self.tier_of(&customer);
        let sent_today = tx.bank().debited_since(wallet.id, self.start_of_day()).await?;
        let step_up = self.needs_code(tx.bank(), wallet.id, amount, counterparty).await?;
        tx.rollback().await?;
        // Told before the confirmation and the PIN, not after.
        let refusal = if customer.frozen_at.is_some() {
            Some(QuoteRefusal::Frozen)
        } else if customer.pin_blocked != 0 {
            Some(QuoteRefusal::Locked { until: String::new() })
        } else if let Some(until) = customer.locked_until.filter(|until| *until > self.now()) {
            Some(QuoteRefusal::Locked { until: self.lock_end(until) })
        } else if amount > tier.per_transaction {
            Some(QuoteRefusal::OverLimit { limit: tier.per_transaction })
        } else if sent_today.saturating_add(total) > tier.per_day {
            Some(QuoteRefusal::DailyLimit { left: (tier.per_day - sent_today).max(0) })
        } else if wallet.available() < total {
            Some(QuoteRefusal::InsufficientFunds { available: wallet.available().max(0) })
        } else {
            None
        };
        Ok(match refusal {
            Some(refusal) => Err(refusal),
            None => Ok(Quote { fee, total, step_up }),
        })
    }

    pub(super) fn start_of_day(&self) -> DateTime<Utc> {
        let tz = self.settings.timezone;
        let today = self.now().with_timezone(&tz).date_naive();
        today
            .and_hms_opt(0, 0, 0)
            .and_then(|midnight| tz.from_local_datetime(&midnight).earliest())
            .map_or_else(|| self.now(), |t| t.with_timezone(&Utc))
    }

    /// Checks what every transfer needs of its sender; the customer when all is well.
    pub(super) async fn authorise(
        &self,
        key: &str,
        amount: i64,
        counterparty: &str,
    ) -> anyhow::Result<Result<(CustomerRow, AccountRow), Refusal>> {
        let Some((customer, wallet, mut tx)) = self.with_wallet(key).await? else {
            return Ok(Err(Refusal::NotRegistered));
        };
        let needs_code = self.needs_code(tx.bank(), wallet.id, amount, counterparty).await?;
        tx.rollback().await?;
        if customer.locked_at(self.now()) {
            return Ok(Err(Refusal::Locked));
        }
        if !self.verified(&customer).await? {
            return Ok(Err(Refusal::NotVerified));
        }
        if needs_code && self.kv.get(&Self::kv_key("code_ok", customer.id)).await?.is_none() {
            return Ok(Err(Refusal::CodeRequired));
        }
        Ok(Ok((customer, wallet)))
    }

    /// What a known idempotency key already did.
    pub(super) async fn repeat(&self, key: &str) -> anyhow::Result<Option<Transfer>> {
        let mut tx = self.begin().await?;
        let found = tx.bank().transaction_by_key(key).await?;
        tx.rollback().await?;
        Ok(found.map(|row| outcome_of(&row)))
    }

    /// Sends `amount` to the customer whose WhatsApp number is `to_phone`, once per
    /// `idempotency_key`, with the PIN (and code, if needed) verified just before.
    pub async fn transfer_internal(
        &self,
        key: &str,
        to_phone: &str,
        amount: i64,
        idempotency_key: &str,
    ) -> anyhow::Result<Transfer> {
        if let Some(done) = self.repeat(idempotency_key).await? {
            return Ok(done);
        }
        let (sender, wallet) = match self.authorise(key, amount, to_phone).await? {
            Ok(found) => found,
            Err(refusal) => return Ok(Transfer::Refused(refusal)),
        };
        let Some(recipient) = self.customer(&alias_of_phone(to_phone)).await? else {
            return Ok(Transfer::Refused(Refusal::UnknownRecipient));
        };
        if recipient.id == sender.id {
            return Ok(Transfer::Refused(Refusal::ToSelf));
        }
        let outcome = self.move_internal(&sender, &wallet, &recipient, amount, idempotency_key).await?;
        if matches!(outcome, Transfer::Posted { .. }) {
            self.spend_verification(sender.id).await?;
            self.forget_balance(Some(sender.id)).await;
            self.forget_balance(Some(recipient.id)).await;
            self.outbox_wake.signal();
        }
        Ok(outcome)
    }

    /// The ledger part of an internal transfer: one unit of work.
    pub async fn move_internal(
        &self,
        sender: &CustomerRow,
        wallet: &AccountRow,
        recipient: &CustomerRow,
        amount: i64,
        idempotency_key: &str,
    ) -> anyhow::Result<Transfer> {
        let now = self.now();
        let fee = fee(&self.rules.internal_fees, amount);
        let tier = self.tier_of(sender);
        if amount > tier.per_transaction {
            return Ok(Transfer::Refused(Refusal::OverLimit));
        }
        let reference = new_reference("T");
        // Read before the unit of work: it holds its connection, and must not wait for another.
        let language = self.language_of(&recipient.phone).await?;
        let mut tx = self.begin().await?;
        let to_wallet = self.wallet(tx.bank(), recipient.id).await?;
        let fees = self.system_for(tx.bank(), kind::FEE_INCOME, wallet.id).await?;
        let sender_name = format!("{} {}", sender.first_name, sender.last_name);
        let recipient_name = format!("{} {}", recipient.first_name, recipient.last_name);
        let new = NewTransaction {
            reference: &reference,
            idempotency_key,
            kind: TxKind::Transfer.as_str(),
            state: TxState::Posted.as_str(),
            debit_account: wallet.id,
            credit_account: to_wallet.id,
            amount,
            fee,
            currency: &self.settings.currency,
            counterparty: &recipient.phone,
            counterparty_name: &recipient_name,
            origin: &sender.phone,
            origin_name: &sender_name,
            narration: "",
            now,
        };
        let Some(id) = tx.bank().insert_transaction(&new).await? else {
            tx.rollback().await?;
            return Ok(self
                .repeat(idempotency_key)
                .await?
                .unwrap_or(Transfer::Refused(Refusal::InsufficientFunds)));
        };
        let legs = [(wallet.id, -(amount + fee)), (to_wallet.id, amount), (fees, fee)];
        let locked = self.lock_in_order(tx.bank(), &legs).await?;
        let sent_today = tx.bank().debited_since(wallet.id, self.start_of_day()).await?;
        if sent_today > tier.per_day {
            tx.rollback().await?;
            return Ok(Transfer::Refused(Refusal::DailyLimit));
        }
        let recipient_max = self.rules.tier(recipient.kyc_tier).max_balance;
        if let Some(max) = recipient_max
            && locked.iter().any(|a| a.id == to_wallet.id && a.posted.saturating_add(amount) > max)
        {
            tx.rollback().await?;
            return Ok(Transfer::Refused(Refusal::RecipientLimit));
        }
        if !post(tx.bank(), &locked, id, &legs, now).await? {
            tx.rollback().await?;
            return Ok(Transfer::Refused(Refusal::InsufficientFunds));
        }
        audit_posting(tx.as_mut(), &sender_actor(sender.id), &reference, "transfer", amount, fee, now)
            .await?;
        let balance = locked.iter().find(|a| a.id == to_wallet.id).map_or(0, |a| a.available() + amount);
        let text = notices::text(
            &Notice::Received { amount, from: &shown(&sender_name, &sender.phone), balance },
            &language,
            self.currency(),
        );
        self.notify(tx.as_mut(), &recipient.phone, &Text::new(text)?.into()).await?;
        tx.commit().await?;
        Ok(Transfer::Posted { reference, fee })
    }

    /// Sends `amount` to an account at another bank: funds held, the rail called, then posted
    /// or released on its answer (now, by a later poll, or by its callback).
    pub async fn transfer_external(
        self: &Arc<Self>,
        key: &str,
        to: &Destination,
        amount: i64,
        idempotency_key: &str,
    ) -> anyhow::Result<Transfer> {
        if let Some(done) = self.repeat(idempotency_key).await? {
            return Ok(done);
        }
        let Some(bank) = self.rules.banks.get(&to.bank) else {
            return Ok(Transfer::Refused(Refusal::UnknownBank));
        };
        let counterparty = format!("{}:{}", bank.code, to.account);
        let (sender, wallet) = match self.authorise(key, amount, &counterparty).await? {
            Ok(found) => found,
            Err(refusal) => return Ok(Transfer::Refused(refusal)),
        };
        let tier = self.tier_of(&sender);
        if amount > tier.per_transaction {
            return Ok(Transfer::Refused(Refusal::OverLimit));
        }
        let fee = fee(&self.rules.external_fees, amount);
        let held = Held {
            kind: TxKind::ExternalTransfer,
            prefix: "X",
            to: kind::SETTLEMENT,
            amount,
            fee,
            counterparty: &counterparty,
            counterparty_name: &to.name,
            narration: "",
            idempotency_key,
        };
        let reference = match self.hold(&sender, &wallet, &held).await? {
            Ok(reference) => reference,
            Err(done) => return Ok(done),
        };

        let transfer = RailTransfer {
            reference: reference.clone(),
            bank_code: bank.code.clone(),
            account_number: to.account.clone(),
            amount,
            currency: self.settings.currency.clone(),
            narration: format!(
                "From {}",
                first_name_initial(&format!("{} {}", sender.first_name, sender.last_name))
            ),
            account_name: to.name.clone(),
        };
        self.hand_to_rail(transfer, fee, idempotency_key).await
    }

    /// Holds `held.amount` and its fee on `wallet` for a payment that leaves the bank (a
    /// transfer to another bank, a purchase from the biller), once per idempotency key, within
    /// the sender's daily limit, using up the verification that authorised it; its reference,
    /// or the outcome to answer instead.
    pub(super) async fn hold(
        &self,
        sender: &CustomerRow,
        wallet: &AccountRow,
        held: &Held<'_>,
    ) -> anyhow::Result<Result<String, Transfer>> {
        let now = self.now();
        let tier = self.tier_of(sender);
        let reference = new_reference(held.prefix);
        let mut tx = self.begin().await?;
        let to = self.system_for(tx.bank(), held.to, wallet.id).await?;
        let new = NewTransaction {
            reference: &reference,
            idempotency_key: held.idempotency_key,
            kind: held.kind.as_str(),
            state: TxState::Pending.as_str(),
            debit_account: wallet.id,
            credit_account: to,
            amount: held.amount,
            fee: held.fee,
            currency: &self.settings.currency,
            counterparty: held.counterparty,
            counterparty_name: held.counterparty_name,
            origin: &sender.phone,
            origin_name: "",
            narration: held.narration,
            now,
        };
        let Some(_) = tx.bank().insert_transaction(&new).await? else {
            tx.rollback().await?;
            let done = self.repeat(held.idempotency_key).await?;
            return Ok(Err(done.unwrap_or(Transfer::Refused(Refusal::InsufficientFunds))));
        };
        tx.bank().lock_account(wallet.id).await?;
        if tx.bank().debited_since(wallet.id, self.start_of_day()).await? > tier.per_day {
            tx.rollback().await?;
            return Ok(Err(Transfer::Refused(Refusal::DailyLimit)));
        }
        if !tx.bank().shift_balance(wallet.id, 0, held.amount + held.fee).await? {
            tx.rollback().await?;
            return Ok(Err(Transfer::Refused(Refusal::InsufficientFunds)));
        }
        audit_posting(tx.as_mut(), &sender_actor(sender.id), &reference, "hold", held.amount, held.fee, now)
            .await?;
        tx.commit().await?;
        // The PIN (and code) authorised this payment only.
        self.spend_verification(sender.id).await?;
        self.forget_balance(Some(sender.id)).await;
        Ok(Ok(reference))
    }

    /// Gives a held transfer to the rail and settles it when the rail answers at once.
    async fn hand_to_rail(
        self: &Arc<Self>,
        transfer: RailTransfer,
        fee: i64,
        idempotency_key: &str,
    ) -> anyhow::Result<Transfer> {
        let reference = transfer.reference.clone();
        let status = match self.rail.initiate(&transfer).await {
            Ok(status) => status,
            Err(err) => {
                // Unknown: the funds stay held until the rail says (poll, callback, or the
                // worker's reconciliation).
                tracing::warn!(error = %err, %reference, "the rail did not answer; the transfer stays pending");
                RailStatus::Pending
            }
        };
        match status {
            RailStatus::Pending => {
                self.follow_up(Asked::Rail(transfer));
                Ok(Transfer::Pending { reference, fee })
            }
            final_status => {
                self.settle_at_once(&reference, &final_status).await?;
                Ok(self.repeat(idempotency_key).await?.unwrap_or(Transfer::Pending { reference, fee }))
            }
        }
    }

    /// Asks the rail (or the biller) again shortly, so a payment does not wait for the
    /// worker's round.
    pub(super) fn follow_up(self: &Arc<Self>, asked: Asked) {
        let bank = Arc::downgrade(self);
        tokio::spawn(async move {
            let reference = match &asked {
                Asked::Rail(transfer) => transfer.reference.clone(),
                Asked::Biller(reference) => reference.clone(),
            };
            for delay in [1, 5, 30] {
                tokio::time::sleep(Duration::from_secs(delay)).await;
                let Some(bank) = bank.upgrade() else { return };
                let status = match &asked {
                    Asked::Rail(transfer) => bank.rail.status(transfer).await,
                    Asked::Biller(reference) => bank.biller.status(reference).await,
                };
                match status {
                    Ok(RailStatus::Pending) => continue,
                    Ok(status) => {
                        if let Err(err) = bank.settle(&reference, &status).await {
                            tracing::warn!(error = %err, %reference, "could not settle a payment");
                        }
                        return;
                    }
                    Err(err) => tracing::warn!(error = %err, %reference, "the provider's answer is unknown"),
                }
            }
        });
    }
}

/// Who is asked what became of a payment.
pub(super) enum Asked {
    /// The rail, about this transfer.
    Rail(RailTransfer),
    /// The biller, about the purchase with this reference.
    Biller(String),
}

/// A payment to hold before it leaves the bank.
pub(super) struct Held<'a> {
    /// Its kind.
    pub kind: TxKind,
    /// Its reference's first letter.
    pub prefix: &'static str,
    /// The system account it goes to when posted (its kind).
    pub to: &'static str,
    /// Minor units.
    pub amount: i64,
    /// Minor units.
    pub fee: i64,
    /// Where it goes, as the ledger names it.
    pub counterparty: &'a str,
    /// Whose it is there.
    pub counterparty_name: &'a str,
    /// What the transaction carries for its provider.
    pub narration: &'a str,
    /// Once per key.
    pub idempotency_key: &'a str,
}

pub(super) fn outcome_of(row: &TransactionRow) -> Transfer {
    let reference = row.reference.clone();
    match TxState::parse(&row.state) {
        Some(TxState::Posted) => Transfer::Posted { reference, fee: row.fee },
        Some(TxState::Pending) => Transfer::Pending { reference, fee: row.fee },
        Some(TxState::Failed | TxState::Reversed) | None => Transfer::Failed { reference },
    }
}
