//! Read receipts: the "typing…" hint while a message is handled.

use std::sync::Arc;

use governor::DefaultDirectRateLimiter;

use crate::dispatch::Receipts;
use crate::whatsapp::graph::Transport;

/// Marks messages read with a typing indicator, within the sender's throughput limit. Fire and
/// forget: a receipt that fails costs the customer nothing but the "typing…" hint.
pub(super) struct ReadReceipts {
    pub(super) transport: Arc<dyn Transport>,
    pub(super) global: Arc<DefaultDirectRateLimiter>,
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
