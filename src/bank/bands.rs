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

/// `bands` as a customer reads them, one per line: "Up to ₦5,000.00: ₦10.75", "Above
/// ₦50,000.00: ₦53.75", "Any amount: ₦10.00" (amounts in `currency`; the words English, which
/// a flow's `| bands` filter puts in the customer's language).
pub fn describe(bands: &[FeeBand], currency: &str) -> String {
    let money = |minor: i64| crate::money::format_money(minor, currency);
    let mut lines = Vec::with_capacity(bands.len());
    let mut below: Option<i64> = None;
    for band in bands {
        let range = match (band.up_to, below) {
            (Some(up_to), _) => format!("Up to {}", money(up_to)),
            (None, Some(last)) => format!("Above {}", money(last)),
            (None, None) => "Any amount".to_owned(),
        };
        let mut fee = money(band.flat);
        if !band.percent.is_zero() {
            fee = if band.flat == 0 {
                format!("{}%", band.percent.normalize())
            } else {
                format!("{fee} + {}%", band.percent.normalize())
            };
        }
        if let Some(cap) = band.cap {
            fee.push_str(&format!(" (at most {})", money(cap)));
        }
        lines.push(format!("{range}: {fee}"));
        below = band.up_to;
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_read_as_a_customer_reads_them() {
        let band = |up_to: Option<i64>, flat: i64, percent: &str, cap: Option<i64>| FeeBand {
            up_to,
            flat,
            percent: percent.parse().unwrap(),
            cap,
        };
        let bands = [band(Some(500_000), 1_075, "0", None), band(None, 0, "0.5", Some(10_000))];
        assert_eq!(
            describe(&bands, "NGN"),
            "Up to ₦5,000.00: ₦10.75\nAbove ₦5,000.00: 0.5% (at most ₦100.00)"
        );
        assert_eq!(describe(&[band(None, 1_000, "0", None)], "NGN"), "Any amount: ₦10.00");
    }
}
