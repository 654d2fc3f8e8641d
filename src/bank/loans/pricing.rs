//! What a loan costs: fee, interest, total, installments with their dates, and the annualised
//! rate. Pure arithmetic in `rust_decimal` and integer minor units, with the rounding rule of
//! `config/loans.yaml` (written out there for admins):
//! - fee and interest are rounded to the minor unit, half away from zero;
//! - installments are the total split evenly, rounded down, with the minor units left over going
//!   one each to the earliest installments, so they add up to the total exactly and none is more
//!   than one minor unit from an exact share.

use chrono::{Days, Months, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use super::products::{Every, Product};
use crate::bank::rules::fee;

/// One installment of an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// 1, 2, …
    pub number: u32,
    /// Its due date (bank time).
    pub due_on: NaiveDate,
    /// Minor units.
    pub amount: i64,
}

/// An offer's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// What the customer receives, minor units.
    pub principal: i64,
    /// Charged once.
    pub fee: i64,
    /// Over the whole tenor.
    pub interest: i64,
    /// Principal + fee + interest.
    pub total: i64,
    /// The installments, in order; they sum to `total`.
    pub installments: Vec<Due>,
    /// The annualised rate, percent, one decimal.
    pub apr: Decimal,
}

/// Why terms cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceError {
    /// Under the product's minimum.
    BelowMinimum,
    /// Above the product's maximum (or the customer's limit, checked by the caller).
    AboveMaximum,
    /// A tenor the product does not offer.
    Tenor,
    /// A date beyond the calendar.
    Calendar,
}

/// `total` split into `n` installments: rounded down, the remainder one each to the earliest.
pub fn split(total: i64, n: u32) -> Vec<i64> {
    let n = i64::from(n.max(1));
    let (base, rest) = (total.div_euclid(n), total.rem_euclid(n));
    (0..n).map(|i| base + i64::from(i < rest)).collect()
}

fn round(d: Decimal) -> i64 {
    d.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero).to_i64().unwrap_or(i64::MAX)
}

/// The due date of installment `k` of a loan paid out on `start`.
pub fn due_date(start: NaiveDate, every: Every, k: u32) -> Option<NaiveDate> {
    match every {
        Every::Month => start.checked_add_months(Months::new(k)),
        Every::Week => start.checked_add_days(Days::new(u64::from(k) * 7)),
    }
}

/// The terms of borrowing `principal` over `tenor` installments of `product`, paid out on
/// `start`.
pub fn price(product: &Product, principal: i64, tenor: u32, start: NaiveDate) -> Result<Terms, PriceError> {
    if principal < product.min {
        return Err(PriceError::BelowMinimum);
    }
    if principal > product.max {
        return Err(PriceError::AboveMaximum);
    }
    if !product.tenors.contains(&tenor) {
        return Err(PriceError::Tenor);
    }
    let fee = fee(std::slice::from_ref(&product.fee), principal);
    let interest = round(
        Decimal::from(principal) * product.interest_percent * Decimal::from(tenor) / Decimal::from(100),
    );
    let total = principal + fee + interest;
    let mut installments = Vec::with_capacity(tenor as usize);
    for (i, amount) in split(total, tenor).into_iter().enumerate() {
        let number = u32::try_from(i).map_err(|_| PriceError::Calendar)? + 1;
        let due_on = due_date(start, product.every, number).ok_or(PriceError::Calendar)?;
        installments.push(Due { number, due_on, amount });
    }
    let amounts: Vec<i64> = installments.iter().map(|d| d.amount).collect();
    let apr = apr(principal, &amounts, product.every.per_year());
    Ok(Terms { principal, fee, interest, total, installments, apr })
}

