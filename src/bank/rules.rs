//! The bank's rules, read from a file (`config/bank.yaml`, or `BANK_RULES`): KYC tiers and
//! their limits, fee bands, security settings, registration settings and reachable banks.
//! Configuration, not code: a bank changes a limit without a release.

use super::care::rules::CareRules;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use regex::Regex;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;

pub use super::bands::FeeBand;
use super::bands::amount;
use super::loans::products::LoanRules;

/// The rules teller ships with: `config/bank.yaml`.
pub const DEFAULT_RULES: &str = include_str!("../../config/bank.yaml");

/// What one KYC tier may do (minor units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    /// Largest single transfer.
    pub per_transaction: i64,
    /// Largest total sent per calendar day in `BANK_TIMEZONE`, fees included.
    pub per_day: i64,
    /// Largest balance the wallet may reach through a transfer in; `None`: no cap.
    pub max_balance: Option<i64>,
}

/// Security settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Security {
    /// Wrong PINs in a row before the lock.
    pub pin_attempts: i32,
    /// How long each lock in a row lasts: the first, the second, …; the last repeats.
    pub lockouts: Vec<chrono::Duration>,
    /// The lock in a row (counting from 1) after which money actions stay locked until an
    /// operator unlocks them; `None`: locks always run out.
    pub operator_unlock_after: Option<u32>,
    /// How long a verified PIN or code authorises the action after it.
    pub verified_for: Duration,
    /// Transfers above this (minor units) need a one-time code.
    pub step_up_above: i64,
    /// How long a one-time code lives.
    pub otp_ttl: Duration,
    /// Guesses per one-time code.
    pub otp_attempts: i64,
    /// Wrong answers (date of birth and identity number) a forgotten PIN's reset takes in
    /// [`PIN_RESET_WINDOW`], before only a person can help.
    pub pin_reset_attempts: i32,
    /// What a customer may send for a while after resetting their PIN; `None`: as before.
    pub after_pin_reset: Option<AfterReset>,
}

/// How long a forgotten PIN's reset counts wrong answers for, from the first.
pub const PIN_RESET_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// The smaller limits that follow a reset PIN: whoever reset it proved who they are with what
/// a thief holding the phone may have found too, so a day's loss stays small meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterReset {
    /// How long after the reset.
    pub lasts: chrono::Duration,
    /// The most sent (fees included) a day, and in one transfer, meanwhile (minor units).
    pub per_day: i64,
}

impl Security {
    /// How long the `n`-th lock in a row lasts (counting from 1).
    pub fn lockout_for(&self, n: u32) -> chrono::Duration {
        let index = usize::try_from(n.saturating_sub(1)).unwrap_or(usize::MAX);
        self.lockouts.get(index).or(self.lockouts.last()).copied().unwrap_or(chrono::Duration::minutes(30))
    }

    /// Whether the `n`-th lock in a row waits for an operator instead of running out.
    pub fn needs_operator(&self, n: u32) -> bool {
        self.operator_unlock_after.is_some_and(|after| n >= after)
    }
}

/// The monthly maintenance fee and when it is waived.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MonthlyFee {
    /// Minor units; 0 charges nothing.
    pub amount: i64,
    /// Wallets opened within this many days before the 1st pay nothing that month.
    pub new_account_days: u32,
    /// Wallets with less available than this (minor units) pay nothing that month.
    pub balance_below: i64,
}

/// Airtime and data bought from the wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillRules {
    /// The smallest purchase (minor units).
    pub min: i64,
    /// The largest purchase (minor units); the tier's per-transfer limit applies too.
    pub max: i64,
    /// Fee bands, by the amount bought.
    pub fees: Vec<FeeBand>,
}

impl Default for BillRules {
    fn default() -> BillRules {
        BillRules { min: 5_000, max: 5_000_000, fees: Vec::new() }
    }
}

/// A bank reachable by external transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankInfo {
    /// Its code on the payment rail.
    pub code: String,
    /// Its name as customers know it.
    pub name: String,
}

