//! The jobs: stuck transfers, session cleanup, monthly fees, loan collection, overdue loans,
//! loan reminders and retention.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::BoxFuture;

use super::{Job, JobContext, Report};
use crate::bank::fees::Period;
use crate::bank::rail::RailStatus;
use crate::bank::{Bank, Callback};
use crate::conversation::Conversations;
use crate::kv::Kv;
use crate::metrics::Metrics;
use crate::store::{SqlStore, StoreError, WorkerTx};

/// Rows one step handles.
const PAGE: i64 = 200;
/// Months the fee job goes back for, when a worker was down over one or more 1sts.
pub const FEE_CATCH_UP_MONTHS: u32 = 3;

/// Pending transfers to other banks, asked about at the rail: success posts them, failure
/// releases the funds (and tells the customer); still unknown past the maximum age, the funds
/// move to suspense for operations. Refunds from suspense held for room under a wallet's
/// maximum balance are paid once they fit.
pub struct StuckTransfers {
    /// The bank.
    pub bank: Arc<Bank>,
    /// Where suspensions are counted.
    pub metrics: Arc<Metrics>,
    /// Pending this long: ask the rail.
    pub after: Duration,
    /// Unknown this long after it was made: suspense.
    pub suspense_after: Duration,
}

#[async_trait]
impl Job for StuckTransfers {
    fn name(&self) -> &'static str {
        "stuck_transfers"
    }

    async fn run(&self, cx: &JobContext) -> anyhow::Result<Report> {
        let mut report = Report::default();
        let cutoff = cx.now - chrono::Duration::from_std(self.after)?;
        let suspense_after = chrono::Duration::from_std(self.suspense_after)?;
        let mut errors = 0;
        let mut last = 0;
        loop {
            let page = self.bank.stuck_transfers(cutoff, last, PAGE).await?;
            let Some(end) = page.last() else { break };
            last = end.id;
            for row in page {
                report.add("checked", 1);
                let settled = match self.bank.rail_status(&row).await {
                    Ok(RailStatus::Pending) => None,
                    Ok(status) => Some(status),
                    Err(err) => {
                        report.add("rail_errors", 1);
                        tracing::warn!(reference = %row.reference, error = format!("{err:#}"), "the rail's answer is unknown");
                        None
                    }
                };
                if let Some(status) = settled {
                    let item = match status {
                        RailStatus::Success => "posted",
                        RailStatus::Reversed(_) => "reversed",
                        _ => "released",
                    };
                    match self.bank.settle(&row.reference, &status).await {
                        Ok(Callback::Applied) => report.add(item, 1),
                        Ok(_) => report.add("settled_already", 1),
                        Err(err) => {
                            errors += 1;
                            tracing::error!(reference = %row.reference, error = format!("{err:#}"), "cannot settle a transfer");
                        }
                    }
                } else if row.suspense_at.is_none() && cx.now - row.created_at >= suspense_after {
                    match self.bank.suspend(&row.reference).await {
                        Ok(true) => {
                            report.add("suspended", 1);
                            self.metrics.transfers_suspended.inc();
                            tracing::error!(
                                reference = %row.reference,
                                amount = row.amount,
                                fee = row.fee,
                                created_at = %row.created_at,
                                "a transfer's outcome is still unknown: its funds moved to suspense; resolve it with the rail"
                            );
                        }
                        Ok(false) => report.add("settled_already", 1),
                        Err(err) => {
                            errors += 1;
                            tracing::error!(reference = %row.reference, error = format!("{err:#}"), "cannot move a transfer to suspense");
                        }
                    }
                } else {
                    report.add("still_pending", 1);
                }
            }
            if cx.stopping() {
                report.interrupted = true;
                break;
            }
        }
        // Refunds held for room under a wallet's maximum balance: paid as soon as they fit.
        let refunds = self.bank.pay_held_refunds(PAGE).await?;
        for (item, n) in [("refunds_paid", refunds.paid), ("refunds_held", refunds.waiting)] {
            if n > 0 {
                report.add(item, n);
            }
        }
        if errors > 0 {
            anyhow::bail!("{errors} transfers could not be reconciled ({report})");
        }
        Ok(report)
    }
}

/// The accounts customers fund their wallets through, at the payment provider: asked for
/// customers who have none (the backfill, a page a round), and tried again, with backoff, until
/// the provider has opened them. Nothing without a provider.
pub struct FundingAccounts {
    /// The bank.
    pub bank: Arc<Bank>,
}

#[async_trait]
impl Job for FundingAccounts {
    fn name(&self) -> &'static str {
        "funding_accounts"
    }

    async fn run(&self, cx: &JobContext) -> anyhow::Result<Report> {
        let mut report = Report::default();
        loop {
            let round = self.bank.open_funding_accounts(PAGE).await?;
            for (item, n) in [
                ("requested", round.requested),
                ("opened", round.opened),
                ("waiting", round.waiting),
                ("failed", round.failed),
            ] {
                if n > 0 {
                    report.add(item, n);
                }
            }
            // Another page only while the backfill is still finding customers without one.
            if round.requested < PAGE.unsigned_abs() || cx.stopping() {
                report.interrupted = cx.stopping();
                return Ok(report);
            }
        }
    }
}

