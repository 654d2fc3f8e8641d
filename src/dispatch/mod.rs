//! The dispatcher: inbound messages out of the inbox, through a [`Handler`], replies into the
//! outbox.
//!
//! Each round leases, for every customer with pending messages, only their oldest one (see
//! [`SqlStore::claim_inbound`]), so one customer's messages are handled strictly in order while
//! many customers are handled in parallel, by one instance or several. A message's replies are
//! queued in the same transaction that marks it done, fenced by the lease: if an instance stalls
//! past its lease and another takes the message over, nothing of the stalled one's work on it is
//! kept, so the replies are queued once. An instance that dies mid-message leaves a lease that
//! expires.
//!
//! Imports: the store port, whatsapp's message types and the leaves.

mod handler;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use tokio::sync::watch;

pub use handler::{Handled, Handler, Standing};

use crate::kv::Kv;
use crate::rounds::{self, Worked};
use crate::store::{
    ClaimedMessage, Finish, Finishing, NewOutboxMessage, QUEUE_STATISTICS_EVERY, RoundRecord, SqlStore,
    StoreError,
};
use crate::wake::{self, Name, Wake};
use crate::whatsapp::ids::{Bsuid, WaId};
use crate::whatsapp::notification::{Content, InboundMessage};
use crate::whatsapp::outbound::Outbound;

/// The KV channel on which an instance that queued messages wakes the others' dispatchers.
pub const WAKE_CHANNEL: &str = "inbox:new";
/// How often a dispatcher looks for work when nobody woke it (a lost notification, an expired lease).
const POLL: Duration = Duration::from_secs(1);
/// A message whose handling failed this many times is set aside as failed.
const MAX_ATTEMPTS: i32 = 5;
/// Cut-off rounds remembered for release at most (a long outage cuts off a round every few
/// seconds per worker); older ones are left to their leases.
const MAX_STRANDED: usize = 1024;
/// The longest wait before retrying a message whose handling failed for a store outage.
const OUTAGE_RETRY_MAX: Duration = Duration::from_secs(8);

/// What happened to one leased message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Handled; replies queued.
    Done,
    /// Set aside after repeated failures or because its stored form cannot be read.
    Failed,
    /// Left leased; it is retried when the lease expires, or within seconds after an outage.
    Retry,
    /// Another dispatcher took it over; nothing of this attempt was kept.
    LostLease,
}

/// What handling one message decided, before it is recorded.
enum Decision {
    /// Record the message as finished, queueing `replies` to `reply_to` (each remembering
    /// `question`); `secret`: and remove its text, which was a secret.
    Finish {
        finish: Finish,
        replies: Vec<Outbound>,
        reply_to: ReplyTo,
        secret: bool,
        question: Option<String>,
    },
    /// Leave it leased: it is retried when the lease expires or, when handling failed for a
    /// store outage (`outage`), within seconds, so customers are answered soon after it ends.
    Retry { outage: bool },
}

impl Decision {
    /// Record the message as `finish`ed, answering nothing.
    fn unanswered(finish: Finish) -> Self {
        let reply_to = ReplyTo { wa_id: None, bsuid: None, window_from: None };
        Decision::Finish { finish, replies: Vec::new(), reply_to, secret: false, question: None }
    }

    fn set_aside() -> Self {
        Decision::unanswered(Finish::Failed)
    }
}

/// Where a message's replies go, and since when the customer's window is open.
struct ReplyTo {
    wa_id: Option<WaId>,
    bsuid: Option<Bsuid>,
    window_from: Option<DateTime<Utc>>,
}

/// Tells the customer their message is being looked at: WhatsApp's read mark and typing
/// indicator. Best effort and immediate; it must not hold up handling.
pub trait Receipts: Send + Sync + 'static {
    /// Handling of `message_id` has started.
    fn processing(&self, message_id: &str);

    /// Handling ended: the replies to `answered` are queued (a receipt still waiting for them
    /// is not needed), and `unanswered` got none (they are marked read, without a typing hint).
    fn finished(&self, answered: &[&str], unanswered: &[&str]);
}

