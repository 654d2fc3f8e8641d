//! Integration tests: the app built from the library, against real PostgreSQL, Redis, SQLite and
//! memory stores. One test binary (modules below) keeps linking cheap.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod harness;

mod admin;
mod admin_accounts;
mod admin_console;
mod admins_console;
mod bank;
mod bills;
mod browser;
mod care;
mod care_console;
mod care_instances;
mod conversations;
mod crash;
mod deploy;
mod dispatch;
mod fake_paystack;
mod fake_server;
mod fees;
mod flows;
mod forms;
mod forms_endpoint;
mod forms_reset;
mod http;
mod kv_store;
mod layers;
mod ledger_parts;
mod lifecycle;
mod loadgen;
mod loans;
mod logscan;
mod nlu;
mod operations;
mod operations_console;
mod outbox;
mod paystack;
mod pin_reset;
mod preview;
mod queue_history;
mod resilience;
mod round_record;
mod secrets;
mod simulator;
mod sql_store;
mod taps;
mod texts_api;
mod texts_console;
mod usernames;
mod webhook;
mod whatsapp_health;
mod whatsapp_manage;
mod worker;
