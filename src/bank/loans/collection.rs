//! The worker's loan jobs, as the bank does them: collection on due dates, overdue marking with
//! a late fee, and reminders. Each acts on an installment at most once a day, whatever the
//! number of workers: its `loan_events` row (loan, installment, kind, day) is inserted in the
//! unit of work of its effect, under a primary key.

use crate::bank::ledger::TxKind;
use anyhow::Context as _;
use chrono::{Days, NaiveDate, Timelike};

use super::{Payment, iso};
use crate::bank::notices::{self, Notice};
use crate::bank::{Bank, alias_of_phone};
use crate::flows::template::long_date;
use crate::money::format_money;
use crate::store::CustomerRow;
use crate::store::loans::{DueRow, InstallmentRow, LoanEvent};
use crate::whatsapp::outbound::{Outbound, Template, Text};

/// What a collection did to an installment today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// Took what was due.
    Collected,
    /// Took part of it: the wallet held less.
    Partial,
    /// The wallet held nothing.
    Empty,
    /// It was paid in the meantime.
    Settled,
    /// Done already today (another worker, or an earlier run).
    AlreadyDone,
}

impl Collection {
    /// As counted.
    pub fn code(self) -> &'static str {
        match self {
            Collection::Collected => "collected",
            Collection::Partial => "partial",
            Collection::Empty => "empty",
            Collection::Settled => "settled",
            Collection::AlreadyDone => "already_done",
        }
    }
}

impl Bank {
    /// Whether it is late enough in the bank's day to collect and remind.
    pub fn loan_hours(&self) -> bool {
        self.now().with_timezone(&self.settings.timezone).hour() >= self.rules.loans.reminders.from_hour
    }

    /// Unpaid installments of running loans due on or before `day`, a page after `after`.
    pub async fn unpaid_due_by(
        &self,
        day: NaiveDate,
        after: (i64, i32),
        limit: i64,
    ) -> anyhow::Result<Vec<DueRow>> {
        let mut tx = self.begin().await?;
        let rows = tx.loans().unpaid_due_by(&iso(day), after, limit).await?;
        tx.rollback().await?;
        Ok(rows)
    }

