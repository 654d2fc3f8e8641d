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