/// The annualised rate (percent, one decimal, half up) of lending `principal` repaid by
/// `installments` one period apart: the rate per period at which they are worth the principal
/// today (found by bisection on the discount factor, which keeps every power at most 1), times
/// `per_year`.
pub fn apr(principal: i64, installments: &[i64], per_year: u32) -> Decimal {
    let total: i64 = installments.iter().sum();
    if principal <= 0 || total <= principal {
        return Decimal::ZERO;
    }
    let principal = Decimal::from(principal);
    // The installments' worth today at discount factor d = 1 / (1 + r): rises with d.
    let worth = |d: Decimal| -> Decimal {
        let mut factor = Decimal::ONE;
        let mut sum = Decimal::ZERO;
        for amount in installments {
            factor *= d;
            sum += Decimal::from(*amount) * factor;
        }
        sum
    };
    let (mut low, mut high) = (Decimal::new(1, 6), Decimal::ONE);
    for _ in 0..80 {
        let mid = ((low + high) / Decimal::TWO).round_dp(20);
        if worth(mid) < principal {
            low = mid;
        } else {
            high = mid;
        }
    }
    let rate = Decimal::ONE / ((low + high) / Decimal::TWO) - Decimal::ONE;
    (rate * Decimal::from(per_year) * Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::bank::loans::products::{DEFAULT_LOANS, LoanRules};
    use crate::bank::rules::FeeBand;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn product(fee_flat: i64, fee_percent: Decimal, interest: Decimal, every: Every) -> Product {
        Product {
            id: "p".into(),
            name: "P".into(),
            tiers: vec![1],
            min: 1,
            max: 10_000_000_000,
            every,
            tenors: (1..=24).collect(),
            fee: FeeBand { up_to: None, flat: fee_flat, percent: fee_percent, cap: None },
            interest_percent: interest,
            late_fee: FeeBand { up_to: None, flat: 0, percent: Decimal::ZERO, cap: None },
            grace_days: 0,
        }
    }

    #[test]
    fn a_starter_loan_costs_what_the_file_says() {
        let rules = LoanRules::parse(DEFAULT_LOANS).unwrap();
        let starter = rules.product("starter").unwrap();
        // ₦10,000 over 3 months: fee 1.5% = ₦150, interest 4% × 3 = ₦1,200, total ₦11,350.
        let terms = price(starter, 1_000_000, 3, day("2026-11-22")).unwrap();
        assert_eq!((terms.fee, terms.interest, terms.total), (15_000, 120_000, 1_135_000));
        let dues: Vec<(NaiveDate, i64)> = terms.installments.iter().map(|d| (d.due_on, d.amount)).collect();
        assert_eq!(
            dues,
            [(day("2026-12-22"), 378_334), (day("2027-01-22"), 378_333), (day("2027-02-22"), 378_333)]
        );
        // 3 payments of about ₦3,783.33 for ₦10,000 is 6.609% a month: 79.3% a year (checked
        // independently: the rate at which the payments are worth ₦10,000 today).
        assert_eq!(terms.apr, Decimal::new(793, 1));
        assert_eq!(price(starter, 99_999, 3, day("2026-11-22")), Err(PriceError::BelowMinimum));
        assert_eq!(price(starter, 2_000_001, 3, day("2026-11-22")), Err(PriceError::AboveMaximum));
        assert_eq!(price(starter, 1_000_000, 4, day("2026-11-22")), Err(PriceError::Tenor));
    }

    #[test]
    fn a_month_after_the_31st_is_the_end_of_the_next_month_and_weeks_are_seven_days() {
        assert_eq!(due_date(day("2027-01-31"), Every::Month, 1), Some(day("2027-02-28")));
        assert_eq!(due_date(day("2027-01-31"), Every::Month, 2), Some(day("2027-03-31")));
        assert_eq!(due_date(day("2026-12-29"), Every::Week, 1), Some(day("2027-01-05")));
    }

    #[test]
    fn a_loan_without_charges_has_no_rate() {
        assert_eq!(apr(1_000, &[500, 500], 12), Decimal::ZERO);
        // One month, 10% interest: 120% a year.
        assert_eq!(apr(1_000, &[1_100], 12), Decimal::new(1200, 1));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn installments_sum_to_the_total_and_each_is_within_one_minor_unit_of_an_exact_share(
            principal in 1i64..=1_000_000_000,
            tenor in 1u32..=24,
            fee_flat in 0i64..=100_000,
            fee_bp in 0u32..=1_000,
            interest_bp in 0u32..=2_000,
            weekly in any::<bool>(),
        ) {
            let every = if weekly { Every::Week } else { Every::Month };
            let product = product(fee_flat, Decimal::new(fee_bp.into(), 2), Decimal::new(interest_bp.into(), 2), every);
            let terms = price(&product, principal, tenor, day("2026-01-31")).unwrap();
            prop_assert_eq!(terms.total, terms.principal + terms.fee + terms.interest);
            prop_assert_eq!(terms.installments.iter().map(|d| d.amount).sum::<i64>(), terms.total);
            prop_assert_eq!(terms.installments.len(), tenor as usize);
            let share = Decimal::from(terms.total) / Decimal::from(tenor);
            for due in &terms.installments {
                let error = (Decimal::from(due.amount) - share).abs();
                prop_assert!(error < Decimal::ONE, "installment {} is {} from {share}", due.number, error);
            }
            prop_assert!(terms.installments.windows(2).all(|w| w[0].due_on < w[1].due_on && w[0].amount >= w[1].amount));
            prop_assert!(terms.apr >= Decimal::ZERO);
        }

        #[test]
        fn a_dearer_loan_never_shows_a_lower_rate(
            principal in 10_000i64..=100_000_000,
            tenor in 1u32..=12,
            interest_bp in 1u32..=1_000,
        ) {
            let cheap = product(0, Decimal::ZERO, Decimal::new(interest_bp.into(), 2), Every::Month);
            let dear = product(0, Decimal::ZERO, Decimal::new((interest_bp + 50).into(), 2), Every::Month);
            let start = day("2026-03-01");
            let (a, b) = (price(&cheap, principal, tenor, start).unwrap(), price(&dear, principal, tenor, start).unwrap());
            prop_assert!(b.apr >= a.apr, "{} < {}", b.apr, a.apr);
        }
    }
}
