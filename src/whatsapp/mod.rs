//! The WhatsApp edge: verifying and reading Meta's webhooks into the durable inbox.
//!
//! `POST /webhook` hashes the raw body before anything parses it, answers 401 and stores nothing
//! when the signature does not verify, and otherwise commits the payload, each new message (once
//! per message id) and each delivery status in one transaction before answering 200.

pub mod graph;
pub mod ids;
pub mod notification;
pub mod outbound;
pub mod signature;
pub mod webhook;