/// Moves messages from the inbox through a handler into the outbox.
pub struct Dispatcher {
    store: Arc<dyn SqlStore>,
    handler: Arc<dyn Handler>,
    /// This dispatcher's name: unique per process; each round's leases are named after it.
    owner: String,
    lease: Duration,
    batch: u32,
    receipts: Option<Arc<dyn Receipts>>,
    /// Woken when replies were queued, so the sender need not wait for its poll.
    outbox_wake: Option<Arc<Wake>>,
    /// The business number this instance answers for; messages to another are kept, not
    /// answered (`None`: all, as on the sandbox).
    number: Option<String>,
    /// Rounds so far: each round's leases are named `{owner}-{round}`.
    rounds: std::sync::atomic::AtomicU64,
    /// The lease names of rounds cut off by the database (a claim whose answer was lost, or a
    /// round that could not be recorded): their leases are ended as soon as it is back, so
    /// their messages are handled again at once, not when the leases run out.
    stranded: std::sync::Mutex<Vec<String>>,
}

impl Dispatcher {
    /// A dispatcher leasing messages for `lease` at a time, `batch` customers per round.
    pub fn new(store: Arc<dyn SqlStore>, handler: Arc<dyn Handler>, lease: Duration, batch: u32) -> Self {
        let owner = format!("dispatcher-{}", uuid::Uuid::new_v4().simple());
        Dispatcher {
            store,
            handler,
            owner,
            lease,
            batch,
            receipts: None,
            outbox_wake: None,
            number: None,
            rounds: std::sync::atomic::AtomicU64::new(0),
            stranded: std::sync::Mutex::default(),
        }
    }

    /// Marks each message read, with a typing indicator, when its handling first starts.
    pub fn with_receipts(mut self, receipts: Arc<dyn Receipts>) -> Self {
        self.receipts = Some(receipts);
        self
    }

    /// Answers only messages sent to business number `number` (`WHATSAPP_PHONE_NUMBER_ID`):
    /// one addressed to another number that shares the webhook is kept, marked handled, and
    /// not answered, read-marked or acted on.
    pub fn answering_for(mut self, number: Option<String>) -> Self {
        self.number = number;
        self
    }

    /// Signals `wake` whenever replies were queued.
    pub fn with_outbox_wake(mut self, wake: Arc<Wake>) -> Self {
        self.outbox_wake = Some(wake);
        self
    }

