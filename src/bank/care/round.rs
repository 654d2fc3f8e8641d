//! The worker's round of customer care: a customer handed to a person who has had no answer
//! is told when to expect one (by the first-response target while care is open, else when it
//! opens), and tickets past their targets are counted as breaches, each once.

use chrono::{DateTime, Utc};

use super::super::Bank;
use super::super::notices::{self, Notice};
use super::rules::day_name;
use crate::whatsapp::outbound::{Outbound, Text};

/// Tickets one round looks at.
const PAGE: u32 = 500;

/// What a round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CareRound {
    /// Customers told when to expect a person.
    pub told: u64,
    /// Tickets newly past their first-response target.
    pub response_breaches: u64,
    /// Tickets newly past their resolution target.
    pub resolution_breaches: u64,
    /// Open tickets past either target now (newly or before).
    pub breached_now: u64,
}

impl Bank {
    /// One round of care at `now`.
    pub async fn care_round(&self, now: DateTime<Utc>) -> anyhow::Result<CareRound> {
        let mut round = CareRound::default();
        let care = &self.rules.care;
        let zone = self.settings.timezone;
        let mut tx = self.begin().await?;
        for ticket in tx.care().waiting_untold(now - care.tell_waiting_after, PAGE).await? {
            let Some(customer) = tx.customers().customer(ticket.customer_id).await? else { continue };
            let target =
                chrono::Duration::minutes(i64::from(care.target(&ticket.category).first_response_minutes));
            let notice_text =
                |notice: Notice<'_>, language: &str| notices::text(&notice, language, self.currency());
            let language = self.language_of(&customer.phone).await?;
            let body = if care.open_at(now, zone) {
                let by = (ticket.created_at + target).max(now + chrono::Duration::minutes(5));
                let by = care.next_open(by, zone).with_timezone(&zone);
                let same_day = by.date_naive() == now.with_timezone(&zone).date_naive();
                let shown = if same_day {
                    by.format("%H:%M").to_string()
                } else {
                    format!("{} {}", day_name(chrono::Datelike::weekday(&by)), by.format("%H:%M"))
                };
                notice_text(Notice::AgentBy { by: &shown }, &language)
            } else {
                let opens = care.next_open(now, zone).with_timezone(&zone);
                let shown =
                    format!("{} {}", day_name(chrono::Datelike::weekday(&opens)), opens.format("%H:%M"));
                notice_text(Notice::CareAway { opens: &shown }, &language)
            };
            if tx.care().mark_told(ticket.id, now).await? {
                self.notify(tx.as_mut(), &customer.phone, &Outbound::Text(Text::new(body)?)).await?;
                round.told += 1;
            }
        }
        for ticket in tx.care().tickets("open", PAGE).await? {
            let target = care.target(&ticket.category);
            let answered = ticket.first_response_at.unwrap_or(now);
            let response_due =
                ticket.created_at + chrono::Duration::minutes(i64::from(target.first_response_minutes));
            let resolution_due =
                ticket.created_at + chrono::Duration::hours(i64::from(target.resolution_hours));
            let late_answer = answered > response_due;
            let late_close = now > resolution_due;
            if late_answer && tx.care().mark_breached(ticket.id, false).await? {
                round.response_breaches += 1;
            }
            if late_close && tx.care().mark_breached(ticket.id, true).await? {
                round.resolution_breaches += 1;
            }
            round.breached_now += u64::from(late_answer || late_close);
        }
        tx.commit().await?;
        Ok(round)
    }
}