/// Customer care's round: customers waiting for a person are told when to expect one, and
/// tickets past their targets are counted as breaches (`teller_job_items_total{job="care"}`).
pub struct Care {
    /// The bank.
    pub bank: Arc<Bank>,
}

#[async_trait]
impl Job for Care {
    fn name(&self) -> &'static str {
        "care"
    }

    async fn run(&self, cx: &JobContext) -> anyhow::Result<Report> {
        let round = self.bank.care_round(cx.now).await?;
        let mut report = Report::default();
        for (item, n) in [
            ("told_when_to_expect_a_person", round.told),
            ("first_response_breached", round.response_breaches),
            ("resolution_breached", round.resolution_breaches),
        ] {
            if n > 0 {
                report.add(item, n);
            }
        }
        Ok(report)
    }
}

/// Sessions abandoned mid-flow lose what they held; the session index is pruned; the memory
/// KV drops what expired; sent messages that carried a one-time code lose it once it expired.
pub struct SessionCleanup {
    /// Whose sessions.
    pub conversations: Arc<Conversations>,
    /// The KV, swept.
    pub kv: Arc<dyn Kv>,
    /// Where sent codes are scrubbed.
    pub store: Arc<dyn SqlStore>,
}

#[async_trait]
impl Job for SessionCleanup {
    fn name(&self) -> &'static str {
        "session_cleanup"
    }

    async fn run(&self, cx: &JobContext) -> anyhow::Result<Report> {
        let mut report = Report::default();
        let sweep = self.conversations.sweep(cx.now, &|| cx.stopping()).await?;
        report.add("abandoned", sweep.abandoned);
        report.add("pruned", sweep.pruned);
        report.add("rescheduled", sweep.rescheduled);
        report.add("expired_keys", self.kv.sweep().await?);
        let (scrubbed, _) = in_batches(&self.store, cx, &|tx| tx.scrub_outbox(cx.now, PURGE_BATCH)).await?;
        report.add("codes_scrubbed", scrubbed);
        Ok(report)
    }
}

/// The monthly maintenance fee, on the first run on or after the 1st of each month in the
/// bank's time zone; months missed while no worker ran are caught up.
pub struct MonthlyFees {
    /// The bank.
    pub bank: Arc<Bank>,
}

#[async_trait]
impl Job for MonthlyFees {
    fn name(&self) -> &'static str {
        "monthly_fees"
    }

    async fn run(&self, cx: &JobContext) -> anyhow::Result<Report> {
        let mut report = Report::default();
        if self.bank.monthly_fee_rules().amount == 0 {
            return Ok(report);
        }
        let completed = self.bank.completed_fee_periods().await?;
        let mut errors = 0;
        for period in Period::due(cx.now, self.bank.timezone(), &completed, FEE_CATCH_UP_MONTHS)? {
            let mut failed_here = 0;
            let mut after = 0;
            loop {
                let page = self.bank.wallets_due_fee(&period, after, PAGE).await?;
                let Some(end) = page.last() else { break };
                after = end.id;
                for wallet in page {
                    match self.bank.monthly_fee(&period, wallet.id).await {
                        Ok(outcome) => report.add(outcome.code(), 1),
                        Err(err) => {
                            failed_here += 1;
                            tracing::error!(period = %period.name, wallet = wallet.id, error = format!("{err:#}"), "cannot charge a monthly fee");
                        }
                    }
                }
                if cx.stopping() {
                    report.interrupted = true;
                    return Ok(report);
                }
            }
            // Done only when every wallet has its outcome; a failed one is tried next run.
            if failed_here == 0 {
                self.bank.complete_fee_period(&period).await?;
                report.add("periods_completed", 1);
            }
            errors += failed_here;
        }
        if errors > 0 {
            anyhow::bail!("{errors} wallets could not be charged ({report})");
        }
        Ok(report)
    }
}

/// What a loan job does to each unpaid installment of a running loan, once per installment per
/// day (the bank's guard; see `crate::bank::loans`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoanWork {
    /// Installments due by today: take what the wallet holds, up to what is due, from the
    /// reminder hour on.
    Collection,
    /// Installments unpaid past their grace days: overdue, with the product's late fee, once.
    Overdue,
    /// Installments due in one of the reminder days: a reminder, from the reminder hour on.
    Reminders,
}

/// A loan job.
pub struct Loans {
    /// The bank.
    pub bank: Arc<Bank>,
    /// Which.
    pub work: LoanWork,
}