    /// One round at time `now`: leases a batch and handles it. Returns what became of each.
    ///
    /// Handling runs concurrently; the outcomes are then recorded in one transaction, each
    /// message's finish fenced by its lease and its replies queued only if the fence held.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Vec<Outcome>, StoreError> {
        Ok(self.round(now, None).await?.outcomes)
    }

    /// [`Dispatcher::run_once`], and whether a claimed message's sender had more waiting behind it.
    /// What the claim took is told to `wake`, which its signals may not have been counted by.
    async fn round(&self, now: DateTime<Utc>, wake: Option<&Wake>) -> Result<Worked<Outcome>, StoreError> {
        self.release_stranded(now).await?;
        let round = self.rounds.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let lease = format!("{}-{round}", self.owner);
        let round = async {
            let claimed = self.store.claim_inbound(&lease, now, self.lease, self.batch).await?;
            if claimed.is_empty() {
                return Ok(Worked::nothing());
            }
            if let Some(wake) = wake {
                wake.took(claimed.iter().map(|m| wake::key(&m.message_id)));
            }
            // Every claimed message belongs to a different customer, so they may run concurrently.
            let decisions = join_all(claimed.iter().map(|m| self.decide(m))).await;
            let more = claimed.iter().any(|m| m.more);
            let held = claimed.iter().map(|m| wake::key(&m.sender_key)).collect();
            Ok(Worked { outcomes: self.record(&lease, &claimed, decisions, now).await?, more, held })
        };
        let outcomes = round.await;
        match &outcomes {
            // No connection, so no statement ran: nothing is leased under this name.
            Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)) | Ok(_) => {}
            Err(_) => {
                if let Ok(mut stranded) = self.stranded.lock() {
                    if stranded.len() >= MAX_STRANDED {
                        // The oldest rounds' leases will have run out by themselves.
                        stranded.remove(0);
                    }
                    stranded.push(lease);
                }
            }
        }
        outcomes
    }

    /// Ends the leases of rounds the database cut off.
    async fn release_stranded(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut leases = match self.stranded.lock() {
            Ok(mut stranded) => std::mem::take(&mut *stranded),
            Err(_) => return Ok(()),
        };
        while let Some(lease) = leases.last() {
            match self.store.release_inbound(lease, now).await {
                Ok(0) => {}
                Ok(released) => {
                    tracing::info!(
                        messages = released,
                        "the database is back: handling again what it cut off"
                    );
                }
                Err(e) => {
                    if let Ok(mut stranded) = self.stranded.lock() {
                        stranded.extend(leases);
                    }
                    return Err(e);
                }
            }
            leases.pop();
        }
        Ok(())
    }

    /// Records a round's decisions all at once (see [`Dispatcher::run_once`] and
    /// [`SqlStore::record_round`]).
    async fn record(
        &self,
        lease: &str,
        claimed: &[ClaimedMessage],
        decisions: Vec<Decision>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, StoreError> {
        if decisions.iter().all(|d| matches!(d, Decision::Retry { outage: false })) {
            return Ok(vec![Outcome::Retry; decisions.len()]);
        }
        // What each message leaves behind, owned here for the record to borrow.
        let mut answered = Vec::with_capacity(claimed.len());
        let mut retries = Vec::new();
        for (claimed, decision) in claimed.iter().zip(&decisions) {
            match decision {
                Decision::Finish { finish, replies, reply_to, secret, question } => answered.push(Answered {
                    claimed,
                    finish: *finish,
                    reply_to,
                    question: question.as_deref(),
                    bodies: replies.iter().map(Outbound::to_body).collect(),
                    redacted: secret.then(|| redacted(&claimed.message.0)),
                }),
                Decision::Retry { outage: true } => {
                    let wait = chrono::Duration::from_std(outage_retry(claimed.attempts)).unwrap_or_default();
                    retries.push((claimed.seq, now + wait));
                }
                Decision::Retry { outage: false } => {}
            }
        }
        let finishing = answered.iter().map(|a| a.finishing(now)).collect();
        let round = RoundRecord { owner: lease, now, finishing, retries };
        let held = self.store.record_round(&round).await?;
        let mut held = held.into_iter();
        let mut answered = answered.into_iter();
        let mut kept = Vec::with_capacity(claimed.len());
        let mut outcomes = Vec::with_capacity(claimed.len());
        for decision in &decisions {
            let Decision::Finish { finish, .. } = decision else {
                outcomes.push(Outcome::Retry);
                continue;
            };
            let Some(answer) = answered.next() else { break };
            if held.next() != Some(true) {
                tracing::warn!(
                    seq = answer.claimed.seq,
                    "lease lost to another dispatcher; this attempt is discarded"
                );
                outcomes.push(Outcome::LostLease);
                continue;
            }
            kept.push(answer);
            outcomes.push(match finish {
                Finish::Done => Outcome::Done,
                Finish::Failed => Outcome::Failed,
            });
        }
        if let Some(wake) = &self.outbox_wake {
            let recipients: Vec<Name> = kept
                .iter()
                .filter(|a| !a.bodies.is_empty())
                .map(|a| Name::of(&a.claimed.sender_key, &a.claimed.message_id))
                .collect();
            if !recipients.is_empty() {
                wake.signal_for(&recipients);
            }
        }
        self.receipts_finished(&kept);
        Ok(outcomes)
    }

    /// Tells the read receipts which of a recorded round's messages were answered.
    fn receipts_finished(&self, answered: &[Answered<'_>]) {
        let Some(receipts) = &self.receipts else { return };
        let (mut replied, mut silent) = (Vec::new(), Vec::new());
        for Answered { claimed, bodies, .. } in answered {
            let finished = if bodies.is_empty() { &mut silent } else { &mut replied };
            finished.push(claimed.message_id.as_str());
        }
        receipts.finished(&replied, &silent);
    }

    /// Handles one leased message, without touching the store.
    #[tracing::instrument(skip_all, fields(seq = claimed.seq, attempt = claimed.attempts))]
    async fn decide(&self, claimed: &ClaimedMessage) -> Decision {
        let Some(message) =
            InboundMessage::from_stored(&claimed.message.0, claimed.phone_number_id.as_deref())
        else {
            tracing::error!("a stored inbound message cannot be read back; set aside");
            return Decision::set_aside();
        };
        if let (Some(ours), Some(to)) = (&self.number, &message.phone_number_id)
            && ours != to
        {
            tracing::info!("a message to another business number was kept, not answered");
            return Decision::unanswered(Finish::Done);
        }
        if claimed.attempts == 1
            && !matches!(message.content, Content::System { .. })
            && let Some(receipts) = &self.receipts
        {
            receipts.processing(&claimed.message_id);
        }
        match self.handler.handle(&message, Some(&claimed.standing)).await {
            Ok(Handled { replies, secret, question }) => {
                // System events (a number change) do not open the customer-service window.
                let window_from = match message.content {
                    Content::System { .. } => None,
                    _ => message.sent_at,
                };
                let reply_to =
                    ReplyTo { wa_id: message.sender.wa_id, bsuid: message.sender.bsuid, window_from };
                Decision::Finish { finish: Finish::Done, replies, reply_to, secret, question }
            }
            // A store outage (Redis restarting, PostgreSQL failing over) is not the message's
            // fault: it is retried for as long as the outage lasts, never set aside for it.
            Err(err) if claimed.attempts >= MAX_ATTEMPTS && !crate::store::is_outage(&err) => {
                tracing::error!(error = format!("{err:#}"), "handling failed for the last time; set aside");
                Decision::set_aside()
            }
            Err(err) if crate::store::is_outage(&err) => {
                tracing::warn!(
                    error = format!("{err:#}"),
                    "handling failed for an outage; retried in seconds"
                );
                Decision::Retry { outage: true }
            }
            Err(err) => {
                tracing::warn!(error = format!("{err:#}"), "handling failed; retried when the lease expires");
                Decision::Retry { outage: false }
            }
        }
    }

    /// Runs rounds with `workers` concurrent loops until `stop` turns true (see [`rounds::run`]).
    pub async fn run(&self, workers: usize, wake: Arc<Wake>, stop: watch::Receiver<bool>) {
        rounds::run("dispatch", workers, POLL, wake.clone(), stop, || async {
            let worked = self.round(Utc::now(), Some(&wake)).await?;
            Ok((rounds::progress(worked.outcomes.len(), worked.more, self.batch), worked.held))
        })
        .await;
    }
}

/// A handled message's outcome, ready to record: the message, how it ended, where its replies
/// go, the question they leave on screen, their Graph API bodies, and its stored form without
/// its secret, if it had one.
struct Answered<'a> {
    claimed: &'a ClaimedMessage,
    finish: Finish,
    reply_to: &'a ReplyTo,
    question: Option<&'a str>,
    bodies: Vec<serde_json::Value>,
    redacted: Option<serde_json::Value>,
}

