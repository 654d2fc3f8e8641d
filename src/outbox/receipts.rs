//! Read receipts: the "typing…" hint while a message is handled, only when the customer would
//! otherwise wait.
//!
//! A receipt is a request to the Graph API of its own, one for every message. Most messages are
//! answered within milliseconds, and an answer ends the typing hint at once, so for them the
//! hint shows nothing and the request is a third of the HTTP traffic for no one. So a receipt
//! waits [`RECEIPT_WAIT`] after handling starts, and is sent only if the message has not been
//! answered by then (its replies queued): a slow answer (a model, a voice note, a bank call)
//! still shows "typing…", and a message that gets no answer at all (a reaction) is marked read
//! when its handling ends, without the hint (Meta: show it only if you are going to respond).
//! The price: a message answered at once is not marked read (no blue ticks) by itself;
//! the next receipt sent marks it read with it, as WhatsApp marks earlier messages read too.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::DefaultDirectRateLimiter;

use crate::dispatch::Receipts;
use crate::whatsapp::graph::Transport;

/// How long a receipt waits for the message's answer before it is sent.
pub const RECEIPT_WAIT: Duration = Duration::from_millis(300);
/// Receipts waiting at most; beyond, a receipt is sent at once (memory stays bounded whatever
/// the load).
const MOST_WAITING: usize = 10_000;

/// Marks messages read with a typing indicator, within the sender's throughput limit, unless
/// they are answered first. Fire and forget: a receipt that fails costs the customer nothing
/// but the "typing…" hint.
#[derive(Clone)]
pub(super) struct ReadReceipts {
    pub(super) transport: Arc<dyn Transport>,
    pub(super) global: Arc<DefaultDirectRateLimiter>,
    /// Messages whose receipt waits for their answer.
    pub(super) waiting: Arc<Mutex<HashSet<String>>>,
}

impl ReadReceipts {
    /// Sends `message_id`'s receipt now, on its own task; with a typing hint when an answer is
    /// on its way.
    fn send(&self, message_id: String, typing: bool) {
        let (transport, global) = (self.transport.clone(), self.global.clone());
        tokio::spawn(async move {
            // Under a backlog a receipt is not worth a send slot: skip it rather than queue.
            if global.check().is_err() {
                return;
            }
            if let Err(e) = transport.mark_read(&message_id, typing).await {
                tracing::debug!(error = %e, "marking a message read failed");
            }
        });
    }
}

impl Receipts for ReadReceipts {
    fn processing(&self, message_id: &str) {
        let queued = self
            .waiting
            .lock()
            .map(|mut waiting| waiting.len() < MOST_WAITING && waiting.insert(message_id.to_owned()))
            .unwrap_or(false);
        if !queued {
            self.send(message_id.to_owned(), true);
            return;
        }
        let (waiting, receipts) = (self.waiting.clone(), self.clone());
        let message_id = message_id.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(RECEIPT_WAIT).await;
            let unanswered = waiting.lock().map(|mut w| w.remove(&message_id)).unwrap_or(false);
            if unanswered {
                receipts.send(message_id, true);
            }
        });
    }

    fn finished(&self, answered: &[&str], unanswered: &[&str]) {
        let mut silent = Vec::new();
        if let Ok(mut waiting) = self.waiting.lock() {
            for id in answered {
                waiting.remove(*id);
            }
            silent.extend(unanswered.iter().filter(|id| waiting.remove(**id)).map(|id| (*id).to_owned()));
        }
        for id in silent {
            self.send(id, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::whatsapp::graph::{Accepted, SendError, SendRequest};
    use governor::{Quota, RateLimiter};

    #[derive(Default)]
    struct Marks(Mutex<Vec<(String, bool)>>);

    #[async_trait::async_trait]
    impl Transport for Marks {
        async fn send(&self, _: &SendRequest<'_>) -> Result<Accepted, SendError> {
            unreachable!("receipts send no messages")
        }
        async fn mark_read(&self, message_id: &str, typing: bool) -> Result<(), SendError> {
            self.0.lock().unwrap().push((message_id.to_owned(), typing));
            Ok(())
        }
        fn name(&self) -> &'static str {
            "marks"
        }
    }

    fn receipts(marks: &Arc<Marks>) -> ReadReceipts {
        let rate = std::num::NonZeroU32::new(1000).unwrap();
        ReadReceipts {
            transport: marks.clone(),
            global: Arc::new(RateLimiter::direct(Quota::per_second(rate))),
            waiting: Arc::default(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn only_a_message_unanswered_after_the_wait_shows_typing_and_one_never_answered_is_read_without() {
        let marks = Arc::new(Marks::default());
        let receipts = receipts(&marks);
        receipts.processing("wamid.quick");
        receipts.processing("wamid.slow");
        receipts.processing("wamid.reaction");
        tokio::time::sleep(RECEIPT_WAIT / 2).await;
        receipts.finished(&["wamid.quick"], &[]);
        assert!(marks.0.lock().unwrap().is_empty(), "nothing is sent before the wait is over");
        receipts.finished(&[], &["wamid.reaction"]);
        tokio::task::yield_now().await;
        assert_eq!(*marks.0.lock().unwrap(), [("wamid.reaction".to_owned(), false)], "read, no typing");
        tokio::time::sleep(RECEIPT_WAIT).await;
        // The tasks ran on the paused clock; let the send task finish.
        tokio::task::yield_now().await;
        assert_eq!(marks.0.lock().unwrap()[1..], [("wamid.slow".to_owned(), true)]);
        assert!(receipts.waiting.lock().unwrap().is_empty(), "nothing is left waiting");
    }
}
