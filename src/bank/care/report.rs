//! What operations read about care: the open tickets past their targets now (`teller care
//! check`, which a scheduled job runs so a breach alerts), and a day's summary (`teller care
//! summary`).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use super::super::Bank;

/// Tickets one report reads at most.
const MAX: u32 = 10_000;

/// An open ticket past a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Late {
    /// Its tracking number.
    pub reference: String,
    /// Its category.
    pub category: String,
    /// `first response` or `resolution`.
    pub target: &'static str,
    /// Minutes past the target.
    pub minutes: i64,
}

/// A period's care, for operations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Opened in the period, per category.
    pub opened: BTreeMap<String, u64>,
    /// Closed in the period.
    pub closed: u64,
    /// Open now.
    pub open_now: u64,
    /// Open tickets past a target now.
    pub breached: u64,
    /// Ratings given to tickets closed in the period.
    pub ratings: Vec<i32>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opened: u64 = self.opened.values().sum();
        writeln!(
            f,
            "opened {opened}, closed {}, open now {}, past a target {}",
            self.closed, self.open_now, self.breached
        )?;
        for (category, n) in &self.opened {
            writeln!(f, "  opened {category:<16} {n}")?;
        }
        match self.ratings.len() {
            0 => writeln!(f, "no ratings"),
            n => {
                // In tenths, rounded half up, without floating point.
                let sum = i64::from(self.ratings.iter().sum::<i32>());
                let n = i64::try_from(n).unwrap_or(i64::MAX);
                let tenths = (sum * 20 + n) / (2 * n);
                writeln!(f, "ratings {n}, average {}.{} of 5", tenths / 10, tenths % 10)
            }
        }
    }
}

impl Bank {
    /// The open tickets past a target at `now`, the latest first.
    pub async fn late_tickets(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<Late>> {
        let mut tx = self.begin().await?;
        let open = tx.care().tickets("open", MAX).await?;
        tx.rollback().await?;
        let mut late = Vec::new();
        for ticket in open {
            let (response_due, resolution_due) = self.ticket_due(&ticket);
            let answered = ticket.first_response_at.unwrap_or(now);
            for (what, due, at) in
                [("first response", response_due, answered), ("resolution", resolution_due, now)]
            {
                if at > due {
                    let (reference, category) = (ticket.reference.clone(), ticket.category.clone());
                    late.push(Late { reference, category, target: what, minutes: (at - due).num_minutes() });
                }
            }
        }
        late.sort_by_key(|l| std::cmp::Reverse(l.minutes));
        Ok(late)
    }

    /// Care from `since` to now.
    pub async fn care_summary(&self, since: DateTime<Utc>) -> anyhow::Result<Summary> {
        let mut tx = self.begin().await?;
        let touched = tx.care().tickets_since(since, MAX).await?;
        let open_now = tx.care().tickets("open", MAX).await?.len() as u64;
        tx.rollback().await?;
        let mut summary = Summary { open_now, ..Summary::default() };
        for ticket in touched {
            if ticket.created_at >= since {
                *summary.opened.entry(ticket.category.clone()).or_default() += 1;
            }
            if ticket.closed_at.is_some_and(|at| at >= since) {
                summary.closed += 1;
                summary.ratings.extend(ticket.rating);
            }
        }
        summary.breached = self
            .late_tickets(self.now())
            .await?
            .iter()
            .map(|l| &l.reference)
            .collect::<std::collections::BTreeSet<_>>()
            .len() as u64;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::Summary;

    #[test]
    fn the_summary_says_the_average_rating_to_a_tenth() {
        for (ratings, says) in
            [(vec![5, 4, 4], "average 4.3 of 5"), (vec![1, 2], "average 1.5 of 5"), (vec![], "no ratings")]
        {
            let summary = Summary { ratings, ..Summary::default() };
            assert!(summary.to_string().contains(says), "{summary}");
        }
    }
}
