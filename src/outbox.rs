//! The sender: drains the outbox to WhatsApp, once per row, in order per customer.
//!
//! Each round leases, for every customer with pending replies, only the oldest one (see
//! [`SqlStore::claim_outbound`]): their next reply is not a candidate until this one is settled,
//! so a customer's replies leave in the order they were queued while different customers are
//! sent in parallel, by one instance or several.
//!
//! A reply is sent only while its lease has more time left than a send can take, so a lease can
//! never expire mid-send and hand the same reply to a second sender. What a send can still leave
//! unknown (a timeout, an answer cut off) is resolved before any retry by looking for a status
//! webhook that echoes the reply's id in `biz_opaque_callback_data`: if Meta took it, it is
//! recorded sent and not sent again.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::Value;
use tokio::sync::{Notify, watch};

use crate::config::{OutboxConfig, WindowTemplate};
use crate::dispatch::Receipts;
use crate::metrics::Metrics;
use crate::rounds::{self, Progress};
use crate::store::{ClaimedReply, Settlement, SqlStore, StoreError};
use crate::whatsapp::graph::{ErrorClass, Recipient, SendError, SendRequest, Transport};
use crate::whatsapp::outbound::{Outbound, Template, is_template};

/// The customer-service window: free-form messages only this long after the customer's last one.
pub const WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// Meta's pair rate: one message every 6 seconds to the same customer, with bursts borrowed.
const PAIR_PERIOD: Duration = Duration::from_secs(6);
/// Time kept in hand between the end of the longest send and the lease's expiry.
const LEASE_MARGIN: Duration = Duration::from_secs(2);
/// How often the sender looks for due replies when nobody woke it (retries coming due).
const POLL: Duration = Duration::from_millis(500);
/// The shortest wait before retrying a send that may have been taken (its status webhook, if
/// any, normally arrives within a second or two).
const UNCERTAIN_WAIT: Duration = Duration::from_secs(5);
/// The longest wait between retries of one reply.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What became of one leased reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendOutcome {
    /// Accepted by Meta (or found to have been accepted by an earlier attempt).
    Sent,
    /// Back in the queue after a retryable failure.
    Retry,
    /// Not sent and never will be: recorded with Meta's code.
    Failed,
    /// Outside the 24-hour window with no template to send instead.
    OutsideWindow,
    /// Held back by a local rate limit or a short lease; not counted as an attempt.
    Postponed,
    /// Another sender holds it now; nothing was recorded.
    LostLease,
}

impl SendOutcome {
    fn label(self) -> &'static str {
        match self {
            SendOutcome::Sent => "sent",
            SendOutcome::Retry => "retry",
            SendOutcome::Failed => "failed",
            SendOutcome::OutsideWindow => "outside_window",
            SendOutcome::Postponed => "postponed",
            SendOutcome::LostLease => "lost_lease",
        }
    }
}

/// Drains the outbox through a [`Transport`] within Meta's rate limits.
pub struct Sender {
    store: Arc<dyn SqlStore>,
    transport: Arc<dyn Transport>,
    metrics: Arc<Metrics>,
    config: OutboxConfig,
    send_timeout: Duration,
    owner: String,
    batch: u32,
    /// Messages per second from this instance, all customers together (and read receipts).
    global: Arc<DefaultDirectRateLimiter>,
    /// Messages per customer: one per [`PAIR_PERIOD`] after a burst.
    pairs: DefaultKeyedRateLimiter<String>,
    /// The configured window template's message body, built once.
    window_template: Option<Value>,
}

impl Sender {
    /// A sender leasing `batch` customers' replies per round.
    pub fn new(
        store: Arc<dyn SqlStore>,
        transport: Arc<dyn Transport>,
        metrics: Arc<Metrics>,
        config: OutboxConfig,
        send_timeout: Duration,
        batch: u32,
    ) -> Self {
        let rate = NonZeroU32::new(config.rate_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.pair_burst).unwrap_or(NonZeroU32::MIN);
        let pair_quota = Quota::with_period(PAIR_PERIOD)
            .map_or(Quota::per_minute(NonZeroU32::MIN), |q| q.allow_burst(burst));
        // The configuration checked the template's name and language when it was read.
        let window_template =
            config.window_template.as_ref().and_then(|WindowTemplate { name, language }| {
                Template::new(name.as_str(), language.as_str(), vec![])
                    .ok()
                    .map(|t| Outbound::from(t).to_body())
            });
        Sender {
            window_template,
            store,
            transport,
            metrics,
            config,
            send_timeout,
            owner: format!("sender-{}", uuid::Uuid::new_v4().simple()),
            batch,
            global: Arc::new(RateLimiter::direct(Quota::per_second(rate))),
            pairs: RateLimiter::keyed(pair_quota),
        }
    }

