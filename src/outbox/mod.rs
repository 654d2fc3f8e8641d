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
//!
//! A round waits for its sends only so long ([`STRAGGLER_WAIT`]): a send still waiting on the
//! Graph API then finishes on its own and is recorded when it does, still under its lease, so a
//! Graph API that hangs for some customers holds up neither the round's other customers nor the
//! next rounds. Sends in flight are bounded ([`IN_FLIGHT_ROUNDS`] rounds' worth), which is what
//! holds the sender back when the Graph API hangs for everyone.
//!
//! Imports: dispatch's rounds, whatsapp (the transport and message types), the store port and the
//! leaves.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::{FutureExt, future::BoxFuture};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::value::RawValue;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinError;

use crate::config::{OutboxConfig, WindowTemplate};
use crate::dispatch::Receipts;
use crate::metrics::Metrics;
use crate::rounds::{self, Progress, Worked};
use crate::store::{ClaimedReply, Settlement, SqlStore, StoreError};
use crate::wake::{self, Wake};
use crate::whatsapp::graph::{ErrorClass, Recipient, SendError, SendRequest, Transport};
use crate::whatsapp::outbound::{Outbound, Template, raw};

use alarm::Alarm;
use glance::Glance;

mod alarm;
mod forms;
mod glance;
mod receipts;
mod retry;
mod templates;

pub use receipts::RECEIPT_WAIT;
use receipts::ReadReceipts;
use retry::{backoff, chrono_duration, failed, later, outside_window, soonest_put_off};

/// The customer-service window: free-form messages only this long after the customer's last one.
pub const WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// Meta's pair rate: one message every 6 seconds to the same customer, with bursts borrowed.
const PAIR_PERIOD: Duration = Duration::from_secs(6);
/// Time kept in hand between the end of the longest send and the lease's expiry.
const LEASE_MARGIN: Duration = Duration::from_secs(2);
/// How often the sender looks for due replies when nobody woke it and its alarm knows of none
/// (another instance's, or one put off before a restart).
const POLL: Duration = Duration::from_millis(500);
/// Time added to when a reply put off comes due before looking for it: its time is kept to the
/// microsecond, and a round that looked a moment early would find nothing and wait for the poll.
const DUE_SLACK: Duration = Duration::from_millis(2);
/// The shortest wait before retrying a send that may have been taken (its status webhook, if
/// any, normally arrives within a second or two).
const UNCERTAIN_WAIT: Duration = Duration::from_secs(5);
/// How often a reply whose outcome is unknown looks again for its status webhook.
const UNKNOWN_LOOK_EVERY: Duration = Duration::from_secs(2);
/// The longest wait between retries of one reply.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long a round waits for its sends before leaving the slow ones to finish on their own:
/// well above a healthy Graph API's answer time, and at most half the send timeout.
pub const STRAGGLER_WAIT: Duration = Duration::from_secs(1);
/// Sends in flight at most, in rounds' worth: a round waits for room before it leases more.
const IN_FLIGHT_ROUNDS: u32 = 4;

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
    inner: Arc<Inner>,
    /// How often its workers look for due replies unasked ([`POLL`]).
    poll: Duration,
}

/// A send that finished: its reply's id, and what became of it with the slot it held (or the
/// panic that ended its task).
type Finished = (i64, Result<(Settlement, SendOutcome, Slot), JoinError>);
/// The sends of a round still in flight.
type InFlight = FuturesUnordered<BoxFuture<'static, Finished>>;

