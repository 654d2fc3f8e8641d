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
            let (response_due, _) = self.ticket_due(&ticket);
            let language = self.language_in(tx.as_mut(), &customer.phone).await?;
            let body = if care.open_at(now, zone) {
                let by = care.next_open(response_due.max(now + chrono::Duration::minutes(5)), zone);
                let by = shown(
                    by,
                    zone,
                    by.with_timezone(&zone).date_naive() == now.with_timezone(&zone).date_naive(),
                );
                notices::text(&Notice::AgentBy { by: &by }, &language, self.currency())
            } else {
                let opens = shown(care.next_open(now, zone), zone, false);
                notices::text(&Notice::CareAway { opens: &opens }, &language, self.currency())
            };
            if tx.care().mark_told(ticket.id, now).await? {
                self.notify(tx.as_mut(), &customer.phone, &Outbound::Text(Text::new(body)?)).await?;
                round.told += 1;
            }
        }
        for ticket in tx.care().tickets("open", PAGE).await? {
            let (response_due, resolution_due) = self.ticket_due(&ticket);
            let answered = ticket.first_response_at.unwrap_or(now);
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

/// `at` as a customer reads it in `zone`: "14:30" when it is `today`, else "Monday 08:00".
fn shown(at: DateTime<Utc>, zone: chrono_tz::Tz, today: bool) -> String {
    let local = at.with_timezone(&zone);
    match today {
        true => local.format("%H:%M").to_string(),
        false => format!("{} {}", day_name(chrono::Datelike::weekday(&local)), local.format("%H:%M")),
    }
}
