//! The SQL port's behaviour suite: every test runs on PostgreSQL and on SQLite.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use sqlx::Connection;
use teller::config::SqlBackend;
use teller::store::{NewAuditEvent, SqlStore, StoreError};

use crate::harness::{TestDb, on_both_sql_backends};

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_790_000_000 + secs, 0).single().unwrap()
}

fn event(n: i64) -> NewAuditEvent {
    NewAuditEvent {
        occurred_at: at(n),
        actor: "admin:1".into(),
        action: "flow.published".into(),
        subject: format!("flow:transfer@{n}"),
        detail: json!({ "version": n, "note": "naïve ₦ text" }),
    }
}

async fn append_and_commit(store: &Arc<dyn SqlStore>, n: i64) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let id = tx.append_audit(&event(n)).await.unwrap();
    tx.commit().await.unwrap();
    id
}

on_both_sql_backends!(
    flow_versions_are_kept_once_and_never_overwritten,
    a_customers_language_is_kept_and_replaced,
    a_fresh_database_is_behind_until_migrated,
    migrating_twice_applies_nothing_the_second_time,
    an_edited_migration_is_detected,
    committed_work_is_visible_and_reads_back_exactly,
    rolled_back_or_dropped_work_leaves_nothing,
    uncommitted_work_is_invisible_to_other_connections,
    concurrent_units_of_work_all_commit,
    concurrent_read_then_write_units_of_work_all_commit,
    a_unit_of_work_sees_its_own_writes,
    a_rejected_write_fails_its_unit_of_work_and_changes_nothing,
    the_store_answers_ping,
);

async fn a_fresh_database_is_behind_until_migrated(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = teller::store::connect(&db.config).await.unwrap();

    let status = store.schema_status().await.unwrap();
    assert!(!status.is_current());
    assert!(!status.pending.is_empty());
    let err = status.ensure_current().unwrap_err();
    assert!(err.to_string().contains("teller migrate"), "{err}");

    store.migrate().await.unwrap();
    let status = store.schema_status().await.unwrap();
    assert!(status.is_current(), "{status:?}");
    assert!(status.pending.is_empty() && status.unknown.is_empty() && status.changed.is_empty());
}

async fn migrating_twice_applies_nothing_the_second_time(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = teller::store::connect(&db.config).await.unwrap();
    let first = store.migrate().await.unwrap();
    assert!(!first.is_empty());
    assert_eq!(store.migrate().await.unwrap(), Vec::<i64>::new());
    assert_eq!(store.schema_status().await.unwrap().applied, first);
}

async fn an_edited_migration_is_detected(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let version = store.schema_status().await.unwrap().applied[0];
    // Reach around the port to simulate a migration file edited after it was applied.
    match backend {
        SqlBackend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query("UPDATE _sqlx_migrations SET checksum = '\\x00'::bytea WHERE version = $1")
                .bind(version)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        SqlBackend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query("UPDATE _sqlx_migrations SET checksum = X'00' WHERE version = ?1")
                .bind(version)
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
    let status = store.schema_status().await.unwrap();
    assert_eq!(status.changed, vec![version]);
    let err = status.ensure_current().unwrap_err();
    assert!(matches!(err, StoreError::Schema(_)), "{err}");
    assert!(err.to_string().contains("never be edited"), "{err}");
}

async fn committed_work_is_visible_and_reads_back_exactly(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let ids = [append_and_commit(&store, 1).await, append_and_commit(&store, 2).await];
    assert!(ids[0] < ids[1], "ids increase: {ids:?}");

    let events = store.recent_audit(10).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].id, ids[1], "newest first");
    assert_eq!(events[0].event, event(2));
    assert_eq!(events[1].event, event(1));
    assert_eq!(store.recent_audit(1).await.unwrap().len(), 1);
}

async fn rolled_back_or_dropped_work_leaves_nothing(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let mut tx = store.begin().await.unwrap();
    tx.append_audit(&event(1)).await.unwrap();
    tx.rollback().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    tx.append_audit(&event(2)).await.unwrap();
    drop(tx);

    assert!(store.recent_audit(10).await.unwrap().is_empty());
}

async fn uncommitted_work_is_invisible_to_other_connections(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let mut tx = store.begin().await.unwrap();
    tx.append_audit(&event(1)).await.unwrap();
    assert!(store.recent_audit(10).await.unwrap().is_empty(), "visible before commit");
    tx.commit().await.unwrap();
    assert_eq!(store.recent_audit(10).await.unwrap().len(), 1);
}

async fn concurrent_units_of_work_all_commit(backend: SqlBackend) {
    // SQLite has one writer at a time: units of work must queue for the write lock, not fail.
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let tasks: Vec<_> = (0..24)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move { append_and_commit(&store, n).await })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 24);
    assert_eq!(store.recent_audit(100).await.unwrap().len(), 24);
}

