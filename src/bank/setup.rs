//! The bank from configuration: its rules, its rail (Paystack with `PAYMENT_PROVIDER=paystack`,
//! which also opens the accounts customers fund their wallets through; else the generic HTTP
//! rail at `PAYMENT_RAIL_URL`; else the simulated one) and its one-time-code key, with its
//! system accounts opened.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use super::biller::HttpBiller;
use super::rail::{HttpRail, Rail, SimulatedRail};
use super::rules::Rules;
use super::{Bank, BankSettings};
use crate::clock::Clock;
use crate::config::Config;
use crate::kv::Kv;
use crate::store::SqlStore;

/// The bank over the stores, with its rules, rail and keys from `config`.
pub async fn open(
    config: &Config,
    store: &Arc<dyn SqlStore>,
    kv: &Arc<dyn Kv>,
    outbox_wake: &Arc<crate::wake::Wake>,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<Bank> {
    let mut rules = Rules::load(config.bank.rules.as_deref())?;
    if let Some(path) = &config.bank.loans {
        rules.loans = super::loans::products::LoanRules::load(Some(path))?;
    }
    if let Some(path) = &config.bank.care {
        rules.care = super::care::rules::CareRules::load(Some(path))?;
    }
    let timezone = config.bank.timezone.parse().map_err(|e| anyhow::anyhow!("BANK_TIMEZONE: {e}"))?;
    let settings = BankSettings {
        currency: config.bank.currency.clone(),
        timezone,
        otp_template: config.bank.otp_template.as_ref().map(|t| (t.name.clone(), t.language.clone())),
        issuer: config.bank.name.clone(),
    };
    let paystack = match &config.paystack {
        Some(paystack) => Some(crate::bank::paystack::Paystack::new(paystack, store.clone(), clock.clone())?),
        None => None,
    };
    let rail: Arc<dyn Rail> = match (&paystack, &config.payment_rail_url) {
        (Some(paystack), _) => paystack.clone(),
        (None, Some(url)) => {
            Arc::new(HttpRail::new(url.clone(), config.payment_rail_secret.clone(), Duration::from_secs(10))?)
        }
        (None, None) => Arc::new(SimulatedRail),
    };
    let code_key = match &config.bank.otp_key {
        Some(key) => secrecy::ExposeSecret::expose_secret(key).as_bytes().to_vec(),
        None => {
            if config.kv.redis_url.is_some() {
                tracing::warn!("OTP_KEY is not set: one-time codes sent by one instance fail on another");
            }
            super::secrets::random_bytes::<32>().to_vec()
        }
    };
    let mut bank = Bank::new(
        store.clone(),
        kv.clone(),
        rules,
        settings,
        clock.clone(),
        rail,
        code_key,
        outbox_wake.clone(),
    );
    if let Some(paystack) = paystack {
        bank = bank.with_funding(paystack);
    }
    if let Some(url) = &config.biller_url {
        let secret = config.biller_secret.clone().context("BILLER_SECRET is required with BILLER_URL")?;
        bank = bank.with_biller(Arc::new(HttpBiller::new(url.clone(), secret, Duration::from_secs(10))?));
    }
    bank.open().await.context("cannot open the bank's system accounts")?;
    Ok(bank)
}
