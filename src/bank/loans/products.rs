//! The loan file (`config/loans.yaml`, or `LOAN_PRODUCTS`): products, eligibility rules, offers
//! and reminders. Configuration, not code: a bank changes a price or a limit without a release.

use std::path::Path;

use anyhow::{Context, bail};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::bank::bands::{FeeBand, amount};

/// The loan file teller ships with: `config/loans.yaml`.
pub const DEFAULT_LOANS: &str = include_str!("../../../config/loans.yaml");

/// The longest tenor a product may offer, in installments.
pub const MAX_TENOR: u32 = 24;

/// How often installments fall due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Every {
    /// Monthly, on the day of the month the loan was paid out.
    Month,
    /// Weekly, on the weekday it was paid out.
    Week,
}

impl Every {
    /// Periods in a year, for the annualised rate.
    pub fn per_year(self) -> u32 {
        match self {
            Every::Month => 12,
            Every::Week => 52,
        }
    }

    /// As stored and given to flows: `month` or `week`.
    pub fn code(self) -> &'static str {
        match self {
            Every::Month => "month",
            Every::Week => "week",
        }
    }
}

/// One loan product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// Stable id (stored on every loan).
    pub id: String,
    /// As customers read it.
    pub name: String,
    /// The KYC tiers that borrow under it.
    pub tiers: Vec<i32>,
    /// Smallest principal, minor units.
    pub min: i64,
    /// Largest principal, minor units.
    pub max: i64,
    /// How often an installment falls due.
    pub every: Every,
    /// The numbers of installments a customer may choose, rising.
    pub tenors: Vec<u32>,
    /// Charged once on the principal, repaid with the installments.
    pub fee: FeeBand,
    /// Interest per period, percent of the principal.
    pub interest_percent: Decimal,
    /// Added once to an installment unpaid after the grace days (percent of the installment).
    pub late_fee: FeeBand,
    /// Days after a due date before an installment is overdue.
    pub grace_days: u32,
}

impl Product {
    /// The tenors as a customer reads them: "1, 2 or 3".
    pub fn tenors_text(&self) -> String {
        let all: Vec<String> = self.tenors.iter().map(u32::to_string).collect();
        match all.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

/// Who may borrow, and how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligibility {
    /// An account younger than this (days) cannot borrow.
    pub minimum_account_age_days: u32,
    /// The window of income the limit is based on, in days.
    pub income_days: u32,
    /// The limit as a percentage of an average month's income.
    pub limit_percent: Decimal,
    /// Limits are rounded down to a multiple of this (minor units).
    pub limit_step: i64,
}

/// How the worker reminds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminders {
    /// Days before a due date (0: the day itself), falling.
    pub days_before: Vec<u32>,
    /// Reminders and collections go out from this hour (bank time).
    pub from_hour: u32,
    /// The approved template (name, language) for customers outside the 24-hour window.
    pub template: Option<(String, String)>,
}