impl Answered<'_> {
    /// What the store records of it: its replies queued to its sender, in order.
    fn finishing(&self, now: DateTime<Utc>) -> Finishing<'_> {
        let (claimed, reply_to) = (self.claimed, self.reply_to);
        let replies = self
            .bodies
            .iter()
            .map(|body| NewOutboxMessage {
                recipient_key: &claimed.sender_key,
                wa_id: reply_to.wa_id.as_ref().map(|w| w.as_str()),
                bsuid: reply_to.bsuid.as_ref().map(|b| b.as_str()),
                in_reply_to: Some(&claimed.message_id),
                body,
                window_from: reply_to.window_from,
                created_at: now,
                scrub_after: None,
                question: self.question,
            })
            .collect();
        Finishing { seq: claimed.seq, finish: self.finish, redacted: self.redacted.as_ref(), replies }
    }
}

/// The wait before retrying a message whose `attempts`-th handling failed for an outage: 1 s,
/// doubling, at most [`OUTAGE_RETRY_MAX`].
fn outage_retry(attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(10);
    Duration::from_secs(2u64.pow(exponent)).min(OUTAGE_RETRY_MAX)
}

/// What the inbox keeps of a message whose text was a secret: the message without it.
fn redacted(message: &serde_json::Value) -> serde_json::Value {
    let mut message = message.clone();
    if let Some(body) = message.pointer_mut("/text/body") {
        *body = serde_json::Value::String(REDACTED.to_owned());
    }
    message
}

