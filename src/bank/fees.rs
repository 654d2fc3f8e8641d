//! The monthly maintenance fee: once per wallet per month, never into the red.
//!
//! A month is a period (`YYYY-MM`) in `BANK_TIMEZONE`, starting at midnight on the 1st there.
//! Each wallet open when the period began gets one outcome for it, recorded under the primary
//! key (period, wallet) in the same unit of work as the fee's ledger posting: charged, or
//! waived (a new account, a low balance, or not enough to pay). A second worker, a repeated
//! run or a run after a crash finds the outcome recorded and does nothing.

use crate::bank::ledger::{TxKind, TxState};
use anyhow::Context as _;
use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::notices::{self, Notice};
use super::{Bank, audit_posting, kind, post};
use crate::store::{AccountRow, MonthlyFeeRow, NewTransaction, SqlTx};
use crate::whatsapp::outbound::Text;

/// One month of fees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// `YYYY-MM`.
    pub name: String,
    /// Midnight on the 1st, in the bank's time zone.
    pub starts: DateTime<Utc>,
    /// The month's name.
    pub month: &'static str,
}

impl Period {
    /// The period `first` (any day of it) falls in, in `tz`.
    fn of_date(first: NaiveDate, tz: Tz) -> anyhow::Result<Period> {
        let first = first.with_day(1).context("a month without a first day")?;
        let midnight = first.and_hms_opt(0, 0, 0).context("midnight")?;
        // A zone that skips midnight on the 1st (a DST change) starts the month at the earliest
        // instant that exists.
        let starts = tz
            .from_local_datetime(&midnight)
            .earliest()
            .or_else(|| tz.from_local_datetime(&(midnight + chrono::Duration::hours(1))).earliest())
            .context("the start of the month does not exist in the bank's time zone")?;
        Ok(Period {
            name: format!("{:04}-{:02}", first.year(), first.month()),
            starts: starts.with_timezone(&Utc),
            month: crate::locale::ENGLISH_MONTHS[first.month0() as usize],
        })
    }

    /// The period `now` falls in.
    pub fn at(now: DateTime<Utc>, tz: Tz) -> anyhow::Result<Period> {
        Period::of_date(now.with_timezone(&tz).date_naive(), tz)
    }

    /// The periods whose fees are due at `now`: the current one, and the months after the last
    /// completed one that were missed (a worker down over the 1st), at most `catch_up` of
    /// those, oldest first. None when the current one is complete.
    pub fn due(
        now: DateTime<Utc>,
        tz: Tz,
        completed: &[String],
        catch_up: u32,
    ) -> anyhow::Result<Vec<Period>> {
        let current = Period::at(now, tz)?;
        if completed.contains(&current.name) {
            return Ok(Vec::new());
        }
        let mut due = vec![current];
        let last = completed.iter().max();
        let first = now.with_timezone(&tz).date_naive().with_day(1).context("day 1")?;
        for back in 1..=catch_up {
            let date = first.checked_sub_months(Months::new(back)).context("too far back")?;
            let period = Period::of_date(date, tz)?;
            if last.is_none_or(|last| period.name <= *last) {
                break;
            }
            due.insert(0, period);
        }
        Ok(due)
    }
}

/// What became of one wallet's fee for a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeOutcome {
    /// Charged.
    Charged,
    /// Opened too recently.
    WaivedNewAccount,
    /// Balance under the waiver threshold.
    WaivedLowBalance,
    /// Could not pay without going below zero.
    WaivedInsufficientFunds,
    /// Recorded already (by another worker, or an earlier run).
    AlreadyDone,
}

impl FeeOutcome {
    /// As recorded and counted.
    pub fn code(self) -> &'static str {
        match self {
            FeeOutcome::Charged => "charged",
            FeeOutcome::WaivedNewAccount => "waived_new_account",
            FeeOutcome::WaivedLowBalance => "waived_low_balance",
            FeeOutcome::WaivedInsufficientFunds => "waived_insufficient_funds",
            FeeOutcome::AlreadyDone => "already_done",
        }
    }
}

impl Bank {
    /// The bank's time zone.
    pub fn timezone(&self) -> Tz {
        self.settings.timezone
    }

    /// The monthly fee rules.
    pub fn monthly_fee_rules(&self) -> &super::rules::MonthlyFee {
        &self.rules.monthly_fee
    }

    /// The periods whose fees are done, oldest first.
    pub async fn completed_fee_periods(&self) -> anyhow::Result<Vec<String>> {
        let mut tx = self.begin().await?;
        let periods = tx.bank().completed_fee_periods().await?;
        tx.rollback().await?;
        Ok(periods)
    }

