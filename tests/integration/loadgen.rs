//! `teller loadgen` against a real `teller serve`, small: every message is answered once and in
//! order on both stacks, as loadgen's own check reports it (the throughput figures are for
//! BENCHMARKS.md, never asserted here).

use teller::config::SqlBackend;

use crate::harness::{self, TestDb};

/// Runs loadgen (which starts `serve` from this build) on `db`, with `redis` for the KV or
/// memory, and `extra` arguments; returns its report.
fn loadgen(db: &TestDb, redis: Option<&str>, extra: &[&str]) -> String {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_teller"));
    command
        .args([
            "loadgen",
            "--messages",
            "600",
            "--customers",
            "150",
            "--concurrency",
            "16",
            "--drain-secs",
            "60",
        ])
        .args(extra)
        .env("DATABASE_URL", &db.url)
        .env_remove("TELLER_ROLE");
    match redis {
        Some(url) => command.env("REDIS_URL", url),
        None => command.env_remove("REDIS_URL"),
    };
    let out = command.output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{report}\n{}", String::from_utf8_lossy(&out.stderr));
    report
}

fn line<'a>(report: &'a str, start: &str) -> &'a str {
    report.lines().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("no `{start}` in:\n{report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_is_answered_once_in_order_on_the_embedded_default() {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    let report = tokio::task::spawn_blocking(move || loadgen(&db, None, &[])).await.unwrap();
    assert!(line(&report, "replies received").starts_with("replies received       600 of 600;"), "{report}");
    assert_eq!(line(&report, "lost, duplicated"), "lost, duplicated, out of order 0 0 0", "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_is_answered_once_in_order_on_postgres_and_redis() {
    let db = TestDb::new(SqlBackend::Postgres).await;
    let redis = harness::required_env("TEST_REDIS_URL");
    let report = tokio::task::spawn_blocking(move || loadgen(&db, Some(&redis), &[])).await.unwrap();
    assert_eq!(line(&report, "lost, duplicated"), "lost, duplicated, out of order 0 0 0", "{report}");
    assert!(line(&report, "replies received").starts_with("replies received       600 of 600;"), "{report}");
}

/// Meta delivers a webhook again when it missed the 200 (after an outage, by the thousand): half
/// the webhooks come twice, each repeat answered 200, stored once and answered never. A group
/// holding a repeat fails its one-statement store and is stored in a unit of work instead.
async fn a_storm_of_redelivered_webhooks_leaves_each_message_answered_once(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let redis = (backend == SqlBackend::Postgres).then(|| harness::required_env("TEST_REDIS_URL"));
    let report = tokio::task::spawn_blocking(move || loadgen(&db, redis.as_deref(), &["--redeliver", "50"]))
        .await
        .unwrap();
    assert_eq!(
        line(&report, "messages sent"),
        "messages sent          600 in 600 webhooks (0 failed, 300 delivered twice)",
        "{report}"
    );
    assert!(line(&report, "replies received").starts_with("replies received       600 of 600;"), "{report}");
    assert!(line(&report, "read receipts").ends_with("unmatched replies 0"), "{report}");
    assert_eq!(line(&report, "lost, duplicated"), "lost, duplicated, out of order 0 0 0", "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_redelivered_webhooks_leaves_each_message_answered_once_on_postgres_and_redis() {
    a_storm_of_redelivered_webhooks_leaves_each_message_answered_once(SqlBackend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_redelivered_webhooks_leaves_each_message_answered_once_on_the_embedded_default() {
    a_storm_of_redelivered_webhooks_leaves_each_message_answered_once(SqlBackend::Sqlite).await;
}

/// The ledger under load (`--ledger`): 600 internal transfers between 150 wallets, half of them
/// asked twice with the same key, each posted once, each repeat answered with the first answer,
/// the ledger sound after. A second run on the same database is refused before it opens a
/// wallet: it would credit money into a bank that has customers.
async fn the_ledger_under_load_posts_each_transfer_once_and_stays_sound(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let redis = (backend == SqlBackend::Postgres).then(|| harness::required_env("TEST_REDIS_URL"));
    let (db, report) = tokio::task::spawn_blocking(move || {
        let report = loadgen(&db, redis.as_deref(), &["--ledger", "--redeliver", "50"]);
        (db, report)
    })
    .await
    .unwrap();
    assert_eq!(
        line(&report, "transfers"),
        "transfers              600 asked: 600 posted, 0 refused, 0 failed; 300 asked twice, 0 answered otherwise",
        "{report}"
    );
    assert!(line(&report, "throughput").contains(" transfers/s over "), "{report}");
    assert_eq!(line(&report, "ledger sound"), "ledger sound           yes", "{report}");

    let store = db.store().await;
    let income = || async {
        let mut tx = store.begin().await.unwrap();
        let income = tx.bank().system_balance("fee_income", "NGN").await.unwrap();
        tx.rollback().await.unwrap();
        income
    };
    let before = income().await;
    assert_eq!(before, 600 * 10 * 100, "each transfer paid its ₦10 fee once");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_teller"))
        .args(["loadgen", "--ledger", "--messages", "10", "--customers", "5"])
        .env("DATABASE_URL", &db.url)
        .env_remove("REDIS_URL")
        .env_remove("TELLER_ROLE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("give it a database with no customers"), "{stderr}");
    assert_eq!(income().await, before, "the refused run moved money");
    // Read again from outside loadgen, not taking its word for it.
    let clock = std::sync::Arc::new(teller::clock::ManualClock::new(chrono::Utc::now()));
    let rules = teller::bank::rules::Rules::load(None).unwrap();
    let bank = harness::bank_with(store.clone(), harness::kv(harness::KvKind::Memory), clock, rules);
    harness::assert_ledger_sound(&bank).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_under_load_posts_each_transfer_once_and_stays_sound_on_postgres_and_redis() {
    the_ledger_under_load_posts_each_transfer_once_and_stays_sound(SqlBackend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_under_load_posts_each_transfer_once_and_stays_sound_on_the_embedded_default() {
    the_ledger_under_load_posts_each_transfer_once_and_stays_sound(SqlBackend::Sqlite).await;
}
