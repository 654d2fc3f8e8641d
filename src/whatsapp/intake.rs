//! Group commit at the inbox's door: webhooks that arrive together are stored in one unit of
//! work, and each is answered only after the commit that holds it.
//!
//! Meta sends each message in its own webhook, and under load many at once. Stored one unit of
//! work each, every message costs the database a transaction and a commit (an fsync on a
//! durable PostgreSQL, a journal sync on SQLite). Here a few writers take whatever webhooks are
//! waiting, up to [`MOST_PER_COMMIT`], and store them together: under load one commit holds
//! many webhooks, and a lone webhook waits for nobody (a writer takes it at once). If a group's
//! unit of work fails, each of its webhooks is tried again in a unit of work of its own, so one
//! webhook that cannot be stored never costs the others theirs.
//!
//! Each group, once committed, is one wake-up of the dispatcher, naming the senders of its new
//! messages: a wake-up per webhook woke a worker per webhook, and all but the first found
//! their messages already claimed by the round the first began.
//!
//! Imports: the inbox's door, the store port and the wake-up.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::inbox::{Accepted, Incoming, accept, accept_all};
use super::notification::Notification;
use crate::store::{SqlStore, StoreError};
use crate::wake::{Name, Wake};

/// The most webhooks one commit holds.
pub const MOST_PER_COMMIT: usize = 64;
/// Webhooks waiting for a writer at most; a request beyond this waits to hand its webhook over
/// (the HTTP server's own concurrency limit bounds how many wait).
const QUEUE: usize = 1024;

/// One verified webhook waiting to be stored, and where to say how that went.
struct Webhook {
    body: bytes::Bytes,
    notification: Notification,
    problems: Option<String>,
    received_at: DateTime<Utc>,
    done: oneshot::Sender<Result<Accepted, StoreError>>,
}

/// Stores verified webhooks, grouping those that arrive together into one commit.
pub struct Intake {
    queue: mpsc::Sender<Webhook>,
}

impl Intake {
    /// `writers` tasks storing webhooks into `store` (one commit in flight per writer), each
    /// commit of new messages signalling `wake`.
    pub fn start(store: Arc<dyn SqlStore>, writers: usize, wake: Arc<Wake>) -> Intake {
        let (queue, waiting) = mpsc::channel(QUEUE);
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..writers.max(1) {
            tokio::spawn(write(store.clone(), waiting.clone(), wake.clone()));
        }
        Intake { queue }
    }

    /// Stores `body` (as [`accept`] does) and returns once it is committed, or why not.
    pub async fn accept(
        &self,
        body: bytes::Bytes,
        notification: Notification,
        problems: Option<String>,
        received_at: DateTime<Utc>,
    ) -> Result<Accepted, StoreError> {
        let (done, outcome) = oneshot::channel();
        let webhook = Webhook { body, notification, problems, received_at, done };
        self.queue.send(webhook).await.map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

/// The writers have stopped (the process is shutting down): the webhook was not stored, and
/// Meta will deliver it again.
fn stopped() -> StoreError {
    StoreError::Unavailable(sqlx::Error::PoolClosed)
}

/// One writer: takes the webhooks waiting (at least one), stores them, answers each; until the
/// queue closes.
async fn write(store: Arc<dyn SqlStore>, waiting: Arc<Mutex<mpsc::Receiver<Webhook>>>, wake: Arc<Wake>) {
    let mut group = Vec::with_capacity(MOST_PER_COMMIT);
    loop {
        {
            let mut waiting = waiting.lock().await;
            if waiting.recv_many(&mut group, MOST_PER_COMMIT).await == 0 {
                return;
            }
        }
        store_group(store.as_ref(), &mut group, &wake).await;
    }
}

/// Stores `group` in one unit of work, signals `wake` for its new messages, and answers each
/// webhook; if that fails, stores each in its own. Leaves `group` empty.
async fn store_group(store: &dyn SqlStore, group: &mut Vec<Webhook>, wake: &Wake) {
    if group.len() > 1 {
        match together(store, group).await {
            Ok(accepted) => {
                let new = group.iter().zip(&accepted).filter(|(_, a)| a.new_messages > 0);
                let named: Vec<Name> = new.flat_map(|(webhook, _)| names(&webhook.notification)).collect();
                if !named.is_empty() {
                    wake.signal_for(&named);
                }
                for (webhook, accepted) in group.drain(..).zip(accepted) {
                    let _ = webhook.done.send(Ok(accepted));
                }
                return;
            }
            // The store is down: each alone would fail too, one timeout after another.
            Err(err) if err.is_unavailable() => {
                let cause = err.to_string();
                for webhook in group.drain(..) {
                    let again = std::io::Error::other(cause.clone());
                    let _ = webhook.done.send(Err(StoreError::Unavailable(sqlx::Error::Io(again))));
                }
                return;
            }
            Err(err) => {
                tracing::warn!(
                    error = %err,
                    webhooks = group.len(),
                    "a group of webhooks could not be stored together; storing each alone"
                );
            }
        }
    }
    for webhook in group.drain(..) {
        let outcome = accept(
            store,
            &webhook.body,
            &webhook.notification,
            webhook.problems.clone(),
            webhook.received_at,
        )
        .await;
        if matches!(&outcome, Ok(accepted) if accepted.new_messages > 0) {
            wake.signal_for(&names(&webhook.notification));
        }
        let _ = webhook.done.send(outcome);
    }
}

/// `notification`'s messages and their senders, as wake-ups name them: the dispatcher's rounds
/// that hold one of the senders look again for a message no claim took (see [`crate::rounds`]).
fn names(notification: &Notification) -> Vec<Name> {
    notification.messages.iter().map(|m| Name::of(&m.sender.key(), m.id.as_str())).collect()
}

/// Every webhook of `group`, all of them or none ([`accept_all`]).
async fn together(store: &dyn SqlStore, group: &[Webhook]) -> Result<Vec<Accepted>, StoreError> {
    let incoming: Vec<Incoming<'_>> = group
        .iter()
        .map(|w| Incoming {
            body: &w.body,
            notification: &w.notification,
            problems: w.problems.as_deref(),
            received_at: w.received_at,
        })
        .collect();
    accept_all(store, &incoming).await
}
