//! The queues' statements read the rows in flight, not the history behind them: a message's
//! cost must not grow with the months of handled messages and sent replies a bank keeps.
//!
//! PostgreSQL counts, per table, the rows each scan read. A round of messages, from the
//! webhook to Meta's answer, runs against tables holding a long history, with the prepared
//! statements first run while those tables were still nearly empty (as after a deploy: a plan
//! kept from then reads the whole table, until the tables are analyzed again, which teller does
//! as soon as they outgrow their statistics). The opposite hazard is held too: a round against
//! a backlog in both queues formed after they were vacuumed empty, whose statistics still say
//! nothing is pending. SQLite keeps no such counts, and makes no plan from a table's size, so
//! this runs on PostgreSQL, the backend of a bank's deployment.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use secrecy::ExposeSecret;
use sqlx::Connection;
use teller::config::SqlBackend;
use teller::dispatch::{Dispatcher, Outcome};
use teller::outbox::SendOutcome;
use teller::store::SqlStore;
use teller::whatsapp::inbox::accept;
use teller::whatsapp::notification::Notification;

use crate::harness::{FakeGraph, KvKind, TestApp, TestDb, text_notification};

/// Rows of history in each queue table: handled messages, sent replies, their webhooks.
const HISTORY: i64 = 50_000;
/// Customers the history belongs to; a round's customers are among them.
const CUSTOMERS: i64 = 2_000;
/// Customers writing in each round.
const ROUND: usize = 10;
const TABLES: [&str; 3] = ["inbox_messages", "outbox_messages", "webhook_payloads"];

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_795_000_000 + secs, 0).single().unwrap()
}

fn wa_id(customer: usize) -> String {
    format!("23480000{customer:05}")
}

/// One round: `ROUND` customers write, each is answered, each answer is sent and recorded.
async fn round(store: &Arc<dyn SqlStore>, dispatcher: &Dispatcher, sender: &teller::outbox::Sender, n: i64) {
    let sent = 100 * n;
    for customer in 1..=ROUND {
        let body = text_notification(&wa_id(customer), &format!("wamid.round{n}.{customer}"), "hi", sent);
        let notification = Notification::parse(&body).unwrap();
        accept(store.as_ref(), &body, &notification, None, Utc::now()).await.unwrap();
    }
    let handled = dispatcher.run_once(t(sent + 1)).await.unwrap();
    assert_eq!(handled, [Outcome::Done; ROUND], "round {n}: every message handled");
    let outcomes = sender.run_once(t(sent + 2)).await.unwrap();
    assert_eq!(outcomes, [SendOutcome::Sent; ROUND], "round {n}: every answer sent");
    // What the conversation and the sender look up beside the round (a lost session, the
    // customer's window).
    let key = format!("wa:{}", wa_id(1));
    let before = store.inbound_before(&key, &format!("wamid.round{n}.1")).await.unwrap();
    assert_eq!(before.is_some(), n > 1, "round {n}: whether the customer wrote before");
    assert_eq!(store.last_inbound_at(&key).await.unwrap(), Some(t(sent)));
}

/// `$1` webhooks of `$2` customers, a day old.
const OLD_WEBHOOKS: &str = "INSERT INTO webhook_payloads (received_at, body)
     SELECT to_timestamp(1795000000 - 86400 + i), convert_to('an old webhook from customer ' || (i % $2), 'UTF8')
     FROM generate_series(1, $1) i";
/// `$1` handled messages from `$2` customers, each naming the first webhook.
const OLD_MESSAGES: &str =
    "INSERT INTO inbox_messages (message_id, payload_id, sender_key, phone_number_id, kind,
                                 sent_at, received_at, message, state, processed_at, attempts)
     SELECT 'wamid.history.' || i, (SELECT min(id) FROM webhook_payloads),
            'wa:23480000' || lpad((i % $2)::text, 5, '0'), '100', 'text',
            to_timestamp(1795000000 - 86400 + i), to_timestamp(1795000000 - 86400 + i),
            '{\"type\": \"text\", \"text\": {\"body\": \"an old message\"}}', 'done',
            to_timestamp(1795000000 - 86400 + i), 1
     FROM generate_series(1, $1) i";
