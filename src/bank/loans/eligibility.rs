//! Who may borrow, and how much: a pure decision over facts the bank gathered, with every rule's
//! outcome kept as a reason (stored with the decision, shown to admins) and the first one that
//! failed as the code flows branch on (and explain in the customer's words).
//!
//! The rules, in the order a customer hears about them:
//! 1. `no_product`: their KYC tier has a product;
//! 2. `locked`: money actions are not locked after wrong PINs;
//! 3. `overdue_loan`: no loan of theirs is overdue;
//! 4. `has_loan`: they have no loan running (one at a time);
//! 5. `account_too_new`: their account is at least `minimum_account_age_days` old;
//! 6. `low_income`: the limit — `limit_percent` of an average month's income over the last
//!    `income_days` days, rounded down to `limit_step`, capped by the product — reaches the
//!    product's minimum.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use super::products::{Eligibility, LoanRules, Product};
use crate::money::format_money;

/// What the decision is made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// KYC tier.
    pub tier: i32,
    /// When the account was opened (bank time).
    pub opened_on: NaiveDate,
    /// Today (bank time).
    pub today: NaiveDate,
    /// Money that came in over the income window, minor units.
    pub income: i64,
    /// Loans running.
    pub active_loans: u32,
    /// Of those, overdue.
    pub overdue_loans: u32,
    /// Money actions locked after wrong PINs.
    pub locked: bool,
}

/// One rule's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The rule (its code when it fails).
    pub rule: &'static str,
    /// Whether the customer passed it.
    pub passed: bool,
    /// What was found, in plain English (for the record and admins).
    pub detail: String,
}

/// A decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// `eligible`, or the first rule that failed.
    pub code: &'static str,
    /// The product that applies, if any.
    pub product: Option<String>,
    /// Most they may borrow now, minor units (0 when not eligible).
    pub limit: i64,
    /// An average month's income, minor units.
    pub monthly_income: i64,
    /// The monthly income that would make the product's minimum borrowable.
    pub income_needed: i64,
    /// When the account becomes old enough.
    pub old_enough_on: NaiveDate,
    /// Every rule, in order.
    pub reasons: Vec<Reason>,
}

impl Decision {
    /// Whether they may borrow.
    pub fn eligible(&self) -> bool {
        self.code == "eligible"
    }
}

fn ceil_div(a: Decimal, b: Decimal) -> i64 {
    if b.is_zero() {
        return i64::MAX;
    }
    (a / b).ceil().to_i64().unwrap_or(i64::MAX)
}

/// Decides, in `currency` for the words of the reasons.
pub fn decide(rules: &LoanRules, facts: &Facts, currency: &str) -> Decision {
    let money = |minor: i64| format_money(minor, currency);
    let e = &rules.eligibility;
    let product = rules.product_for(facts.tier);
    let mut reasons = Vec::new();
    let mut rule = |rule: &'static str, passed: bool, detail: String| {
        reasons.push(Reason { rule, passed, detail });
    };

    rule(
        "no_product",
        product.is_some(),
        match product {
            Some(p) => format!(
                "KYC tier {} borrows under the {} ({} to {})",
                facts.tier,
                p.name,
                money(p.min),
                money(p.max)
            ),
            None => format!("no loan product is open to KYC tier {}", facts.tier),
        },
    );
    rule(
        "locked",
        !facts.locked,
        if facts.locked { "money actions are locked after wrong PINs".into() } else { "not locked".into() },
    );
    rule(
        "overdue_loan",
        facts.overdue_loans == 0,
        match facts.overdue_loans {
            0 => "no overdue loan".into(),
            n => format!("{n} loan(s) overdue"),
        },
    );
    rule(
        "has_loan",
        facts.active_loans == 0,
        match facts.active_loans {
            0 => "no loan running".into(),
            n => format!("{n} loan(s) running; one at a time"),
        },
    );
    let age = (facts.today - facts.opened_on).num_days();
    let old_enough_on = facts.opened_on + chrono::Days::new(u64::from(e.minimum_account_age_days));
    rule(
        "account_too_new",
        age >= i64::from(e.minimum_account_age_days),
        format!("the account is {age} days old; loans need {} days", e.minimum_account_age_days),
    );
    let Income { monthly_income, share, limit, income_needed, reaches } = income(e, product, facts.income);
    let step = e.limit_step.max(1);
    rule(
        "low_income",
        reaches,
        format!(
            "{} came in over {} days, {} a month on average; {}% of it is {}{}",
            money(facts.income),
            e.income_days,
            money(monthly_income),
            e.limit_percent.normalize(),
            money(share),
            match product {
                Some(p) if share - share.rem_euclid(step) > p.max => format!(", capped at {}", money(p.max)),
                Some(p) if !reaches => format!(", under the {} minimum", money(p.min)),
                _ => String::new(),
            }
        ),
    );
    let code = reasons.iter().find(|r| !r.passed).map_or("eligible", |r| r.rule);
    Decision {
        code,
        product: product.map(|p| p.id.clone()),
        limit: if code == "eligible" { limit } else { 0 },
        monthly_income,
        income_needed,
        old_enough_on,
        reasons,
    }
}

/// What a customer's income lets them borrow.
struct Income {
    /// Income over the window, as a month.
    monthly_income: i64,
    /// The share of it that may go to repayments.
    share: i64,
    /// The share stepped down and capped at the product's maximum.
    limit: i64,
    /// The monthly income whose share reaches the product's minimum.
    income_needed: i64,
    /// The limit reaches the product's minimum.
    reaches: bool,
}