/// The whole loan file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanRules {
    /// Products, in file order.
    pub products: Vec<Product>,
    /// Eligibility rules.
    pub eligibility: Eligibility,
    /// How long an offer stands.
    pub offer_minutes: u32,
    /// Reminders.
    pub reminders: Reminders,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    products: Vec<ProductFile>,
    eligibility: EligibilityFile,
    offer_minutes: u32,
    reminders: RemindersFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductFile {
    id: String,
    name: String,
    tiers: Vec<i32>,
    amount: RangeFile,
    every: Every,
    tenors: Vec<u32>,
    #[serde(default)]
    fee: Option<ChargeFile>,
    interest_percent: String,
    #[serde(default)]
    late_fee: Option<ChargeFile>,
    #[serde(default)]
    grace_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeFile {
    min: String,
    max: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChargeFile {
    flat: Option<String>,
    percent: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EligibilityFile {
    minimum_account_age_days: u32,
    income_days: u32,
    limit_percent_of_monthly_income: String,
    limit_step: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemindersFile {
    days_before: Vec<u32>,
    from_hour: u32,
    #[serde(default)]
    template: Option<TemplateFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    name: String,
    language: String,
}

fn percent(what: &str, text: &str) -> anyhow::Result<Decimal> {
    let p: Decimal = text.trim().parse().with_context(|| format!("{what}: {text:?} is not a percentage"))?;
    if p.is_sign_negative() || p > Decimal::from(100) {
        bail!("{what}: a percentage is from 0 to 100, not {text}");
    }
    Ok(p)
}

fn charge(what: &str, file: Option<ChargeFile>) -> anyhow::Result<FeeBand> {
    let file = file.unwrap_or(ChargeFile { flat: None, percent: None });
    Ok(FeeBand {
        up_to: None,
        flat: match file.flat {
            Some(flat) if flat.trim() == "0" => 0,
            Some(flat) => amount(&format!("{what}.flat"), &flat)?,
            None => 0,
        },
        percent: file
            .percent
            .map(|p| percent(&format!("{what}.percent"), &p))
            .transpose()?
            .unwrap_or_default(),
        cap: None,
    })
}

fn valid_id(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl LoanRules {
    /// Reads the loan file at `path`, or the shipped one when `path` is `None`.
    pub fn load(path: Option<&Path>) -> anyhow::Result<LoanRules> {
        match path {
            None => LoanRules::parse(DEFAULT_LOANS).context("the built-in loan products are invalid"),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the loan products in {}", path.display()))?;
                LoanRules::parse(&text)
                    .with_context(|| format!("the loan products in {} are invalid", path.display()))
            }
        }
    }

    /// Parses and checks a loan file.
    pub fn parse(text: &str) -> anyhow::Result<LoanRules> {
        let file: File = marked_yaml::from_yaml(0, text).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut products: Vec<Product> = Vec::new();
        for p in file.products {
            let product = product(p, &products)?;
            products.push(product);
        }
        if file.offer_minutes == 0 || file.offer_minutes > 24 * 60 {
            bail!("offer_minutes: from 1 to 1440");
        }
        Ok(LoanRules {
            products,
            eligibility: eligibility(file.eligibility)?,
            offer_minutes: file.offer_minutes,
            reminders: reminders(file.reminders)?,
        })
    }

    /// The product customers at `tier` borrow under, if any.
    pub fn product_for(&self, tier: i32) -> Option<&Product> {
        self.products.iter().find(|p| p.tiers.contains(&tier))
    }

    /// The product `id`.
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }
}

/// One product, checked against the ones before it.
fn product(p: ProductFile, before: &[Product]) -> anyhow::Result<Product> {
    let at = format!("products.{}", p.id);
    if !valid_id(&p.id) {
        bail!("{at}: an id is lowercase letters, digits and _, starting with a letter");
    }
    if before.iter().any(|q| q.id == p.id) {
        bail!("{at}: two products have this id");
    }
    if p.name.trim().is_empty() || p.name.chars().count() > 40 {
        bail!("{at}.name: 1 to 40 characters");
    }
    if p.tiers.is_empty() {
        bail!("{at}.tiers: at least one KYC tier");
    }
    for tier in &p.tiers {
        if let Some(other) = before.iter().find(|q| q.tiers.contains(tier)) {
            bail!("{at}.tiers: tier {tier} is already under product {}; a tier has one product", other.id);
        }
    }
    if p.tiers.iter().enumerate().any(|(i, t)| p.tiers[..i].contains(t)) {
        bail!("{at}.tiers: list each tier once");
    }
    let (min, max) = (
        amount(&format!("{at}.amount.min"), &p.amount.min)?,
        amount(&format!("{at}.amount.max"), &p.amount.max)?,
    );
    if min > max {
        bail!("{at}.amount: min is above max");
    }
    if p.tenors.is_empty() || p.tenors.iter().any(|t| *t == 0 || *t > MAX_TENOR) {
        bail!("{at}.tenors: at least one, each from 1 to {MAX_TENOR} installments");
    }
    if p.tenors.windows(2).any(|w| w[0] >= w[1]) {
        bail!("{at}.tenors: list them rising, each once");
    }
    if p.grace_days > 60 {
        bail!("{at}.grace_days: at most 60");
    }
    Ok(Product {
        name: p.name.trim().to_owned(),
        tiers: p.tiers,
        min,
        max,
        every: p.every,
        tenors: p.tenors,
        fee: charge(&format!("{at}.fee"), p.fee)?,
        interest_percent: percent(&format!("{at}.interest_percent"), &p.interest_percent)?,
        late_fee: charge(&format!("{at}.late_fee"), p.late_fee)?,
        grace_days: p.grace_days,
        id: p.id,
    })
}

fn eligibility(e: EligibilityFile) -> anyhow::Result<Eligibility> {
    if e.income_days == 0 || e.income_days > 366 {
        bail!("eligibility.income_days: from 1 to 366");
    }
    Ok(Eligibility {
        minimum_account_age_days: e.minimum_account_age_days,
        income_days: e.income_days,
        limit_percent: percent(
            "eligibility.limit_percent_of_monthly_income",
            &e.limit_percent_of_monthly_income,
        )?,
        limit_step: amount("eligibility.limit_step", &e.limit_step)?,
    })
}

fn reminders(r: RemindersFile) -> anyhow::Result<Reminders> {
    if r.days_before.iter().any(|d| *d > 30) {
        bail!("reminders.days_before: each from 0 to 30");
    }
    if r.from_hour > 23 {
        bail!("reminders.from_hour: from 0 to 23");
    }
    let mut days_before = r.days_before;
    days_before.sort_unstable_by(|a, b| b.cmp(a));
    days_before.dedup();
    let template = match r.template {
        Some(t) => {
            crate::whatsapp::outbound::Template::new(t.name.as_str(), t.language.as_str(), vec![])
                .map_err(|e| anyhow::anyhow!("reminders.template: {e}"))?;
            Some((t.name, t.language))
        }
        None => None,
    };
    Ok(Reminders { days_before, from_hour: r.from_hour, template })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_loan_file_parses() -> anyhow::Result<()> {
        let rules = LoanRules::parse(DEFAULT_LOANS)?;
        let starter = rules.product_for(1).context("tier 1 borrows")?;
        assert_eq!((starter.id.as_str(), starter.min, starter.max), ("starter", 100_000, 2_000_000));
        assert_eq!(starter.tenors_text(), "1, 2 or 3");
        assert_eq!(rules.product_for(3).map(|p| p.id.as_str()), Some("plus"));
        assert_eq!(rules.reminders.days_before, [3, 0]);
        assert_eq!(rules.eligibility.limit_step, 50_000);
        Ok(())
    }

    #[test]
    fn typos_and_nonsense_are_refused() {
        let broken = [
            DEFAULT_LOANS.replace("grace_days: 3", "grace_dayz: 3"),
            DEFAULT_LOANS.replace("tiers: [2, 3]", "tiers: [1, 3]"),
            DEFAULT_LOANS.replace("min: \"1,000\"", "min: \"nan\""),
            DEFAULT_LOANS.replace("min: \"1,000\"", "min: \"50,000\""),
            DEFAULT_LOANS.replace("tenors: [1, 2, 3]", "tenors: [3, 2]"),
            DEFAULT_LOANS.replace("tenors: [1, 2, 3]", "tenors: [0]"),
            DEFAULT_LOANS.replace("interest_percent: \"4\"", "interest_percent: \"-4\""),
            DEFAULT_LOANS.replace("every: month", "every: fortnight"),
            DEFAULT_LOANS.replace("id: plus", "id: Plus"),
            DEFAULT_LOANS.replace("name: loan_reminder", "name: Loan Reminder"),
            DEFAULT_LOANS.replace("from_hour: 8", "from_hour: 24"),
        ];
        for text in broken {
            assert!(LoanRules::parse(&text).is_err(), "accepted:\n{text}");
        }
    }
}