    /// Up to `limit` wallets with no outcome yet for `period`, by id after `after`.
    pub async fn wallets_due_fee(
        &self,
        period: &Period,
        after: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<AccountRow>> {
        let mut tx = self.begin().await?;
        let wallets = tx.bank().wallets_due_fee(&period.name, period.starts, after, limit).await?;
        tx.rollback().await?;
        Ok(wallets)
    }

    /// Records that every wallet has its outcome for `period`.
    pub async fn complete_fee_period(&self, period: &Period) -> anyhow::Result<()> {
        let mut tx = self.begin().await?;
        tx.bank().complete_fee_period(&period.name, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The recorded outcomes of `period`.
    pub async fn monthly_fees(&self, period: &str) -> anyhow::Result<Vec<MonthlyFeeRow>> {
        let mut tx = self.begin().await?;
        let rows = tx.bank().monthly_fees(period).await?;
        tx.rollback().await?;
        Ok(rows)
    }

    /// Charges (or waives) `wallet`'s fee for `period`, once.
    pub async fn monthly_fee(&self, period: &Period, wallet: i64) -> anyhow::Result<FeeOutcome> {
        let rules = self.rules.monthly_fee.clone();
        let now = self.now();
        // Reads through the pool come before the unit of work (see `move_internal`).
        let mut tx = self.begin().await?;
        let owner = tx.bank().account_owner(wallet).await?;
        tx.rollback().await?;
        let language = match &owner {
            Some(owner) => self.language_of(&owner.phone).await?,
            None => String::new(),
        };

        let mut tx = self.begin().await?;
        let account =
            tx.bank().lock_account(wallet).await?.with_context(|| format!("wallet {wallet} is missing"))?;
        let new_since = period.starts - chrono::Duration::days(i64::from(rules.new_account_days));
        let outcome = if account.created_at > new_since {
            FeeOutcome::WaivedNewAccount
        } else if account.available() < rules.balance_below {
            FeeOutcome::WaivedLowBalance
        } else if account.available() < rules.amount {
            FeeOutcome::WaivedInsufficientFunds
        } else {
            FeeOutcome::Charged
        };
        let mut record = MonthlyFeeRow {
            period: period.name.clone(),
            account_id: wallet,
            outcome: outcome.code().to_owned(),
            amount: 0,
            transaction_id: None,
            created_at: now,
        };
        if outcome == FeeOutcome::Charged {
            let Some((id, reference)) = self.charge(tx.as_mut(), period, wallet, rules.amount, now).await?
            else {
                tx.rollback().await?;
                return Ok(FeeOutcome::AlreadyDone);
            };
            record.amount = rules.amount;
            record.transaction_id = Some(id);
            if let Some(owner) = &owner {
                let notice = Notice::MonthlyFee {
                    amount: rules.amount,
                    month: period.month,
                    balance: account.available() - rules.amount,
                    reference: &reference,
                };
                let text = notices::text(&notice, &language, self.currency());
                self.notify(tx.as_mut(), &owner.phone, &Text::new(text)?.into()).await?;
            }
        }
        if !tx.bank().record_monthly_fee(&record).await? {
            tx.rollback().await?;
            return Ok(FeeOutcome::AlreadyDone);
        }
        tx.commit().await?;
        if outcome == FeeOutcome::Charged {
            self.forget_balance(owner.map(|o| o.id)).await;
            self.outbox_wake.signal();
        }
        Ok(outcome)
    }

    /// Posts `wallet`'s fee for `period`: the transaction's id and reference, or `None` when it
    /// was posted before.
    async fn charge(
        &self,
        tx: &mut dyn SqlTx,
        period: &Period,
        wallet: i64,
        amount: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<(i64, String)>> {
        let reference = super::new_reference("F");
        let idempotency_key = format!("monthly_fee:{}:{wallet}", period.name);
        let narration = format!("Account maintenance, {} {}", period.month, &period.name[..4]);
        let new = NewTransaction {
            reference: &reference,
            idempotency_key: &idempotency_key,
            kind: TxKind::MonthlyFee.as_str(),
            state: TxState::Posted.as_str(),
            debit_account: wallet,
            credit_account: self.system_for(tx.bank(), kind::FEE_INCOME, wallet).await?,
            amount,
            fee: 0,
            currency: &self.settings.currency,
            counterparty: "",
            counterparty_name: "Account maintenance",
            origin: "",
            origin_name: "",
            narration: &narration,
            now,
        };
        let Some(id) = tx.bank().insert_transaction(&new).await? else { return Ok(None) };
        let legs = [(wallet, -amount), (new.credit_account, amount)];
        let locked = self.lock_in_order(tx.bank(), &legs).await?;
        if !post(tx.bank(), &locked, id, &legs, now).await? {
            anyhow::bail!("wallet {wallet}: the monthly fee could not be posted after the balance check");
        }
        audit_posting(tx, "system:worker", &reference, "monthly_fee", amount, 0, now).await?;
        Ok(Some((id, reference)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|d| d.with_timezone(&Utc)).unwrap()
    }

    #[test]
    fn a_month_starts_at_midnight_on_the_first_in_the_banks_zone() {
        let lagos: Tz = "Africa/Lagos".parse().unwrap();
        // 23:30 UTC on 30 November is already 00:30 on 1 December in Lagos (UTC+1).
        let period = Period::at(at("2026-11-30T23:30:00Z"), lagos).unwrap();
        assert_eq!(period.name, "2026-12");
        assert_eq!(period.starts, at("2026-11-30T23:00:00Z"));
        assert_eq!(period.month, "December");
        assert_eq!(Period::at(at("2026-11-30T22:59:59Z"), lagos).unwrap().name, "2026-11");
    }

    #[test]
    fn due_periods_are_the_current_one_and_the_missed_ones_since_the_last_completed() {
        let utc: Tz = "UTC".parse().unwrap();
        let now = at("2027-02-10T12:00:00Z");
        let names = |completed: &[&str]| -> Vec<String> {
            let completed: Vec<String> = completed.iter().map(|c| (*c).to_owned()).collect();
            Period::due(now, utc, &completed, 3).unwrap().into_iter().map(|p| p.name).collect()
        };
        assert_eq!(names(&[]), ["2027-02"], "a first run charges the month it is in");
        assert_eq!(names(&["2027-01"]), ["2027-02"]);
        assert_eq!(names(&["2026-11"]), ["2026-12", "2027-01", "2027-02"], "missed months catch up");
        assert_eq!(names(&["2025-01"]), ["2026-11", "2026-12", "2027-01", "2027-02"], "at most 3 back");
        assert!(names(&["2027-01", "2027-02"]).is_empty(), "done for the month");
    }
}
