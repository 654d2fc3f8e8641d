//! The WhatsApp edge, without HTTP serving: Meta's notifications read and stored in the durable
//! inbox ([`inbox`]), typed outbound messages within Meta's limits ([`outbound`]), the Graph
//! API client and the sandbox ([`graph`]). `http::webhook` verifies the signature and calls
//! [`inbox::accept`].
//!
//! Imports: the store port, the leaves (money, phone, config); never the app state or axum.

pub mod account;
pub mod flow_crypto;
pub mod form;
pub mod graph;
pub mod health;
pub mod ids;
pub mod inbox;
pub mod intake;
pub mod manage;
pub mod notification;
pub mod outbound;