async fn concurrent_read_then_write_units_of_work_all_commit(backend: SqlBackend) {
    // Every use case reads (a balance, a session) and then writes. On SQLite a transaction that
    // read first cannot later take the write lock if another wrote meanwhile, unless units of
    // work take the lock up front (BEGIN IMMEDIATE).
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut tx = store.begin().await?;
                let seen = tx.recent_audit(1).await?;
                tokio::task::yield_now().await;
                let id = tx.append_audit(&event(n)).await?;
                tx.commit().await?;
                assert!(seen.first().is_none_or(|last| last.id < id));
                Ok::<_, StoreError>(id)
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(store.recent_audit(100).await.unwrap().len(), 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sqlite_a_writer_waits_behind_the_writers_before_it_not_those_after() {
    // SQLite lets one writer in at a time (PostgreSQL has no such lock to wait for). Left to its busy handler, a writer that finds the lock
    // taken sleeps up to 100 ms between tries while writers arriving meanwhile take it, so under
    // load one can wait for seconds. Here eight writers keep the lock busy, each asking again
    // the moment it is done; a unit of work that asks must be let in after at most the writers
    // already waiting (eight, or a few more that commit while it asks), every time.
    const BUSY_WRITERS: i64 = 8;
    let db = TestDb::new(SqlBackend::Sqlite).await;
    let store = db.store().await;
    let done = Arc::new(AtomicBool::new(false));
    let busy: Vec<_> = (0..BUSY_WRITERS)
        .map(|n| {
            let (store, done) = (store.clone(), done.clone());
            tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    append_and_commit(&store, 1_000 + n).await;
                }
            })
        })
        .collect();
    let latest = async || store.recent_audit(1).await.unwrap().first().map_or(0, |event| event.id);
    while latest().await < 4 * BUSY_WRITERS {
        tokio::task::yield_now().await;
    }

    let mut passed_over = Vec::new();
    for n in 0..100 {
        let before = latest().await;
        let mine = append_and_commit(&store, n).await;
        passed_over.push(mine - before - 1);
    }
    done.store(true, Ordering::Relaxed);
    for writer in busy {
        writer.await.unwrap();
    }
    let worst = passed_over.iter().max().copied().unwrap_or_default();
    assert!(worst <= 2 * BUSY_WRITERS, "later writers went first: {passed_over:?}");
}

async fn a_unit_of_work_sees_its_own_writes(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let mut tx = store.begin().await.unwrap();
    let id = tx.append_audit(&event(1)).await.unwrap();
    let seen = tx.recent_audit(10).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].id, id);
}

async fn a_rejected_write_fails_its_unit_of_work_and_changes_nothing(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let mut tx = store.begin().await.unwrap();
    tx.append_audit(&event(1)).await.unwrap();
    let nameless = NewAuditEvent { actor: String::new(), ..event(2) };
    let err = tx.append_audit(&nameless).await.unwrap_err();
    assert!(!err.is_unavailable(), "a constraint violation is not an outage: {err}");
    drop(tx);
    assert!(store.recent_audit(10).await.unwrap().is_empty());
}

async fn the_store_answers_ping(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    store.ping().await.unwrap();
    assert_eq!(store.backend(), backend);
}

#[tokio::test]
async fn an_unreachable_postgres_is_reported_unavailable() {
    // A port nothing listens on: the pool connects lazily, so the failure shows on first use.
    let port = crate::harness::CLOSED_PORT;
    let config = teller::config::DatabaseConfig {
        url: format!("postgres://teller@127.0.0.1:{port}/teller").into(),
        backend: SqlBackend::Postgres,
        max_connections: 2,
    };
    let store = teller::store::connect(&config).await.unwrap();
    let err = store.ping().await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(store.begin().await.err().is_some_and(|e| e.is_unavailable()));
}

#[tokio::test]
async fn a_sqlite_path_that_cannot_be_created_is_a_clear_error() {
    let config = teller::config::DatabaseConfig {
        url: "sqlite:///nonexistent-dir/for/teller.db".to_owned().into(),
        backend: SqlBackend::Sqlite,
        max_connections: 1,
    };
    let Err(err) = teller::store::connect(&config).await else {
        panic!("opened a file in a missing directory")
    };
    assert!(err.is_unavailable() || matches!(err, StoreError::Unexpected(_)), "{err:?}");
}

async fn flow_versions_are_kept_once_and_never_overwritten(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    assert_eq!(store.flow_version("abc").await.unwrap(), None);
    store.save_flow_version("abc", r#"[{"file":"a.yaml","text":"flow: a ₦"}]"#, at(1)).await.unwrap();
    store.save_flow_version("abc", "something else", at(2)).await.unwrap();
    let kept = store.flow_version("abc").await.unwrap().unwrap();
    assert_eq!(kept, r#"[{"file":"a.yaml","text":"flow: a ₦"}]"#, "a version is immutable");
}

async fn a_customers_language_is_kept_and_replaced(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    assert_eq!(store.customer_language("wa:1").await.unwrap(), None);
    store.set_customer_language("wa:1", "pcm", at(1)).await.unwrap();
    store.set_customer_language("wa:2", "en", at(1)).await.unwrap();
    store.set_customer_language("wa:1", "en", at(2)).await.unwrap();
    assert_eq!(store.customer_language("wa:1").await.unwrap().as_deref(), Some("en"));
    assert_eq!(store.customer_language("wa:2").await.unwrap().as_deref(), Some("en"));
}
