//! teller: conversational banking over WhatsApp.
//!
//! # Layout
//!
//! The binary (`src/main.rs`) only parses the command line and calls [`cli::run`]; everything
//! else is this library, so tests build and serve the very same application on port 0.
//!
//! The library is layered, and imports point down only (`tests/integration/layers.rs` keeps
//! the rule):
//!
//! ```text
//!  cli            the command line, `teller chat`, `teller loadgen`
//!   └ app         wiring: configuration → adapters → the app state; `serve`, `teller worker`
//!      └ http     the only module naming the app state or axum: routes and middleware
//!         └ use cases   conversation, bank, releases, admin, worker, dispatch, outbox, nlu
//!            └ ports    store (SQL), kv, flows (compiler and engine; owns the action trait),
//!                       whatsapp (the Cloud API's messages, the inbox's door, the client)
//!               └ leaves  money, phone, locale, clock, signature, hashing, config, metrics,
//!                         shutdown
//! ```
//!
//! From the top:
//! - [`cli`]: the commands; [`cli::chat`] (`teller chat`, the terminal conversation through
//!   the simulator's API) and [`cli::loadgen`] (`teller loadgen`, behind `BENCHMARKS.md`).
//! - [`app`]: wires configuration into running adapters and serves the router until shutdown;
//!   runs `teller worker`.
//! - [`http`]: the axum router and its middleware (request id, metrics, limits, timeouts), the
//!   app state, and every route: `/health` and `/metrics`, `/webhook` (Meta's handshake and
//!   signed notifications into the inbox), `/webhook/payments`, `/simulator`, `/admin` and its
//!   API, and the worker's own port.
//! - [`conversation`]: the engine's host: sessions in the KV, actions (their outcomes kept by
//!   idempotency key), pinned flow versions; the dispatcher's handler.
//! - [`bank`]: customers, PINs, one-time codes and the authenticator, the double-entry ledger,
//!   transfers and the rail port, credits, fees, statements, loans, and the actions flows call.
//! - [`releases`]: the flow lifecycle in the SQL store: baseline, drafts, approval,
//!   publication, rollback, every change audited.
//! - [`admin`]: admin roles, `teller admin create`, and the preview bank drafts are tried on.
//! - [`worker`]: the scheduled jobs (stuck transfers, session cleanup, monthly fees, loans,
//!   retention) under leases in the SQL store.
//! - [`dispatch`]: inbox messages through a handler into the outbox, in order per customer.
//! - [`outbox`]: the sender that drains the outbox to the Graph API (or the sandbox), in order
//!   per customer, within Meta's rate limits and the 24-hour window, retrying by error class.
//! - [`rounds`]: the worker loop the dispatcher and the sender share.
//! - [`whatsapp`]: the WhatsApp edge without serving: the notification model, the inbox's
//!   door, typed outbound messages that respect Meta's limits, the Graph API client.
//! - [`nlu`]: free text as requests: rule-based intents and entities in every shipped
//!   language, an optional guarded model, voice notes, and `teller nlu eval`.
//! - [`store`]: the SQL storage port ([`store::SqlStore`]) with its PostgreSQL and SQLite
//!   adapters and their embedded migrations.
//! - [`kv`]: the key-value port ([`kv::Kv`]) with its Redis and in-memory adapters: sessions,
//!   OTPs, counters, short locks and change notifications live there, always with a TTL.
//! - [`flows`]: the flow language (YAML in `flows/`), its compiler (`teller flows check`), the
//!   action trait and catalogue it compiles against, and the pure engine.
//! - Leaves, which import nothing but each other: [`money`] (amounts as typed and as shown, in
//!   minor units), [`phone`] (the customer key and the one mask), [`locale`] (the languages),
//!   [`clock`], [`signature`] (HMAC body signatures), [`hashing`] (argon2id within a memory
//!   budget), [`config`] (the environment, parsed once; secrets stay in `secrecy` types),
//!   [`metrics`], [`shutdown`], [`telemetry`] (tracing setup), and [`wake`] (a queue's counted
//!   wake-up).
//!
//! Which backend runs is decided by configuration alone: `DATABASE_URL`'s scheme picks the SQL
//! adapter and the presence of `REDIS_URL` picks the KV adapter. With neither set, teller runs on
//! the embedded default (a SQLite file and in-process memory) and needs nothing installed.

pub mod admin;
pub mod app;
pub mod bank;
pub mod cli;
pub mod clock;
pub mod config;
pub mod conversation;
pub mod dispatch;
pub mod flows;
pub mod hashing;
pub mod http;
pub mod kv;
pub mod locale;
pub mod metrics;
pub mod money;
pub mod nlu;
pub mod outbox;
pub mod phone;
pub mod releases;
pub mod rounds;
pub mod sealed;
pub mod shutdown;
pub mod signature;
pub mod store;
pub mod telemetry;
pub mod wake;
pub mod whatsapp;
pub mod worker;