/// `$1` sent replies to `$2` customers.
const OLD_REPLIES: &str =
    "INSERT INTO outbox_messages (recipient_key, wa_id, in_reply_to, body, state, created_at,
                                  attempts, provider_message_id, settled_at, window_from)
     SELECT 'wa:23480000' || lpad((i % $2)::text, 5, '0'), '23480000' || lpad((i % $2)::text, 5, '0'),
            'wamid.history.' || i, '{\"type\": \"text\", \"text\": {\"body\": \"an old reply\"}}', 'sent',
            to_timestamp(1795000000 - 86400 + i), 1, 'wamid.sent.' || i,
            to_timestamp(1795000000 - 86400 + i), to_timestamp(1795000000 - 86400 + i)
     FROM generate_series(1, $1) i";

/// Handled messages, sent replies and their webhooks, `HISTORY` of each, written before the
/// test's rounds and spread over `CUSTOMERS` customers.
async fn write_history(url: &str) {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut conn).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    for sql in [OLD_WEBHOOKS, OLD_MESSAGES, OLD_REPLIES] {
        sqlx::query(sql).bind(HISTORY).bind(CUSTOMERS).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    conn.close().await.unwrap();
    // What writing it read (a foreign key check per message) is counted once its connection
    // has ended, before the round is measured.
    until_ended(url, "pid = $1", pid).await;
}

