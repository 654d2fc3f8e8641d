//! Balances (cached briefly, invalidated by posting), mini statements and recent payees.

use crate::bank::ledger::TxState;
use std::time::Duration;

use chrono::Datelike;

use crate::flows::template::first_name_initial;

use crate::money::format_money;
use crate::phone::mask as mask_phone;
use crate::store::TransactionRow;

use super::{Balance, Bank, Refusal};

impl Bank {
    /// The wallet's balances and number, cached briefly (every posting drops the cache).
    pub async fn balance(&self, key: &str) -> anyhow::Result<Result<(Balance, String), Refusal>> {
        let Some(customer) = self.customer(key).await? else { return Ok(Err(Refusal::NotRegistered)) };
        let cache = Self::kv_key("balance", customer.id);
        if let Some(bytes) = self.kv.get(&cache).await?
            && let Ok(cached) = serde_json::from_slice::<(Balance, String)>(&bytes)
        {
            return Ok(Ok(cached));
        }
        let mut tx = self.begin().await?;
        let wallet = self.wallet(tx.bank(), customer.id).await?;
        tx.rollback().await?;
        let read = (Balance { available: wallet.available(), ledger: wallet.posted }, wallet.number);
        self.kv.set(&cache, &serde_json::to_vec(&read)?, BALANCE_CACHE).await?;
        Ok(Ok(read))
    }

    pub(super) async fn forget_balance(&self, customer: Option<i64>) {
        if let Some(id) = customer
            && let Err(err) = self.kv.delete(&Self::kv_key("balance", id)).await
        {
            tracing::warn!(error = %err, "a cached balance could not be dropped; it expires on its own");
        }
    }

    /// The newest `limit` transactions, one line each, counterparties masked.
    pub async fn statement(&self, key: &str, limit: i64) -> anyhow::Result<Result<Vec<String>, Refusal>> {
        let Some((_, wallet, mut tx)) = self.with_wallet(key).await? else {
            return Ok(Err(Refusal::NotRegistered));
        };
        let rows = tx.bank().recent_transactions(wallet.id, limit).await?;
        tx.rollback().await?;
        Ok(Ok(rows.iter().map(|row| self.statement_line(row, wallet.id)).collect()))
    }

    /// The people `key` sent money to within teller lately, most recent first: (phone number,
    /// name). Empty for someone not registered.
    pub async fn recent_payees(&self, key: &str) -> anyhow::Result<Vec<(String, String)>> {
        let Some((_, wallet, mut tx)) = self.with_wallet(key).await? else { return Ok(Vec::new()) };
        let payees = tx.bank().recent_payees(wallet.id, RECENT_PAYEES).await?;
        tx.rollback().await?;
        Ok(payees)
    }

    pub(super) fn statement_line(&self, row: &TransactionRow, wallet: i64) -> String {
        let date = row.created_at.with_timezone(&self.settings.timezone);
        let date = format!("{} {}", date.day(), MONTHS[date.month0() as usize]);
        let out = row.debit_account == wallet;
        let amount = if out { row.amount + row.fee } else { row.amount };
        let sign = if out { "−" } else { "+" };
        let party = if out {
            self.party(&row.counterparty, &row.counterparty_name)
        } else {
            self.party(&row.origin, &row.origin_name)
        };
        let state = match TxState::parse(&row.state) {
            Some(TxState::Pending) => " ⏳",
            Some(TxState::Failed | TxState::Reversed) => " ✖",
            Some(TxState::Posted) | None => "",
        };
        format!("{date} · {sign}{} · {party}{state}", format_money(amount, self.currency()))
    }

    pub(super) fn party(&self, who: &str, name: &str) -> String {
        // A phone line airtime or data went to: "MTN airtime (0803****567)".
        if let Some((network, line)) = who.split_once(':')
            && super::biller::Network::parse(network).is_some()
        {
            return if name.is_empty() { mask_phone(line) } else { format!("{name} ({})", mask_phone(line)) };
        }
        let name = if name.is_empty() { String::new() } else { first_name_initial(name) };
        let masked = match who.split_once(':') {
            Some((bank, account)) => {
                let bank =
                    self.rules.banks.values().find(|b| b.code == bank).map_or(bank, |b| b.name.as_str());
                let tail: String =
                    account.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
                format!("{bank} ****{tail}")
            }
            None if who.is_empty() => String::new(),
            None => mask_phone(who),
        };
        match (name.is_empty(), masked.is_empty()) {
            (true, _) => masked,
            (false, true) => name,
            (false, false) => format!("{name} ({masked})"),
        }
    }
}

pub(super) const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// How long a balance read is cached (posting invalidates it sooner).
pub(super) const BALANCE_CACHE: Duration = Duration::from_secs(30);

/// How many recent payees free text may name ("send 2k to Ada").
pub(super) const RECENT_PAYEES: i64 = 20;