fn income(e: &Eligibility, product: Option<&Product>, income: i64) -> Income {
    let monthly_income = (Decimal::from(income) * Decimal::from(30) / Decimal::from(e.income_days))
        .floor()
        .to_i64()
        .unwrap_or(0);
    let share = (Decimal::from(monthly_income) * e.limit_percent / Decimal::ONE_HUNDRED)
        .floor()
        .to_i64()
        .unwrap_or(0);
    let step = e.limit_step.max(1);
    let mut limit = share - share.rem_euclid(step);
    let (mut income_needed, mut reaches) = (0, false);
    if let Some(p) = product {
        limit = limit.min(p.max);
        reaches = limit >= p.min;
        // The smallest monthly income whose share, stepped down, reaches the minimum.
        let min_stepped = p.min.div_euclid(step) * step + if p.min.rem_euclid(step) == 0 { 0 } else { step };
        income_needed = ceil_div(Decimal::from(min_stepped) * Decimal::ONE_HUNDRED, e.limit_percent);
    }
    Income { monthly_income, share, limit, income_needed, reaches }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::loans::products::DEFAULT_LOANS;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn facts() -> Facts {
        Facts {
            tier: 1,
            opened_on: day("2026-06-01"),
            today: day("2026-11-22"),
            // ₦120,000 over 90 days: ₦40,000 a month.
            income: 12_000_000,
            active_loans: 0,
            overdue_loans: 0,
            locked: false,
        }
    }

    /// Each row: what changes from a good customer, the code, the limit, and what the first
    /// failing (or the income) reason says.
    #[test]
    fn decisions_and_their_reasons() {
        let rules = LoanRules::parse(DEFAULT_LOANS).unwrap();
        type Change = fn(&mut Facts);
        let table: &[(&str, Change, &str, i64, &str)] = &[
            (
                "a good customer",
                |_| {},
                "eligible",
                2_000_000,
                "₦40,000.00 a month on average; 50% of it is ₦20,000.00",
            ),
            (
                "income above the cap",
                |f| f.income = 60_000_000,
                "eligible",
                2_000_000,
                "capped at ₦20,000.00",
            ),
            (
                "the limit steps down to ₦500",
                |f| f.income = 2_069_997,
                "eligible",
                300_000,
                "₦6,899.99 a month on average; 50% of it is ₦3,449.99",
            ),
            (
                "tier 2 borrows under plus",
                |f| f.tier = 2,
                "eligible",
                2_000_000,
                "KYC tier 2 borrows under the Plus loan",
            ),
            (
                "no product for tier 9",
                |f| f.tier = 9,
                "no_product",
                0,
                "no loan product is open to KYC tier 9",
            ),
            ("locked", |f| f.locked = true, "locked", 0, "locked after wrong PINs"),
            (
                "an overdue loan comes before a running one",
                |f| {
                    f.active_loans = 1;
                    f.overdue_loans = 1;
                },
                "overdue_loan",
                0,
                "1 loan(s) overdue",
            ),
            ("a loan running", |f| f.active_loans = 1, "has_loan", 0, "one at a time"),
            (
                "a new account",
                |f| f.opened_on = day("2026-11-01"),
                "account_too_new",
                0,
                "the account is 21 days old; loans need 30 days",
            ),
            (
                "exactly 30 days old",
                |f| f.opened_on = day("2026-10-23"),
                "eligible",
                2_000_000,
                "30 days old",
            ),
            ("no income", |f| f.income = 0, "low_income", 0, "under the ₦1,000.00 minimum"),
            (
                "just short of the minimum",
                |f| f.income = 599_999,
                "low_income",
                0,
                "₦1,999.99 a month on average; 50% of it is ₦999.99, under the ₦1,000.00 minimum",
            ),
            ("just at the minimum", |f| f.income = 600_000, "eligible", 100_000, "50% of it is ₦1,000.00"),
        ];
        for (what, change, code, limit, says) in table {
            let mut f = facts();
            change(&mut f);
            let d = decide(&rules, &f, "NGN");
            assert_eq!(d.code, *code, "{what}: {:#?}", d.reasons);
            assert_eq!(d.limit, *limit, "{what}");
            assert_eq!(d.reasons.len(), 6, "{what}: every rule is recorded");
            assert!(
                d.reasons.iter().any(|r| r.detail.contains(says)),
                "{what}: no reason says {says:?}: {:#?}",
                d.reasons
            );
            let first_failed = d.reasons.iter().find(|r| !r.passed).map(|r| r.rule);
            assert_eq!(first_failed.unwrap_or("eligible"), d.code, "{what}");
        }
    }

    #[test]
    fn what_would_change_a_no_is_computed() {
        let rules = LoanRules::parse(DEFAULT_LOANS).unwrap();
        let mut f = facts();
        f.income = 0;
        f.opened_on = day("2026-11-10");
        let d = decide(&rules, &f, "NGN");
        assert_eq!(d.code, "account_too_new");
        assert_eq!(d.old_enough_on, day("2026-12-10"));
        // ₦1,000 at 50% needs ₦2,000 a month.
        assert_eq!(d.income_needed, 200_000);
        assert!(!d.reasons[5].passed, "the income rule is recorded as failed too");
    }
}
