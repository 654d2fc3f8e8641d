//! Fee bands and amounts as the bank's rule files write them: shared by the transfer rules
//! and the loan products, which both price in bands.

use rust_decimal::Decimal;

use crate::money::parse_amount;

/// One fee band.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeBand {
    /// Applies to amounts up to this (inclusive); `None`: to any amount.
    pub up_to: Option<i64>,
    /// Flat part, minor units.
    pub flat: i64,
    /// Percentage part.
    pub percent: Decimal,
    /// Largest fee, minor units.
    pub cap: Option<i64>,
}

/// `text` as an amount in minor units, or an error naming `what`.
pub(crate) fn amount(what: &str, text: &str) -> anyhow::Result<i64> {
    parse_amount(text).map_err(|e| anyhow::anyhow!("{what}: {text:?} is not an amount ({e})"))
}