/// The rules.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Tiers by number.
    pub tiers: BTreeMap<i32, Tier>,
    /// Fee bands for transfers between the bank's customers.
    pub internal_fees: Vec<FeeBand>,
    /// Fee bands for transfers to other banks.
    pub external_fees: Vec<FeeBand>,
    /// Security settings.
    pub security: Security,
    /// The monthly maintenance fee.
    pub monthly_fee: MonthlyFee,
    /// Youngest age that may register.
    pub minimum_age: u32,
    /// What a national identity number looks like (the whole of it).
    pub id_number_pattern: Regex,
    /// Reachable banks by option id.
    pub banks: BTreeMap<String, BankInfo>,
    /// Airtime and data: amounts and fees.
    pub bills: BillRules,
    /// Loan products and rules: the shipped `config/loans.yaml` unless replaced
    /// (`LOAN_PRODUCTS`).
    pub loans: LoanRules,
    /// Customer care's business hours and targets: the shipped `config/care.yaml` unless
    /// replaced (`CARE_RULES`).
    pub care: CareRules,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    tiers: BTreeMap<i32, TierFile>,
    fees: FeesFile,
    #[serde(default)]
    monthly_fee: Option<MonthlyFeeFile>,
    security: SecurityFile,
    registration: RegistrationFile,
    banks: BTreeMap<String, BankFile>,
    #[serde(default)]
    bills: Option<BillsFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BillsFile {
    min: String,
    max: String,
    #[serde(default)]
    fees: Vec<BandFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TierFile {
    per_transaction: String,
    per_day: String,
    max_balance: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeesFile {
    internal: Vec<BandFile>,
    external: Vec<BandFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BandFile {
    up_to: Option<String>,
    flat: Option<String>,
    percent: Option<String>,
    cap: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MonthlyFeeFile {
    amount: String,
    #[serde(default)]
    waive: Option<WaiveFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiveFile {
    #[serde(default)]
    new_account_days: u32,
    balance_below: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecurityFile {
    pin_attempts: u32,
    lockout_minutes: LockoutMinutes,
    #[serde(default)]
    operator_unlock_after: Option<u32>,
    verified_minutes: u32,
    step_up_above: String,
    otp_ttl_seconds: u32,
    otp_attempts: u32,
    #[serde(default = "three")]
    pin_reset_attempts: u32,
    #[serde(default)]
    after_pin_reset: Option<AfterResetFile>,
}

fn three() -> u32 {
    3
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AfterResetFile {
    hours: u32,
    per_day: String,
}

/// One lock length for every lock (`30`), or one per lock in a row (`[30, 120, 1440]`).
struct LockoutMinutes(Vec<u32>);

impl<'de> Deserialize<'de> for LockoutMinutes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Minutes;
        impl<'de> serde::de::Visitor<'de> for Minutes {
            type Value = LockoutMinutes;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number of minutes, or a list of them")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Self::Value, E> {
                u32::try_from(n).map(|n| LockoutMinutes(vec![n])).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Self::Value, E> {
                u32::try_from(n).map(|n| LockoutMinutes(vec![n])).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                text.trim().parse().map(|n| LockoutMinutes(vec![n])).map_err(E::custom)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut minutes = Vec::new();
                while let Some(LockoutMinutes(one)) = seq.next_element::<LockoutMinutes>()? {
                    minutes.extend(one);
                }
                Ok(LockoutMinutes(minutes))
            }
        }
        deserializer.deserialize_any(Minutes)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrationFile {
    minimum_age: u32,
    id_number_pattern: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BankFile {
    code: String,
    name: String,
}

impl Rules {
    /// Reads the rules in `path`, or the shipped ones when `path` is `None`.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Rules> {
        match path {
            None => Rules::parse(DEFAULT_RULES).context("the built-in bank rules are invalid"),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the bank rules in {}", path.display()))?;
                Rules::parse(&text)
                    .with_context(|| format!("the bank rules in {} are invalid", path.display()))
            }
        }
    }

    /// Parses and checks rules.
    pub fn parse(text: &str) -> anyhow::Result<Rules> {
        let file: RulesFile = marked_yaml::from_yaml(0, text).map_err(|e| anyhow::anyhow!("{e}"))?;
        let pattern = &file.registration.id_number_pattern;
        let id_number_pattern = Regex::new(&format!("^(?:{pattern})$"))
            .with_context(|| format!("id_number_pattern {pattern:?}"))?;
        Ok(Rules {
            tiers: tiers(file.tiers)?,
            monthly_fee: file.monthly_fee.map(monthly_fee).transpose()?.unwrap_or_default(),
            internal_fees: bands("internal", file.fees.internal)?,
            external_fees: bands("external", file.fees.external)?,
            security: security(file.security)?,
            minimum_age: file.registration.minimum_age,
            id_number_pattern,
            banks: file
                .banks
                .into_iter()
                .map(|(id, b)| (id, BankInfo { code: b.code, name: b.name }))
                .collect(),
            bills: file.bills.map(bills).transpose()?.unwrap_or_default(),
            loans: LoanRules::load(None)?,
            care: CareRules::load(None)?,
        })
    }

    /// The limits of `tier` (tier 1's when the tier is not configured any more).
    pub fn tier(&self, tier: i32) -> &Tier {
        self.tiers.get(&tier).or_else(|| self.tiers.values().next()).unwrap_or(&FALLBACK_TIER)
    }
}

static FALLBACK_TIER: Tier = Tier { per_transaction: 0, per_day: 0, max_balance: Some(0) };

/// The fee for sending `amount` under `bands`: flat plus percent (rounded to the minor unit,
/// half away from zero), capped.
pub fn fee(bands: &[FeeBand], amount: i64) -> i64 {
    let Some(band) = bands.iter().find(|b| b.up_to.is_none_or(|u| amount <= u)) else { return 0 };
    let percent = (Decimal::from(amount) * band.percent / Decimal::from(100))
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
        .unwrap_or(i64::MAX);
    let fee = band.flat.saturating_add(percent);
    band.cap.map_or(fee, |cap| fee.min(cap))
}

fn bills(file: BillsFile) -> anyhow::Result<BillRules> {
    let min = amount("bills.min", &file.min)?;
    let max = amount("bills.max", &file.max)?;
    if min <= 0 || min > max {
        bail!("bills: min must be above zero and not above max");
    }
    Ok(BillRules { min, max, fees: bands("bills", file.fees)? })
}

fn tiers(file: BTreeMap<i32, TierFile>) -> anyhow::Result<BTreeMap<i32, Tier>> {
    let mut tiers = BTreeMap::new();
    for (n, t) in file {
        let tier = Tier {
            per_transaction: amount(&format!("tier {n} per_transaction"), &t.per_transaction)?,
            per_day: amount(&format!("tier {n} per_day"), &t.per_day)?,
            max_balance: t.max_balance.map(|m| amount(&format!("tier {n} max_balance"), &m)).transpose()?,
        };
        if tier.per_transaction > tier.per_day {
            bail!("tier {n}: per_transaction is above per_day");
        }
        tiers.insert(n, tier);
    }
    if !tiers.contains_key(&1) {
        bail!("tiers: tier 1 (what registration gives) is missing");
    }
    Ok(tiers)
}

fn bands(what: &str, bands: Vec<BandFile>) -> anyhow::Result<Vec<FeeBand>> {
    let mut out: Vec<FeeBand> = Vec::new();
    for (i, b) in bands.into_iter().enumerate() {
        let at = format!("fees.{what}[{i}]");
        let percent = match b.percent {
            Some(p) => {
                let p: Decimal = p.trim().parse().with_context(|| format!("{at}: percent {p:?}"))?;
                if p.is_sign_negative() || p > Decimal::from(100) {
                    bail!("{at}: percent must be from 0 to 100");
                }
                p
            }
            None => Decimal::ZERO,
        };
        let band = FeeBand {
            up_to: b.up_to.map(|u| amount(&at, &u)).transpose()?,
            flat: b.flat.map(|f| amount(&at, &f)).transpose()?.unwrap_or(0),
            percent,
            cap: b.cap.map(|c| amount(&at, &c)).transpose()?,
        };
        if let (Some(last), Some(up_to)) = (out.last().and_then(|l| l.up_to), band.up_to)
            && up_to <= last
        {
            bail!("{at}: bands must rise (up_to {up_to} after {last})");
        }
        if out.last().is_some_and(|l| l.up_to.is_none()) {
            bail!("{at}: a band after the one without up_to is never used");
        }
        out.push(band);
    }
    if out.last().is_none_or(|l| l.up_to.is_some()) {
        bail!("fees.{what}: the last band must have no up_to, so every amount has a fee");
    }
    Ok(out)
}

fn security(s: SecurityFile) -> anyhow::Result<Security> {
    if s.pin_attempts == 0 || s.otp_attempts == 0 {
        bail!("security: attempts must be at least 1");
    }
    let lockouts: Vec<chrono::Duration> =
        s.lockout_minutes.0.into_iter().map(|m| chrono::Duration::minutes(i64::from(m))).collect();
    if lockouts.is_empty() || lockouts.iter().any(|l| *l <= chrono::Duration::zero()) {
        bail!("security.lockout_minutes: give one or more lock lengths, each at least 1 minute");
    }
    if s.operator_unlock_after == Some(0) {
        bail!("security.operator_unlock_after: at least 1 (the first lock), or leave it out");
    }
    if s.pin_reset_attempts == 0 {
        bail!("security.pin_reset_attempts: at least 1");
    }
    let after_pin_reset = match s.after_pin_reset {
        Some(AfterResetFile { hours: 0, .. }) => bail!("security.after_pin_reset.hours: at least 1"),
        Some(a) => Some(AfterReset {
            lasts: chrono::Duration::hours(i64::from(a.hours)),
            per_day: amount("security.after_pin_reset.per_day", &a.per_day)?,
        }),
        None => None,
    };
    Ok(Security {
        pin_attempts: i32::try_from(s.pin_attempts).context("pin_attempts")?,
        lockouts,
        operator_unlock_after: s.operator_unlock_after,
        verified_for: Duration::from_secs(u64::from(s.verified_minutes.max(1)) * 60),
        step_up_above: amount("security.step_up_above", &s.step_up_above)?,
        otp_ttl: Duration::from_secs(u64::from(s.otp_ttl_seconds.max(1))),
        otp_attempts: i64::from(s.otp_attempts),
        pin_reset_attempts: i32::try_from(s.pin_reset_attempts).context("pin_reset_attempts")?,
        after_pin_reset,
    })
}

fn monthly_fee(m: MonthlyFeeFile) -> anyhow::Result<MonthlyFee> {
    let waive = m.waive.unwrap_or(WaiveFile { new_account_days: 0, balance_below: None });
    Ok(MonthlyFee {
        amount: amount("monthly_fee.amount", &m.amount)?,
        new_account_days: waive.new_account_days,
        balance_below: waive
            .balance_below
            .map(|b| amount("monthly_fee.waive.balance_below", &b))
            .transpose()?
            .unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINOR: i64 = crate::money::MINOR_PER_MAJOR;

    #[test]
    fn the_shipped_rules_parse() -> anyhow::Result<()> {
        let rules = Rules::parse(DEFAULT_RULES)?;
        assert_eq!(rules.tier(1).per_transaction, 50_000 * MINOR);
        assert_eq!(rules.security.pin_attempts, 3);
        assert_eq!(
            rules.security.lockouts,
            [30, 120, 1440].map(chrono::Duration::minutes),
            "each lock in a row lasts longer"
        );
        assert_eq!(rules.security.operator_unlock_after, Some(4));
        assert_eq!(rules.security.lockout_for(1), chrono::Duration::minutes(30));
        assert_eq!(rules.security.lockout_for(3), chrono::Duration::minutes(1440));
        assert_eq!(rules.security.lockout_for(9), chrono::Duration::minutes(1440), "the last repeats");
        assert!(!rules.security.needs_operator(3) && rules.security.needs_operator(4));
        assert_eq!(rules.security.pin_reset_attempts, 3);
        assert_eq!(
            rules.security.after_pin_reset,
            Some(AfterReset { lasts: chrono::Duration::hours(24), per_day: 20_000 * MINOR })
        );
        assert!(rules.id_number_pattern.is_match("12345678901"));
        assert!(!rules.id_number_pattern.is_match("1234567890"));
        assert_eq!(fee(&rules.external_fees, 5_000 * MINOR), 1075);
        assert_eq!(fee(&rules.external_fees, 5_001 * MINOR), 2688);
        assert_eq!(fee(&rules.external_fees, 1_000_000 * MINOR), 5375);
        assert_eq!(fee(&rules.internal_fees, 1), 10 * MINOR);
        assert_eq!(
            rules.monthly_fee,
            MonthlyFee { amount: 50 * MINOR, new_account_days: 30, balance_below: 1_000 * MINOR }
        );
        let without = DEFAULT_RULES.split("monthly_fee:").next().unwrap_or_default().to_owned()
            + "security:"
            + DEFAULT_RULES.split("\nsecurity:").nth(1).unwrap_or_default();
        assert_eq!(Rules::parse(&without)?.monthly_fee.amount, 0, "no monthly_fee section: no fee");
        Ok(())
    }

    #[test]
    fn percentages_round_half_away_from_zero_and_cap() -> anyhow::Result<()> {
        let band = FeeBand { up_to: None, flat: 0, percent: "1.5".parse()?, cap: Some(2_000) };
        // 1.5% of 1.00 is 1.5 minor units: 2.
        assert_eq!(fee(std::slice::from_ref(&band), 100), 2);
        // 1.5% of 0.33 is 0.495: 0.
        assert_eq!(fee(std::slice::from_ref(&band), 33), 0);
        assert_eq!(fee(&[band], 10_000_000), 2_000);
        Ok(())
    }

    #[test]
    fn typos_and_nonsense_are_refused() {
        let broken = [
            DEFAULT_RULES.replace("pin_attempts: 3", "pin_atempts: 3"),
            DEFAULT_RULES.replace("per_day: \"20,000\" }", "per_day: \"-5\" }"),
            DEFAULT_RULES.replace("after_pin_reset: { hours: 24", "after_pin_reset: { hours: 0"),
            DEFAULT_RULES.replace("per_day: \"200,000\"", "per_day: \"nan\""),
            DEFAULT_RULES.replace("- { flat: \"53.75\" }", "- { up_to: \"60,000\", flat: \"53.75\" }"),
            DEFAULT_RULES.replace("[0-9]{11}", "[0-9"),
            DEFAULT_RULES.replace("  1: {", "  4: {"),
            DEFAULT_RULES.replace("amount: \"50\"", "amount: \"-5\""),
            DEFAULT_RULES.replace("new_account_days", "new_acount_days"),
        ];
        for text in broken {
            assert_ne!(text, DEFAULT_RULES, "a replacement found nothing to replace");
            assert!(Rules::parse(&text).is_err(), "accepted:\n{text}");
        }
    }
}