struct Inner {
    store: Arc<dyn SqlStore>,
    transport: Arc<dyn Transport>,
    metrics: Arc<Metrics>,
    config: OutboxConfig,
    send_timeout: Duration,
    /// [`STRAGGLER_WAIT`], or half the send timeout if that is shorter.
    straggler_wait: Duration,
    owner: String,
    batch: u32,
    /// Messages per second from this instance, all customers together (and read receipts).
    global: Arc<DefaultDirectRateLimiter>,
    /// Messages per customer: one per [`PAIR_PERIOD`] after a burst.
    pairs: DefaultKeyedRateLimiter<String>,
    /// The configured window template's message body, built once.
    window_template: Option<Box<RawValue>>,
    /// One permit per send in flight, held until its outcome is recorded.
    in_flight: Arc<Semaphore>,
    /// The permits `in_flight` started with.
    capacity: u32,
    /// Outcomes of sends that a round could not record, recorded first by the next round.
    unrecorded: std::sync::Mutex<Vec<((i64, Settlement), SendOutcome)>>,
    /// When the replies rounds put off come due.
    alarm: Alarm,
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
                    .map(|t| raw(&Outbound::from(t).to_body()))
            });
        let batch = batch.max(1);
        let capacity = batch.saturating_mul(IN_FLIGHT_ROUNDS);
        let inner = Inner {
            window_template,
            store,
            transport,
            metrics,
            config,
            send_timeout,
            straggler_wait: STRAGGLER_WAIT.min(send_timeout / 2),
            owner: format!("sender-{}", uuid::Uuid::new_v4().simple()),
            batch,
            global: Arc::new(RateLimiter::direct(Quota::per_second(rate))),
            pairs: RateLimiter::keyed(pair_quota),
            in_flight: Arc::new(Semaphore::new(usize::try_from(capacity).unwrap_or(usize::MAX))),
            capacity,
            unrecorded: std::sync::Mutex::default(),
            alarm: Alarm::default(),
        };
        Sender { inner: Arc::new(inner), poll: POLL }
    }

    /// This sender, its workers looking for due replies unasked every `poll` instead of
    /// [`POLL`]: a test's way to tell a reply sent when it came due from one the poll found.
    pub fn polling_every(self, poll: Duration) -> Sender {
        Sender { poll, ..self }
    }

    /// The read receipts that share this sender's throughput limit.
    pub fn receipts(&self) -> Arc<dyn Receipts> {
        let inner = &self.inner;
        Arc::new(ReadReceipts {
            transport: inner.transport.clone(),
            global: inner.global.clone(),
            waiting: Arc::default(),
        })
    }

    /// One round at time `now`: leases due replies and sends them. Returns what became of those
    /// that finished within [`STRAGGLER_WAIT`] (or half the send timeout); the others are
    /// recorded when they finish.
    ///
    /// Sends run concurrently; the outcomes that are in when the round ends are recorded in one
    /// transaction, each fenced by its lease.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Vec<SendOutcome>, StoreError> {
        Ok(self.round(now, None).await?.outcomes)
    }

    /// [`Sender::run_once`], and whether more replies wait behind those it claimed: a claimed
    /// reply's recipient had another, or the claim took as many as it had room for. Sends still
    /// in flight when it ends nudge `wake` once they are recorded: a reply queued behind one
    /// meanwhile was passed over, and its recipient is then free.
    async fn round(
        &self,
        now: DateTime<Utc>,
        wake: Option<&Arc<Wake>>,
    ) -> Result<Worked<SendOutcome>, StoreError> {
        let inner = &self.inner;
        inner.record_parked(now).await?;
        let started = Instant::now();
        let mut permits = inner.room().await;
        let limit = u32::try_from(permits.len()).unwrap_or(inner.batch);
        let claimed = inner.store.claim_outbound(&inner.owner, now, inner.config.lease, limit).await?;
        if claimed.is_empty() {
            return Ok(Worked::nothing());
        }
        if let Some(wake) = wake {
            // A reply's signal names the message it answers (replies to notices name nobody).
            wake.took(claimed.iter().filter_map(|reply| reply.in_reply_to.as_deref().map(wake::key)));
        }
        let more = claimed.len() >= permits.len() || claimed.iter().any(|reply| reply.more);
        let held = claimed.iter().map(|reply| wake::key(&reply.recipient_key)).collect();
        // Every claimed reply goes to a different customer, so they may be sent concurrently.
        let mut sends = InFlight::new();
        for reply in claimed {
            // The claim keeps to its limit, so there is a permit for every reply.
            let Some(permit) = permits.pop() else { break };
            let (this, id) = (inner.clone(), reply.id);
            let slot = Slot::taken(permit, &inner.metrics);
            let send = tokio::spawn(async move {
                let (settlement, outcome) = this.process(&reply, now, started).await;
                (settlement, outcome, slot)
            });
            sends.push(send.map(move |joined| (id, joined)).boxed());
        }
        let deadline = tokio::time::Instant::now() + inner.straggler_wait;
        let mut finished = Vec::with_capacity(sends.len());
        while let Ok(Some(done)) = tokio::time::timeout_at(deadline, sends.next()).await {
            finished.push(done);
        }
        if !sends.is_empty() {
            inner.metrics.outbox_stragglers.inc_by(u64::try_from(sends.len()).unwrap_or(u64::MAX));
            tracing::info!(
                sends = sends.len(),
                "sends still waiting on the Graph API; each is recorded when it finishes"
            );
            tokio::spawn(inner.clone().settle_stragglers(sends, now, started, wake.cloned()));
        }
        let settled =
            finished.iter().filter_map(|(_, joined)| joined.as_ref().ok().map(|(settled, ..)| settled));
        if let Some(due) = soonest_put_off(settled, now) {
            inner.alarm.set(tokio::time::Instant::now() + due.saturating_sub(started.elapsed()) + DUE_SLACK);
        }
        Ok(Worked { outcomes: inner.settle(finished, now, chrono::Duration::zero()).await?, more, held })
    }

    /// Runs rounds with `workers` concurrent loops until `stop` turns true (see [`rounds::run`]),
    /// a worker nudged when a reply a round put off comes due ([`Alarm`]), then waits for the
    /// sends still in flight to be recorded.
    pub async fn run(&self, workers: usize, wake: Arc<Wake>, stop: watch::Receiver<bool>) {
        let count = std::sync::atomic::AtomicU32::new(0);
        let alarm = self.inner.alarm.ring(&wake, stop.clone());
        let sending = rounds::run("send", workers, self.poll, wake.clone(), stop, || async {
            if count.fetch_add(1, std::sync::atomic::Ordering::Relaxed).is_multiple_of(256) {
                self.inner.pairs.retain_recent();
            }
            let Worked { outcomes, more, held } = self.round(Utc::now(), Some(&wake)).await?;
            // Replies only postponed (rate limits) are no reason to spin: the alarm nudges a
            // worker when the first comes due.
            let worked = outcomes.iter().filter(|o| **o != SendOutcome::Postponed).count();
            let progress = if worked == 0 {
                Progress::Idle
            } else {
                rounds::progress(outcomes.len(), more, self.inner.batch)
            };
            Ok((progress, held))
        });
        tokio::join!(sending, alarm);
        // Every permit back means every send has finished and its outcome is recorded (or left
        // to its lease, if recording it failed).
        let _all = self.inner.in_flight.acquire_many(self.inner.capacity).await;
        if let Err(e) = self.inner.record_parked(Utc::now()).await {
            tracing::warn!(error = %e, "sends done but not recorded at shutdown; they wait for their leases");
        }
    }
}