    /// Unpaid installments of running loans due from `from` to `to`, a page after `after`.
    pub async fn unpaid_due_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        after: (i64, i32),
        limit: i64,
    ) -> anyhow::Result<Vec<DueRow>> {
        let mut tx = self.begin().await?;
        let rows = tx.loans().unpaid_due_between(&iso(from), &iso(to), after, limit).await?;
        tx.rollback().await?;
        Ok(rows)
    }

    /// Collects installment `due` on `day`: what the wallet holds, up to what is due by then,
    /// never below zero; once per installment per day.
    pub async fn collect(&self, due: &DueRow, day: NaiveDate) -> anyhow::Result<Collection> {
        let (owner, language) = self.borrower(due).await?;
        let today = iso(day);
        let now = self.now();
        let mut tx = self.begin().await?;
        let wallet = self.wallet(tx.bank(), owner.id).await?;
        let idempotency_key = format!("loan_collection:{}:{}:{today}", due.loan_id, due.number);
        // What is due by now on this loan (the installments before this one come first), and
        // on this one, as the installments are under the loan's lock: a repayment that raced
        // this collection is seen, so it takes what is still due, never more.
        let (mut due_now, mut this_one) = (0, 0);
        let how_much = |available: i64, installments: &[InstallmentRow]| {
            due_now = installments
                .iter()
                .filter(|i| i.number <= due.number && i.due_on.as_str() <= today.as_str())
                .map(InstallmentRow::outstanding)
                .sum();
            this_one =
                installments.iter().find(|i| i.number == due.number).map_or(0, InstallmentRow::outstanding);
            if this_one <= 0 { 0 } else { available.min(due_now) }
        };
        let payment = self
            .pay(tx.as_mut(), &wallet, due.loan_id, how_much, TxKind::LoanCollection, &idempotency_key)
            .await?;
        // What became of it, and what moved: (amount, ledger transaction).
        let (outcome, moved) = match payment {
            Payment::Posted { transaction, reference, paid, outstanding } => {
                let taken = paid.total();
                let still_due = (due_now - taken).max(0);
                let notice =
                    Notice::LoanCollected { amount: taken, still_due, outstanding, reference: &reference };
                let text = notices::text(&notice, &language, self.currency());
                self.notify(tx.as_mut(), &owner.phone, &Text::new(text)?.into()).await?;
                let kind = if still_due == 0 { Collection::Collected } else { Collection::Partial };
                (kind, Some((taken, transaction)))
            }
            Payment::Repeat => {
                tx.rollback().await?;
                return Ok(Collection::AlreadyDone);
            }
            Payment::Insufficient if due_now <= 0 || this_one <= 0 => (Collection::Settled, None),
            Payment::Insufficient => (Collection::Empty, None),
        };
        let (amount, transaction_id) = moved.map_or((0, None), |(taken, id)| (taken, Some(id)));
        let event = LoanEvent {
            loan_id: due.loan_id,
            number: due.number,
            kind: "collect",
            day: &today,
            amount,
            transaction_id,
            now,
        };
        if !tx.loans().insert_loan_event(&event).await? {
            tx.rollback().await?;
            return Ok(Collection::AlreadyDone);
        }
        if outcome == Collection::Empty && due.due_on == today {
            let grace = self.rules.loans.product(&due.product).map_or(0, |p| p.grace_days);
            let text = notices::text(
                &Notice::LoanNotCollected { amount: this_one, grace_days: grace },
                &language,
                self.currency(),
            );
            self.notify(tx.as_mut(), &owner.phone, &Text::new(text)?.into()).await?;
        }
        tx.commit().await?;
        if moved.is_some() {
            self.forget_balance(Some(owner.id)).await;
            self.outbox_wake.signal();
        }
        Ok(outcome)
    }

    /// Marks installment `due` overdue with its late fee once it is unpaid past its grace days
    /// on `day`, and tells the customer; false when it is not late yet or was marked already.
    pub async fn mark_overdue(&self, due: &DueRow, day: NaiveDate) -> anyhow::Result<bool> {
        let product = self.rules.loans.product(&due.product);
        let grace = product.map_or(0, |p| p.grace_days);
        let due_on: NaiveDate = due.due_on.parse().with_context(|| format!("due date {:?}", due.due_on))?;
        if due.overdue_since.is_some() || day <= due_on + Days::new(u64::from(grace)) {
            return Ok(false);
        }
        let (owner, language) = self.borrower(due).await?;
        let today = iso(day);
        let now = self.now();
        let mut tx = self.begin().await?;
        tx.loans().lock_loan(due.loan_id).await?;
        // What it still owes now, under the loan's lock (a payment may have come in since).
        let installments = tx.loans().installments(due.loan_id).await?;
        let unpaid = installments.iter().find(|i| i.number == due.number).map_or(0, |i| i.amount - i.paid);
        if unpaid <= 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let late_fee =
            product.map_or(0, |p| crate::bank::rules::fee(std::slice::from_ref(&p.late_fee), unpaid));
        if !tx.loans().mark_overdue(due.loan_id, due.number, late_fee, &today).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        let event = LoanEvent {
            loan_id: due.loan_id,
            number: due.number,
            kind: "late_fee",
            day: &today,
            amount: late_fee,
            transaction_id: None,
            now,
        };
        if !tx.loans().insert_loan_event(&event).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        let shown = long_date(&due.due_on);
        let notice = Notice::LoanOverdue { amount: unpaid + late_fee, late_fee, due_on: &shown };
        let text = notices::text(&notice, &language, self.currency());
        self.notify(tx.as_mut(), &owner.phone, &Text::new(text)?.into()).await?;
        tx.commit().await?;
        self.outbox_wake.signal();
        Ok(true)
    }

    /// Reminds the borrower of installment `due` on `day`, when `day` is one of the reminder
    /// days before it; as text inside the 24-hour window, else as the reminder template. Once
    /// per installment per day; false when not a reminder day or done already.
    pub async fn remind(&self, due: &DueRow, day: NaiveDate) -> anyhow::Result<bool> {
        let due_on: NaiveDate = due.due_on.parse().with_context(|| format!("due date {:?}", due.due_on))?;
        let days = (due_on - day).num_days();
        let reminders = &self.rules.loans.reminders;
        if days < 0 || !reminders.days_before.iter().any(|d| i64::from(*d) == days) {
            return Ok(false);
        }
        let (owner, language) = self.borrower(due).await?;
        let now = self.now();
        let key = alias_of_phone(&owner.phone);
        let window_open =
            self.store.last_inbound_at(&key).await?.is_some_and(|at| now - at < chrono::Duration::hours(24));
        let shown = long_date(&due.due_on);
        let message: Outbound = match &reminders.template {
            Some((name, template_language)) if !window_open => Template::new(
                name.as_str(),
                template_language.as_str(),
                vec![format_money(due.outstanding(), self.currency()), shown.clone()],
            )?
            .into(),
            _ => {
                let notice = Notice::LoanReminder {
                    amount: due.outstanding(),
                    due_on: &shown,
                    days: u32::try_from(days)?,
                };
                Text::new(notices::text(&notice, &language, self.currency()))?.into()
            }
        };
        let today = iso(day);
        let mut tx = self.begin().await?;
        let event = LoanEvent {
            loan_id: due.loan_id,
            number: due.number,
            kind: "remind",
            day: &today,
            amount: due.outstanding(),
            transaction_id: None,
            now,
        };
        if !tx.loans().insert_loan_event(&event).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        self.notify(tx.as_mut(), &owner.phone, &message).await?;
        tx.commit().await?;
        self.outbox_wake.signal();
        Ok(true)
    }

    /// Who owes installment `due`, and the language they read (read before a unit of work: it
    /// must not wait for another connection while holding its own).
    async fn borrower(&self, due: &DueRow) -> anyhow::Result<(CustomerRow, String)> {
        let mut tx = self.begin().await?;
        let owner = tx.customers().customer(due.customer_id).await?;
        tx.rollback().await?;
        let owner = owner.with_context(|| format!("loan {} has no borrower", due.reference))?;
        let language = self.language_of(&owner.phone).await?;
        Ok((owner, language))
    }
}