    /// The read receipts that share this sender's throughput limit.
    pub fn receipts(&self) -> Arc<dyn Receipts> {
        Arc::new(ReadReceipts { transport: self.transport.clone(), global: self.global.clone() })
    }

    /// One round at time `now`: leases due replies and sends them. Returns what became of each.
    ///
    /// Sends run concurrently; their outcomes are then recorded in one transaction, each fenced
    /// by its lease.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Vec<SendOutcome>, StoreError> {
        let started = Instant::now();
        let claimed = self.store.claim_outbound(&self.owner, now, self.config.lease, self.batch).await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        // Every claimed reply goes to a different customer, so they may be sent concurrently.
        let settles = join_all(claimed.iter().map(|reply| self.process(reply, now, started))).await;
        let mut tx = self.store.begin().await?;
        let mut outcomes = Vec::with_capacity(settles.len());
        for (reply, (settle, outcome)) in claimed.iter().zip(settles) {
            if tx.settle_outbound(reply.id, &self.owner, now, &settle).await? {
                outcomes.push(outcome);
            } else {
                tracing::error!(
                    outbox_id = reply.id,
                    "the lease on this reply was lost before its outcome was recorded"
                );
                outcomes.push(SendOutcome::LostLease);
            }
        }
        tx.commit().await?;
        for outcome in &outcomes {
            self.metrics.outbox(outcome.label());
        }
        Ok(outcomes)
    }

    #[tracing::instrument(skip_all, fields(outbox_id = reply.id, attempt = reply.attempts))]
    async fn process(
        &self,
        reply: &ClaimedReply,
        now: DateTime<Utc>,
        started: Instant,
    ) -> (Settlement, SendOutcome) {
        match self.try_process(reply, now, started).await {
            Ok(settled) => settled,
            Err(e) => {
                // Nothing was sent: put it back for the next round.
                tracing::warn!(error = %e, "cannot prepare the send; postponed");
                (Settlement::Postpone { at: now }, SendOutcome::Postponed)
            }
        }
    }

    async fn try_process(
        &self,
        reply: &ClaimedReply,
        now: DateTime<Utc>,
        started: Instant,
    ) -> Result<(Settlement, SendOutcome), StoreError> {
        let callback = reply.id.to_string();
        if reply.attempts > 1 {
            // An earlier attempt's answer may have been lost although Meta took the message.
            if let Some(provider_message_id) = self.store.accepted_by_callback(&callback).await? {
                tracing::info!("an earlier attempt was accepted after all; not sending again");
                return Ok((
                    Settlement::Sent { provider_message_id, via_template: false },
                    SendOutcome::Sent,
                ));
            }
        }
        let Some(recipient) = recipient(reply) else {
            return Ok((failed(None, "no wa_id or BSUID to send to"), SendOutcome::Failed));
        };

        let mut body = &reply.body.0;
        let mut via_template = false;
        if !is_template(body) && !self.window_open(reply, now).await? {
            match &self.window_template {
                Some(template) => (body, via_template) = (template, true),
                None => return Ok(outside_window(None)),
            }
        }

        if let Err(not_until) = self.pairs.check_key(&reply.recipient_key) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Ok((Settlement::Postpone { at: now + chrono_duration(wait) }, SendOutcome::Postponed));
        }
        self.global.until_ready().await;
        if started.elapsed() + self.send_timeout + LEASE_MARGIN > self.config.lease {
            // Too little of the lease is left to be sure no other sender takes this over mid-send.
            return Ok((Settlement::Postpone { at: now }, SendOutcome::Postponed));
        }

        let mut result = self.transport.send(&SendRequest { recipient, body, callback: &callback }).await;
        if let Err(SendError { class: ErrorClass::OutsideWindow, .. }) = &result
            && !via_template
            && !is_template(body)
            && let Some(template) = &self.window_template
        {
            // Meta's view of the window wins over ours: send the template instead.
            self.global.until_ready().await;
            via_template = true;
            result =
                self.transport.send(&SendRequest { recipient, body: template, callback: &callback }).await;
        }
        Ok(match result {
            Ok(accepted) => (
                Settlement::Sent { provider_message_id: accepted.message_id, via_template },
                SendOutcome::Sent,
            ),
            Err(e) if e.class == ErrorClass::OutsideWindow => outside_window(Some(e)),
            Err(e) if e.class.is_retryable() && reply.attempts < self.config.max_attempts => {
                let at = now + chrono_duration(self.backoff(e.class, e.code, reply.attempts));
                tracing::warn!(code = ?e.code, error = %e, retry_at = %at, "send failed; will retry");
                (Settlement::Retry { at, code: e.code, message: e.message }, SendOutcome::Retry)
            }
            Err(e) => {
                tracing::error!(code = ?e.code, error = %e, "send failed for good; recorded");
                (failed(e.code, e.message), SendOutcome::Failed)
            }
        })
    }

    /// Whether the customer's 24-hour window is open at `now`: known from the reply itself when
    /// the message it answers opened it recently enough, else looked up.
    async fn window_open(&self, reply: &ClaimedReply, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let open = |from: DateTime<Utc>| now < from + chrono_duration(WINDOW);
        if reply.window_from.is_some_and(open) {
            return Ok(true);
        }
        Ok(self.store.last_inbound_at(&reply.recipient_key).await?.is_some_and(open))
    }

    /// The wait before retry number `attempt + 1`: exponential with jitter, slower for the
    /// classes Meta asks to be gentle with.
    fn backoff(&self, class: ErrorClass, code: Option<i64>, attempt: i32) -> Duration {
        let exponent = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(20);
        let base = match class {
            // Meta's advice for the pair rate: wait 4^X seconds.
            ErrorClass::PairRate => Duration::from_secs(4u64.saturating_pow(exponent)),
            _ => self.config.retry_base.saturating_mul(2u32.saturating_pow(exponent)),
        };
        let mut wait = base.min(MAX_BACKOFF);
        if code == Some(131_057) {
            // Maintenance, e.g. a throughput upgrade: "up to 1 minute".
            wait = wait.max(Duration::from_secs(60));
        }
        let wait = jitter(wait);
        if class == ErrorClass::Uncertain {
            // Give the status webhook that would prove Meta took it time to arrive first.
            return wait.max(UNCERTAIN_WAIT);
        }
        wait
    }

    /// Runs rounds with `workers` concurrent loops until `stop` turns true (see [`rounds::run`]).
    pub async fn run(&self, workers: usize, wake: Arc<Notify>, stop: watch::Receiver<bool>) {
        let rounds = std::sync::atomic::AtomicU32::new(0);
        rounds::run("send", workers, POLL, wake, stop, || async {
            if rounds.fetch_add(1, std::sync::atomic::Ordering::Relaxed).is_multiple_of(256) {
                self.pairs.retain_recent();
            }
            let outcomes = self.run_once(Utc::now()).await?;
            // Replies only postponed (rate limits) are no reason to spin.
            let worked = outcomes.iter().filter(|o| **o != SendOutcome::Postponed).count();
            Ok(if worked == 0 { Progress::Idle } else { rounds::progress(outcomes.len(), self.batch) })
        })
        .await;
    }
}