/// Waits until no connection to the test database other than the caller's matches `which`
/// (bound to `pid`): a backend reports what it read as it exits.
async fn until_ended(url: &str, which: &str, pid: i32) {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let sql = format!(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND ({which})"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .bind(pid)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if left == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{left} connections to the test database never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    conn.close().await.unwrap();
}

/// Rows read so far from each queue table, by sequential scans and through its indexes, as
/// reported by the connections that have ended.
async fn rows_read(url: &str) -> Vec<(String, i64)> {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let read = sqlx::query_as(
        "SELECT t.relname::text,
                COALESCE(t.seq_tup_read, 0)
                  + COALESCE((SELECT sum(i.idx_tup_read) FROM pg_stat_user_indexes i WHERE i.relid = t.relid), 0)::bigint
         FROM pg_stat_user_tables t WHERE t.relname = ANY($1) ORDER BY t.relname",
    )
    .bind(TABLES)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    read
}

/// A database of its own, with a dispatcher (answering each message with an echo) and a sender
/// to a fake Graph API on it.
struct Rig {
    db: TestDb,
    store: Arc<dyn SqlStore>,
    graph: FakeGraph,
    sender: teller::outbox::Sender,
    dispatcher: Dispatcher,
}

impl Rig {
    /// The rig, its store on a pool of `connections`.
    async fn start(connections: u32) -> Rig {
        let mut db = TestDb::new(SqlBackend::Postgres).await;
        db.config.max_connections = connections;
        let store = db.store().await;
        let graph = FakeGraph::start().await;
        let sender = crate::outbox::sender(&store, &graph, &[]);
        let dispatcher =
            Dispatcher::new(store.clone(), Arc::new(crate::dispatch::Echo), Duration::from_secs(30), 64);
        Rig { db, store, graph, sender, dispatcher }
    }
}

#[tokio::test]
async fn a_round_of_messages_reads_the_rows_in_flight_not_the_history() {
    // One connection, and six rounds while the tables are nearly empty: every statement runs
    // on it past PostgreSQL's five custom plans per prepared statement, and may keep a generic
    // plan made for a table of a page or two, a sequential scan.
    let Rig { db, store, graph: _graph, sender, dispatcher } = Rig::start(1).await;
    for n in 1..=6 {
        round(&store, &dispatcher, &sender, n).await;
    }
    assert_eq!(store.refresh_queue_statistics().await.unwrap(), [] as [&str; 0], "the tables are small yet");
    write_history(&db.url).await;
    // The history came faster than any second: the keeper of the statistics finds every table
    // outgrown, once. (Without it, the round below read 101,242 inbox rows and 100,760 outbox
    // rows: BENCHMARKS.md, ninth session.)
    let refreshed = store.refresh_queue_statistics().await.unwrap();
    assert_eq!(refreshed, ["webhook_payloads", "inbox_messages", "outbox_messages"], "every table grew");
    assert_eq!(store.refresh_queue_statistics().await.unwrap(), [] as [&str; 0], "and is up to date");

    // The same connections (and their cached plans) handle a round against the history; the
    // store is then closed so that its connections report what they read. (What they read
    // before the history was written may be reported in either count: a few hundred rows.)
    let before = rows_read(&db.url).await;
    round(&store, &dispatcher, &sender, 7).await;
    drop((dispatcher, sender));
    store.close().await;
    until_ended(&db.url, "pid <> $1", 0).await;
    let after = rows_read(&db.url).await;

    assert_eq!(before.len(), TABLES.len(), "every queue table is counted: {before:?}");
    for (table, read) in read_between(&before, &after, "a round of messages") {
        assert!(
            read < HISTORY / 10,
            "a round of {ROUND} messages read {read} rows of {table}, which holds {HISTORY} of history: \
             a statement scans the history"
        );
    }
}

/// `serve` keeps the queues' statistics itself: tables that grew many times over at once (as on
/// a new database, or under a backlog) are analyzed within seconds, not when autovacuum's
/// launcher next comes round (up to a minute, which it is kept from here).
#[tokio::test]
async fn a_serving_teller_analyzes_the_queues_once_they_outgrow_their_statistics() {
    let app = TestApp::spawn(SqlBackend::Postgres, KvKind::Memory).await;
    let url = app.state.config.database.url.expose_secret().to_owned();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    for table in TABLES {
        let sql = format!("ALTER TABLE {table} SET (autovacuum_enabled = false)");
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.unwrap();
    }
    let pages = "SELECT relname::text, relpages FROM pg_class WHERE relname = ANY ($1) ORDER BY relname";
    let before: Vec<(String, i32)> = sqlx::query_as(pages).bind(TABLES).fetch_all(&mut conn).await.unwrap();
    assert!(before.iter().all(|(_, pages)| *pages == 0), "no statistics yet: {before:?}");
    write_history(&url).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now: Vec<(String, i32)> = sqlx::query_as(pages).bind(TABLES).fetch_all(&mut conn).await.unwrap();
        if now.len() == TABLES.len() && now.iter().all(|(_, pages)| *pages > 100) {
            break;
        }
        assert!(Instant::now() < deadline, "the queues' statistics still say {now:?} after 15 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    conn.close().await.unwrap();
    app.shutdown().await.unwrap();
}

/// The rows each queue table read between two counts, printed (every table's, before any test
/// fails on one) under `what`.
fn read_between<'a>(before: &'a [(String, i64)], after: &[(String, i64)], what: &str) -> Vec<(&'a str, i64)> {
    let read: Vec<(&str, i64)> = before
        .iter()
        .zip(after)
        .map(|((table, before), (_, after))| (table.as_str(), after - before))
        .collect();
    eprintln!("rows read by {what}: {read:?}");
    read
}

/// The claim's statements are planned once per connection, not at every claim (migration 31):
/// planning them twice a claim was a cost on the path of every message. That plan reads every
/// row through an index (migration 32), since it may be made on tables still empty.
#[tokio::test]
async fn the_claim_is_planned_once_per_connection() {
    let db = TestDb::new(SqlBackend::Postgres).await;
    let store = db.store().await;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let config: Option<Vec<String>> =
        sqlx::query_scalar("SELECT proconfig FROM pg_proc WHERE proname = 'claim_inbound'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    let config = config.unwrap_or_default();
    assert!(config.contains(&"plan_cache_mode=force_generic_plan".to_owned()), "{config:?}");
    assert!(config.contains(&"enable_seqscan=off".to_owned()), "planned by index alone: {config:?}");
    // And it still claims: one message, then nothing while it is leased.
    let body = text_notification(&wa_id(1), "wamid.planned.1", "hi", 100);
    accept(store.as_ref(), &body, &Notification::parse(&body).unwrap(), None, Utc::now()).await.unwrap();
    let lease = Duration::from_secs(30);
    assert_eq!(store.claim_inbound("one", t(101), lease, 10).await.unwrap().len(), 1);
    assert!(store.claim_inbound("two", t(102), lease, 10).await.unwrap().is_empty());
    conn.close().await.unwrap();
}

/// Messages pending at once when the test's claims run, from `CUSTOMERS` customers; as many
/// replies wait to be sent.
const BACKLOG: i64 = 20_000;

/// `$1` pending messages from `$2` customers, oldest first, sent in the last hour, each naming the
/// first webhook.
const PENDING: &str = "INSERT INTO inbox_messages (message_id, payload_id, sender_key, phone_number_id, kind,
                                 sent_at, received_at, message)
     SELECT 'wamid.backlog.' || i, (SELECT min(id) FROM webhook_payloads),
            'wa:23480000' || lpad((i % $2)::text, 5, '0'), '100', 'text',
            now() - interval '1 hour' + i * interval '1 ms', now() - interval '1 hour' + i * interval '1 ms',
            jsonb_build_object('id', 'wamid.backlog.' || i,
                               'from', '23480000' || lpad((i % $2)::text, 5, '0'),
                               'type', 'text', 'text', jsonb_build_object('body', 'hi'),
                               'timestamp', extract(epoch FROM now() - interval '1 hour')::bigint::text)
     FROM generate_series(1, $1) i";
/// `$1` replies waiting to be sent to `$2` customers, whose window is open.
const WAITING: &str =
    "INSERT INTO outbox_messages (recipient_key, wa_id, in_reply_to, body, created_at, window_from)
     SELECT 'wa:23480000' || lpad((i % $2)::text, 5, '0'), '23480000' || lpad((i % $2)::text, 5, '0'),
            'wamid.history.' || i, '{\"type\": \"text\", \"text\": {\"body\": \"a reply that waited\"}}',
            now(), now()
     FROM generate_series(1, $1) i";

/// A backlog in both queues (an outage's, a flood's) formed after they were last vacuumed empty,
/// so that the statistics still say nothing is pending: each statement of a round takes its rows
/// by key, reading the front of the queue, not every row pending behind it (migration 32).
#[tokio::test]
async fn a_round_reads_the_front_of_a_backlog_the_statistics_have_not_seen() {
    round_under_a_backlog(Planned::AfterAVacuumWithNothingPending).await;
}

/// The same on queues whose statements were planned while they held nothing at all (a new
/// deployment, a quiet night), on the one connection that then meets a day's history and the
/// backlog before autovacuum's next analyze. To a planner that sees an empty table every path
/// costs about the same, and the plan kept read the whole backlog (425,842 inbox rows and 120,708
/// outbox rows in this test: BENCHMARKS.md, ninth session). The keeper of the statistics finds
/// the queues outgrown within a second and has them planned again.
#[tokio::test]
async fn a_round_reads_the_front_of_a_backlog_after_plans_made_on_empty_tables() {
    round_under_a_backlog(Planned::OnEmptyTables).await;
}

/// When the statements that meet the backlog were planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Planned {
    /// After a day's history was vacuumed with nothing pending: the statistics say no row is.
    AfterAVacuumWithNothingPending,
    /// On queues vacuumed while empty, by a first round on the one connection that then meets
    /// the history and the backlog, after the keeper of the statistics has looked once.
    OnEmptyTables,
}