/// What replaces a secret in the inbox.
pub const REDACTED: &str = "[a PIN, a code or an identity number: not kept]";

/// Relays wake-ups published by other instances (see [`WAKE_CHANNEL`]) to this one's dispatcher,
/// resubscribing when the KV connection drops, until `stop` turns true. Its own, published
/// under [`Wake::origin`], come back too, and are left out: the dispatcher heard of them first.
pub async fn relay_wakeups(kv: Arc<dyn Kv>, wake: Arc<Wake>, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        match kv.subscribe(WAKE_CHANNEL).await {
            Ok(mut subscription) => loop {
                tokio::select! {
                    message = subscription.next() => match message {
                        Some(origin) if !from_elsewhere(&wake, &origin) => {}
                        Some(_) => wake.signal(),
                        None => break,
                    },
                    _ = stop.changed() => return,
                }
            },
            Err(err) => tracing::warn!(error = %err, "cannot subscribe to inbox wake-ups; polling meanwhile"),
        }
        // Whatever was published while unsubscribed: look once, then resubscribe after a pause.
        wake.signal();
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Whether a wake-up relayed through the KV was published by another instance than `wake`'s.
fn from_elsewhere(wake: &Wake, origin: &[u8]) -> bool {
    origin != wake.origin().as_bytes()
}

/// Keeps the planner's statistics of the queues up with their growth
/// ([`SqlStore::refresh_queue_statistics`]), every [`QUEUE_STATISTICS_EVERY`], until `stop`.
/// A failure is logged once until the next success: the rounds report an outage themselves.
pub async fn keep_queue_statistics(store: Arc<dyn SqlStore>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(QUEUE_STATISTICS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|stopping| *stopping) => return,
        }
        match store.refresh_queue_statistics().await {
            Ok(tables) => {
                failing = false;
                if !tables.is_empty() {
                    tracing::info!(
                        ?tables,
                        "analyzed tables that outgrew the statistics their plans were made on"
                    );
                }
            }
            Err(err) if !failing => {
                failing = true;
                tracing::warn!(error = %err, "cannot keep the queues' statistics up to date");
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instances_own_wake_up_coming_back_is_not_relayed() {
        let (ours, theirs) = (Wake::default(), Wake::default());
        assert!(!from_elsewhere(&ours, ours.origin().as_bytes()));
        assert!(from_elsewhere(&ours, theirs.origin().as_bytes()));
        // An instance of a build before names were published sends none: relayed.
        assert!(from_elsewhere(&ours, b""));
    }
}