impl Inner {
    /// Permits for up to a batch of sends: waits for the first when the sender is full.
    async fn room(&self) -> Vec<OwnedSemaphorePermit> {
        let Ok(first) = self.in_flight.clone().acquire_owned().await else {
            return Vec::new();
        };
        let mut permits = vec![first];
        while permits.len() < usize::try_from(self.batch).unwrap_or(usize::MAX) {
            match self.in_flight.clone().try_acquire_owned() {
                Ok(permit) => permits.push(permit),
                Err(_) => break,
            }
        }
        permits
    }

    /// Records finished sends in one transaction, each fenced by its lease, and releases their
    /// permits. `late` is how long after the round's `now` they finished: retries wait from then.
    async fn settle(
        &self,
        finished: Vec<Finished>,
        now: DateTime<Utc>,
        late: chrono::Duration,
    ) -> Result<Vec<SendOutcome>, StoreError> {
        let mut settled = Vec::with_capacity(finished.len());
        let mut outcomes = Vec::with_capacity(finished.len());
        let mut permits = Vec::with_capacity(finished.len());
        for (id, joined) in finished {
            match joined {
                Ok((settlement, outcome, permit)) => {
                    settled.push((id, later(settlement, late)));
                    outcomes.push(outcome);
                    permits.push(permit);
                }
                // Whether it was sent is unknown: its lease runs out, and the retry looks for the
                // status webhook before sending again.
                Err(e) => tracing::error!(
                    outbox_id = id,
                    error = %e,
                    "a send task failed; the reply waits for its lease"
                ),
            }
        }
        let recorded = self.record(settled, outcomes, now + late).await;
        // Their slots are free once recorded, or once parked for the next round to record.
        drop(permits);
        recorded
    }