fn failed(code: Option<i64>, message: impl Into<String>) -> Settlement {
    Settlement::Failed { outside_window: false, code, message: message.into() }
}

/// Not sent: the window is closed and there is no template to send instead (or Meta refused it).
fn outside_window(error: Option<SendError>) -> (Settlement, SendOutcome) {
    tracing::info!("the 24-hour window is closed and no window template is configured; not sent");
    let (code, message) = match error {
        Some(e) => (e.code, e.message),
        None => (None, "the 24-hour customer-service window is closed".to_owned()),
    };
    (Settlement::Failed { outside_window: true, code, message }, SendOutcome::OutsideWindow)
}

fn recipient(reply: &ClaimedReply) -> Option<Recipient<'_>> {
    match (&reply.wa_id, &reply.bsuid) {
        (Some(wa_id), _) => Some(Recipient::WaId(wa_id)),
        (None, Some(bsuid)) => Some(Recipient::Bsuid(bsuid)),
        (None, None) => None,
    }
}

/// Somewhere between half of `wait` and all of it, so retries from many customers spread out.
fn jitter(wait: Duration) -> Duration {
    let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    let half = millis / 2;
    Duration::from_millis(half + fastrand::u64(0..=millis - half))
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Marks messages read with a typing indicator, within the sender's throughput limit. Fire and
/// forget: a receipt that fails costs the customer nothing but the "typing…" hint.
struct ReadReceipts {
    transport: Arc<dyn Transport>,
    global: Arc<DefaultDirectRateLimiter>,
}

impl Receipts for ReadReceipts {
    fn processing(&self, message_id: &str) {
        let (transport, global, message_id) =
            (self.transport.clone(), self.global.clone(), message_id.to_owned());
        tokio::spawn(async move {
            // Under a backlog a receipt is not worth a send slot: skip it rather than queue.
            if global.check().is_err() {
                return;
            }
            if let Err(e) = transport.mark_read(&message_id, true).await {
                tracing::debug!(error = %e, "marking a message read failed");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_between_half_and_all_of_the_wait() {
        for _ in 0..1000 {
            let j = jitter(Duration::from_millis(1000));
            assert!(j >= Duration::from_millis(500) && j <= Duration::from_millis(1000), "{j:?}");
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }
}
