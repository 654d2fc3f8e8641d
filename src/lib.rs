//! teller: conversational banking over WhatsApp.
//!
//! # Layout
//!
//! The binary (`src/main.rs`) only parses the command line and calls [`cli::run`]; everything
//! else is this library, so tests build and serve the very same application on port 0.
//!
//! - [`config`]: the environment, parsed once into typed values; secrets stay in `secrecy` types.
//! - [`telemetry`]: tracing setup and the masking helpers every log line about a customer uses.
//! - [`store`]: the SQL storage port ([`store::SqlStore`]) with its PostgreSQL and SQLite
//!   adapters and their embedded migrations.
//! - [`kv`]: the key-value port ([`kv::Kv`]) with its Redis and in-memory adapters: sessions,
//!   OTPs, counters, short locks and change notifications live there, always with a TTL.
//! - [`http`]: the axum router, its middleware (request id, metrics, limits, timeouts) and the
//!   operational routes (`/health`, `/metrics`).
//! - [`metrics`]: the Prometheus registry every module records into.
//! - [`whatsapp`]: the WhatsApp edge: signed webhooks into the durable, deduplicated inbox,
//!   typed outbound messages that respect Meta's limits, and the Graph API client.
//! - [`dispatch`]: inbox messages through a handler into the outbox, in order per customer.
//! - [`flows`]: the flow language (YAML in `flows/`), its compiler (`teller flows check`) and
//!   the pure engine that runs compiled flows.
//! - [`conversation`]: the engine's host: sessions in the KV, actions, pinned flow versions;
//!   the dispatcher's handler.
//! - [`nlu`]: free text as requests: rule-based intents and entities in every shipped
//!   language, an optional guarded model, voice notes, and `teller nlu eval`.
//! - [`releases`]: the flow lifecycle in the SQL store: baseline, drafts, publication,
//!   rollback, every change audited.
//! - [`admin`]: `/admin`, the console and its JSON API: admin accounts with roles, TOTP and
//!   sessions; flows, customers and the audit log.
//! - [`hashing`]: argon2id for PINs and passwords within a memory budget, so a flood of
//!   checks is shed instead of exhausting memory.
//! - [`money`]: amounts as customers type them and as teller shows them, in minor units.
//! - [`outbox`]: the sender that drains the outbox to the Graph API (or the sandbox), in order
//!   per customer, within Meta's rate limits and the 24-hour window, retrying by error class.
//! - [`worker`]: `teller worker`, the scheduled jobs (stuck transfers, session cleanup,
//!   monthly fees, retention) under leases in the SQL store.
//! - [`rounds`]: the worker loop the dispatcher and the sender share.
//! - [`app`]: wires configuration into running adapters and serves the router until shutdown.
//! - [`chat`]: `teller chat`, the terminal conversation through the simulator's API.
//! - [`simulator`]: `/simulator`, the WhatsApp-like page (and API) to chat on the sandbox.
//! - [`loadgen`]: `teller loadgen`, the load generator behind `BENCHMARKS.md`.
//! - [`shutdown`]: the signal that stops intake and the bound on draining in-flight work.
//!
//! Which backend runs is decided by configuration alone: `DATABASE_URL`'s scheme picks the SQL
//! adapter and the presence of `REDIS_URL` picks the KV adapter. With neither set, teller runs on
//! the embedded default (a SQLite file and in-process memory) and needs nothing installed.

pub mod admin;
pub mod app;
pub mod bank;
pub mod chat;
pub mod cli;
pub mod clock;
pub mod config;
pub mod conversation;
pub mod dispatch;
pub mod flows;
pub mod hashing;
pub mod http;
pub mod kv;
pub mod loadgen;
pub mod metrics;
pub mod money;
pub mod nlu;
pub mod outbox;
pub mod releases;
pub mod rounds;
pub mod shutdown;
pub mod simulator;
pub mod store;
pub mod telemetry;
pub mod whatsapp;
pub mod worker;