#[async_trait]
impl Job for Loans {
    fn name(&self) -> &'static str {
        match self.work {
            LoanWork::Collection => "loan_collection",
            LoanWork::Overdue => "loan_overdue",
            LoanWork::Reminders => "loan_reminders",
        }
    }

    async fn run(&self, cx: &JobContext) -> anyhow::Result<Report> {
        let mut report = Report::default();
        let bank = &self.bank;
        if self.work != LoanWork::Overdue && !bank.loan_hours() {
            return Ok(report);
        }
        let today = bank.today();
        let horizon = bank.loan_rules().reminders.days_before.first().copied().unwrap_or(0);
        let mut errors = 0;
        let mut after = (0, 0);
        loop {
            let page = match self.work {
                LoanWork::Collection => bank.unpaid_due_by(today, after, PAGE).await?,
                LoanWork::Overdue => bank.unpaid_due_by(today - chrono::Days::new(1), after, PAGE).await?,
                LoanWork::Reminders => {
                    bank.unpaid_due_between(today, today + chrono::Days::new(horizon.into()), after, PAGE)
                        .await?
                }
            };
            let Some(end) = page.last() else { break };
            after = (end.loan_id, end.number);
            for due in page {
                let done = match self.work {
                    LoanWork::Collection => bank.collect(&due, today).await.map(|c| c.code()),
                    LoanWork::Overdue => bank
                        .mark_overdue(&due, today)
                        .await
                        .map(|marked| if marked { "overdue" } else { "not_yet" }),
                    LoanWork::Reminders => {
                        bank.remind(&due, today).await.map(|sent| if sent { "reminded" } else { "not_today" })
                    }
                };
                match done {
                    Ok(item) => report.add(item, 1),
                    Err(err) => {
                        errors += 1;
                        tracing::error!(loan = %due.reference, installment = due.number, error = format!("{err:#}"), "a loan job failed on an installment");
                    }
                }
            }
            if cx.stopping() {
                report.interrupted = true;
                return Ok(report);
            }
        }
        if errors > 0 {
            anyhow::bail!("{errors} installments failed ({report})");
        }
        Ok(report)
    }
}

/// Raw webhook bodies and handled inbound messages older than the inbox age, settled replies
/// and delivery statuses older than the outbox age, and loan decisions that led to no offer
/// older than the decisions age, are deleted. The audit trail, the ledger and the loans (with
/// the decisions behind them) are never touched.
pub struct Retention {
    /// The store.
    pub store: Arc<dyn SqlStore>,
    /// How long inbound data is kept.
    pub inbox_age: Duration,
    /// How long outbound data is kept.
    pub outbox_age: Duration,
    /// How long loan decisions that led to nothing are kept.
    pub decisions_age: Duration,
}

/// Rows one retention step deletes: small enough to keep each transaction short.
const PURGE_BATCH: i64 = 1000;

/// One batch of a bulk change, in the unit of work it is given; returns the rows it changed.
type Step<'a> = &'a (dyn for<'t> Fn(&'t mut dyn WorkerTx) -> BoxFuture<'t, Result<u64, StoreError>> + Sync);

/// Runs `step` in a unit of work of its own, again and again, until a batch comes back short
/// or the run must stop. Returns the rows changed, and whether it stopped early.
async fn in_batches(
    store: &Arc<dyn SqlStore>,
    cx: &JobContext,
    step: Step<'_>,
) -> anyhow::Result<(u64, bool)> {
    let mut total = 0;
    loop {
        let mut tx = store.begin().await?;
        let n = step(tx.worker()).await?;
        tx.commit().await?;
        total += n;
        if cx.stopping() {
            return Ok((total, true));
        }
        if n < u64::try_from(PURGE_BATCH).unwrap_or(u64::MAX) {
            return Ok((total, false));
        }
    }
}

#[async_trait]
impl Job for Retention {
    fn name(&self) -> &'static str {
        "retention"
    }

    async fn run(&self, cx: &JobContext) -> anyhow::Result<Report> {
        let mut report = Report::default();
        let inbox_before = cx.now - chrono::Duration::from_std(self.inbox_age)?;
        let outbox_before = cx.now - chrono::Duration::from_std(self.outbox_age)?;
        let decisions_before = cx.now - chrono::Duration::from_std(self.decisions_age)?;
        // Inbound messages before the bodies they came in, which they refer to.
        let steps: [(&'static str, Step<'_>); 5] = [
            ("inbox_messages", &|tx| tx.purge_inbox(inbox_before, PURGE_BATCH)),
            ("webhook_payloads", &|tx| tx.purge_payloads(inbox_before, PURGE_BATCH)),
            ("outbox_messages", &|tx| tx.purge_outbox(outbox_before, PURGE_BATCH)),
            ("delivery_statuses", &|tx| tx.purge_statuses(outbox_before, PURGE_BATCH)),
            ("loan_decisions", &|tx| tx.purge_decisions(decisions_before, PURGE_BATCH)),
        ];
        for (item, step) in steps {
            let (n, stopped) = in_batches(&self.store, cx, step).await?;
            report.add(item, n);
            if stopped {
                report.interrupted = true;
                return Ok(report);
            }
        }
        Ok(report)
    }
}