/// Two claims, a dispatcher's round and a sender's round against `BACKLOG` messages and replies
/// pending behind a day's history, their statements `planned` as said.
async fn round_under_a_backlog(planned: Planned) {
    let connections = if planned == Planned::OnEmptyTables { 1 } else { 8 };
    let Rig { db, store, graph, sender, dispatcher } = Rig::start(connections).await;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    // Autovacuum is kept off every table the keeper of the statistics looks at here: an
    // analyze of its own between the history and the keeper's look (as one CI run had of the
    // webhook payloads) would leave the keeper nothing to do.
    let vacuum = async |conn: &mut sqlx::PgConnection| {
        for table in ["webhook_payloads", "inbox_messages", "outbox_messages"] {
            for sql in [
                format!("ALTER TABLE {table} SET (autovacuum_enabled = false)"),
                format!("VACUUM ANALYZE {table}"),
            ] {
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *conn).await.unwrap();
            }
        }
    };
    if planned == Planned::OnEmptyTables {
        vacuum(&mut conn).await;
        assert!(dispatcher.run_once(Utc::now()).await.unwrap().is_empty(), "nothing to handle yet");
        assert!(sender.run_once(Utc::now()).await.unwrap().is_empty(), "nothing to send yet");
        // A first round, so that the round's record and the settlement are planned too.
        round(&store, &dispatcher, &sender, 1).await;
    }
    write_history(&db.url).await;
    if planned == Planned::AfterAVacuumWithNothingPending {
        vacuum(&mut conn).await;
    }
    for sql in [PENDING, WAITING] {
        sqlx::query(sql).bind(BACKLOG).bind(CUSTOMERS).execute(&mut conn).await.unwrap();
    }
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    until_ended(&db.url, "pid = $1", pid).await;
    if planned == Planned::OnEmptyTables {
        let refreshed = store.refresh_queue_statistics().await.unwrap();
        assert_eq!(refreshed, ["webhook_payloads", "inbox_messages", "outbox_messages"], "every table grew");
    }

    let before = rows_read(&db.url).await;
    // Two claims: the backlog's first 64 customers, then the next 64 (the first are leased).
    let first = store.claim_inbound("first", Utc::now(), Duration::from_secs(30), 64).await.unwrap();
    let ids: Vec<_> = first.iter().map(|m| m.message_id.as_str()).collect();
    let expected: Vec<String> = (1..=64).map(|i| format!("wamid.backlog.{i}")).collect();
    assert_eq!(ids, expected, "each customer's first message, in the order they came");
    let again = store.claim_inbound("second", Utc::now(), Duration::from_secs(30), 64).await.unwrap();
    assert_eq!(again.first().map(|m| m.message_id.as_str()), Some("wamid.backlog.65"));
    // A dispatcher's round (claim, handling, record), then a sender's (claim, send, record).
    let handled = dispatcher.run_once(Utc::now()).await.unwrap();
    assert_eq!(handled, vec![Outcome::Done; 64], "the next 64 customers are answered");
    let sent = sender.run_once(Utc::now()).await.unwrap();
    assert_eq!(sent, vec![SendOutcome::Sent; 64], "the 64 replies at the front are sent");
    let sends = graph.sends();
    let mut to: Vec<String> =
        sends[sends.len() - 64..].iter().map(|s| s["to"].as_str().unwrap().to_owned()).collect();
    to.sort();
    let expected: Vec<String> = (1..=64).map(wa_id).collect();
    assert_eq!(to, expected, "the replies that waited longest go first");
    drop((dispatcher, sender));
    store.close().await;
    until_ended(&db.url, "pid <> $1", 0).await;
    let after = rows_read(&db.url).await;

    // The claims read the front of each queue (64 customers times the window of 8) and each
    // claimed customer's pending messages (10 each) with the 20 before their head; the records
    // and the send read their rows by key. One scan of a backlog alone is 20,000 rows.
    for (table, read) in read_between(&before, &after, "a round under a backlog") {
        assert!(
            read < BACKLOG / 2,
            "a round read {read} rows of {table}, with {BACKLOG} pending: a statement reads the whole backlog"
        );
    }
}