    /// Records outcomes at once (one statement on PostgreSQL), each fenced by its lease. If
    /// that fails (the database went away mid-round), they are parked, and the next round
    /// records them before anything else. The sends happened: leaving them to their leases
    /// would send them again unless Meta's status for them had arrived.
    async fn record(
        &self,
        settled: Vec<(i64, Settlement)>,
        mut outcomes: Vec<SendOutcome>,
        at: DateTime<Utc>,
    ) -> Result<Vec<SendOutcome>, StoreError> {
        if settled.is_empty() {
            return Ok(Vec::new());
        }
        let held = match self.store.settle_outbound_all(&self.owner, at, &settled).await {
            Ok(held) => held,
            Err(e) => {
                if let Ok(mut unrecorded) = self.unrecorded.lock() {
                    unrecorded.extend(settled.into_iter().zip(outcomes));
                }
                return Err(e);
            }
        };
        for ((id, _), (outcome, held)) in settled.iter().zip(outcomes.iter_mut().zip(held)) {
            if !held {
                tracing::error!(
                    outbox_id = id,
                    "the lease on this reply was lost before its outcome was recorded"
                );
                *outcome = SendOutcome::LostLease;
            }
        }
        for outcome in &outcomes {
            self.metrics.outbox(outcome.label());
        }
        Ok(outcomes)
    }

    /// Records the outcomes a failed round parked (see [`Inner::record`]).
    async fn record_parked(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let parked = match self.unrecorded.lock() {
            Ok(mut unrecorded) => std::mem::take(&mut *unrecorded),
            Err(_) => return Ok(()),
        };
        if parked.is_empty() {
            return Ok(());
        }
        let (settled, outcomes): (Vec<_>, Vec<_>) = parked.into_iter().unzip();
        let recorded = self.record(settled, outcomes, now).await?;
        tracing::info!(sends = recorded.len(), "the database is back: recorded the sends it interrupted");
        Ok(())
    }

