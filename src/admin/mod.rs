//! Admin accounts and what admins work with, without HTTP (`http::admin` serves them):
//!
//! - [`roles`]: the roles, their capabilities, and an admin's TOTP.
//! - [`accounts`]: owners inviting admins, changing roles, disabling and resetting accounts.
//! - [`create`]: `teller admin create`.
//! - [`operations`]: operators' money corrections, with a second admin's approval above an
//!   amount.
//! - [`preview`]: chatting with a draft before any customer sees it, against a bank of its own.
//!
//! Every change an admin makes is audited in the same unit of work as the change.
//!
//! Imports: the bank, conversations and releases (use cases), the ports and the leaves; never
//! the app state or axum.

pub mod accounts;
pub mod create;
pub mod operations;
pub mod preview;
pub mod roles;
pub mod secrets;

pub use roles::{Capability, Role, totp_for};