    /// Records a round's slow sends as they finish, those that finish together in one
    /// transaction.
    async fn settle_stragglers(
        self: Arc<Self>,
        mut sends: InFlight,
        now: DateTime<Utc>,
        started: Instant,
        wake: Option<Arc<Wake>>,
    ) {
        while let Some(first) = sends.next().await {
            let mut finished = vec![first];
            while let Some(Some(more)) = sends.next().now_or_never() {
                finished.push(more);
            }
            let late = chrono_duration(started.elapsed());
            match self.settle(finished, now, late).await {
                Ok(_) => {
                    if let Some(wake) = &wake {
                        wake.nudge();
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot record late sends; they wait for their leases"),
            }
        }
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
        if let Some(wait) = self.waiting_for_status(reply, now) {
            return Ok((Settlement::Postpone { at: now + chrono_duration(wait) }, SendOutcome::Postponed));
        }
        let Some(recipient) = recipient(reply) else {
            return Ok((failed(None, "no wa_id or BSUID to send to"), SendOutcome::Failed));
        };

        let mut body: &RawValue = &reply.body.0;
        let mut glance = Glance::of(body);
        let mut via_template = false;
        if !glance.is_template() && !self.window_open(reply, now).await? {
            match &self.window_template {
                Some(template) => (body, glance, via_template) = (template, Glance::of(template), true),
                None => return Ok(outside_window(None)),
            }
        }

        if templates::held(self.store.as_ref(), &glance, now).await? {
            let at = now + chrono_duration(templates::RECHECK);
            return Ok((Settlement::Postpone { at }, SendOutcome::Postponed));
        }
        if let Err(not_until) = self.pairs.check_key(&reply.recipient_key) {
            // Due when the limit lets it go: `now` is when the round began.
            let wait = started.elapsed() + not_until.wait_time_from(DefaultClock::default().now());
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
            && !glance.is_template()
            && let Some(template) = &self.window_template
        {
            // Meta's view of the window wins over ours: send the template instead.
            self.global.until_ready().await;
            (glance, via_template) = (Glance::of(template), true);
            result =
                self.transport.send(&SendRequest { recipient, body: template, callback: &callback }).await;
        }
        if let Err(e) = &result
            && !e.class.is_retryable()
            && e.class != ErrorClass::OutsideWindow
            && let Some(text) = forms::as_text(body)
        {
            tracing::warn!(code = ?e.code, error = %e, "Meta would not send a form: its question goes as text");
            self.global.until_ready().await;
            result = self.transport.send(&SendRequest { recipient, body: &text, callback: &callback }).await;
        }
        Ok(match result {
            Ok(accepted) => (
                Settlement::Sent { provider_message_id: accepted.message_id, via_template },
                SendOutcome::Sent,
            ),
            Err(e) if e.class == ErrorClass::OutsideWindow => outside_window(Some(e)),
            Err(e) if templates::refused(e.code) => {
                templates::record_refusal(self.store.as_ref(), &glance, e.code, now).await?;
                (
                    Settlement::Postpone { at: now + chrono_duration(templates::RECHECK) },
                    SendOutcome::Postponed,
                )
            }
            Err(e) if e.class.is_retryable() && reply.attempts < self.config.max_attempts => {
                let at =
                    now + chrono_duration(backoff(self.config.retry_base, e.class, e.code, reply.attempts));
                tracing::warn!(code = ?e.code, error = %e, retry_at = %at, "send failed; will retry");
                (Settlement::Retry { at, code: e.code, message: e.message }, SendOutcome::Retry)
            }
            Err(e) => {
                tracing::error!(code = ?e.code, error = %e, "send failed for good; recorded");
                (failed(e.code, e.message), SendOutcome::Failed)
            }
        })
    }

    /// How long to wait before sending `reply` again, when its sender died mid-send and Meta
    /// may have taken it: a bounded wait (`OUTBOX_UNKNOWN_WAIT_SECS` from when that became
    /// known) for the status webhook that would say so, looked for at each claim. A customer who
    /// reads "✅ Sent ₦5,000.00" twice fears they paid twice; one who waits a minute does not.
    fn waiting_for_status(&self, reply: &ClaimedReply, now: DateTime<Utc>) -> Option<Duration> {
        let until = reply.unknown_since? + chrono_duration(self.config.unknown_wait);
        let left = (until - now).to_std().ok().filter(|left| !left.is_zero())?;
        tracing::info!(
            waited = ?(now - reply.unknown_since?),
            "a reply whose sender died mid-send waits for Meta's word before it is sent again"
        );
        Some(left.min(UNKNOWN_LOOK_EVERY))
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
}

/// A send's place among those in flight, counted on `/metrics` from when the send starts until
/// its outcome is recorded (or its task ends some other way).
struct Slot {
    _permit: OwnedSemaphorePermit,
    gauge: prometheus_client::metrics::gauge::Gauge,
}

impl Slot {
    fn taken(permit: OwnedSemaphorePermit, metrics: &Metrics) -> Slot {
        metrics.outbox_in_flight.inc();
        Slot { _permit: permit, gauge: metrics.outbox_in_flight.clone() }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

fn recipient(reply: &ClaimedReply) -> Option<Recipient<'_>> {
    match (&reply.wa_id, &reply.bsuid) {
        (Some(wa_id), _) => Some(Recipient::WaId(wa_id)),
        (None, Some(bsuid)) => Some(Recipient::Bsuid(bsuid)),
        (None, None) => None,
    }
}
