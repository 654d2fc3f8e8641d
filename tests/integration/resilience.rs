//! Rate limits, and what happens when things break under load: Redis restarted, a Graph API
//! that hangs for some customers, PostgreSQL cut off in the middle of a dispatch or send round.
//! (PostgreSQL going away under webhooks is in `webhook.rs`, `kill -9` of `serve` in
//! `lifecycle.rs`.)

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use teller::config::{KvConfig, SqlBackend};
use teller::store::SqlStore;

use crate::harness::{self, FakeGraph, KvKind, PrivateRedis, TestApp, TestDb};

const SECRET: &str = "resilience-secret";

fn env(db: &TestDb, vars: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env = harness::base_env(db);
    env.insert("WHATSAPP_APP_SECRET".into(), SECRET.into());
    for (k, v) in vars {
        env.insert((*k).into(), (*v).into());
    }
    env
}

async fn post(app: &TestApp, body: Vec<u8>) -> u16 {
    harness::post_signed(app.client.clone(), app.url("/webhook"), SECRET, body).await.as_u16()
}

/// Posts like Meta does: again and again until it is answered 200.
async fn deliver(client: reqwest::Client, url: String, body: Vec<u8>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while harness::post_signed(client.clone(), url.clone(), SECRET, body.clone()).await != 200 {
        assert!(Instant::now() < deadline, "a webhook was refused for a minute");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until every message of `senders` is handled; their inbox rows.
async fn all_handled(store: &Arc<dyn SqlStore>, senders: &[String], expected: usize, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let mut handled = 0;
        let mut total = 0;
        for sender in senders {
            let inbox = store.inbox_for_sender(&format!("wa:{sender}")).await.unwrap();
            total += inbox.len();
            handled += inbox.iter().filter(|m| m.state == "done").count();
        }
        if handled == expected {
            assert_eq!(total, expected, "every message stored once");
            return;
        }
        assert!(Instant::now() < deadline, "{handled} of {expected} messages handled ({total} stored)");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn text_of(reply: &teller::store::OutboxMessage) -> String {
    reply.body.0.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flooding_customer_is_told_once_to_slow_down_across_instances() {
    let db = TestDb::new(SqlBackend::Postgres).await;
    db.store().await.close().await;
    let limit = [("CUSTOMER_MESSAGES_PER_MINUTE", "3")];
    let kv = harness::kv_config(KvKind::Redis);
    let first = TestApp::spawn_with(harness::config(env(&db, &limit), kv.clone()), db, |r| r).await;
    let url = first.state.config.database.url.expose_secret().to_owned();
    let mut second_env =
        HashMap::from([("PORT".to_owned(), "0".to_owned()), ("LOG_FORMAT".into(), "json".into())]);
    second_env.insert("DATABASE_URL".into(), url);
    second_env.insert("WHATSAPP_APP_SECRET".into(), SECRET.into());
    second_env.insert("CUSTOMER_MESSAGES_PER_MINUTE".into(), "3".into());
    second_env.insert("WHATSAPP_SANDBOX".into(), "true".into());
    second_env.insert("SECRETS_KEY".into(), harness::TEST_SECRETS_KEY.into());
    let second = TestApp::spawn_sharing(harness::config(second_env, kv)).await;

    // Eight messages written within one minute, delivered alternately to both instances.
    let minute = chrono::Utc::now().timestamp().div_euclid(60) * 60;
    let (flooder, calm) = ("2348055500001", "2348055500002");
    for n in 0..8 {
        let app = if n % 2 == 0 { &first } else { &second };
        let body = harness::text_notification_at(flooder, &format!("wamid.flood{n}"), "menu", minute + n);
        assert_eq!(post(app, body).await, 200);
    }
    let body = harness::text_notification_at(calm, "wamid.calm", "menu", minute + 9);
    assert_eq!(post(&second, body).await, 200);
    let store = first.state.store.clone();
    all_handled(&store, &[flooder.into(), calm.into()], 9, Duration::from_secs(30)).await;

    let replies = store.outbox_for_recipient(&format!("wa:{flooder}")).await.unwrap();
    let answered: HashSet<_> = replies.iter().filter_map(|r| r.in_reply_to.clone()).collect();
    let slow_downs: Vec<_> =
        replies.iter().filter(|r| text_of(r).contains("faster than I can answer")).collect();
    assert_eq!(slow_downs.len(), 1, "told once, not once per message: {replies:#?}");
    assert_eq!(slow_downs[0].in_reply_to.as_deref(), Some("wamid.flood3"), "the first over the limit");
    let expected: HashSet<_> = (0..4).map(|n| format!("wamid.flood{n}")).collect();
    assert_eq!(answered, expected, "three answered, one told to slow down, the rest not answered at all");
    let calm_replies = store.outbox_for_recipient(&format!("wa:{calm}")).await.unwrap();
    assert!(!calm_replies.is_empty(), "another customer is not limited");
    assert!(calm_replies.iter().all(|r| !text_of(r).contains("faster than")));
    let metrics = first.get("/metrics").await.text().await.unwrap()
        + &second.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("teller_rate_limited_total{limit=\"customer\"}"), "refusals are counted");
}

#[tokio::test]
async fn payment_callbacks_over_the_per_address_limit_are_refused_429_before_any_work() {
    let db = TestDb::new(SqlBackend::Sqlite).await;
    let vars = [
        ("PAYMENTS_PER_IP_PER_MINUTE", "3"),
        ("PAYMENTS_WEBHOOK_SECRET", "pay-secret"),
        ("CLIENT_IP_HEADER", "do-connecting-ip"),
    ];
    let app =
        TestApp::spawn_with(harness::config(env(&db, &vars), harness::kv_config(KvKind::Memory)), db, |r| r)
            .await;
    let callback = |ip: &str| {
        app.client
            .post(app.url("/webhook/payments"))
            .header("do-connecting-ip", ip)
            .header("x-teller-signature", "sha256=00")
            .body(r#"{"type":"credit"}"#)
            .send()
    };
    for _ in 0..3 {
        assert_eq!(
            callback("203.0.113.7").await.unwrap().status(),
            401,
            "within the limit: the signature decides"
        );
    }
    let refused = callback("203.0.113.7").await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "60");
    assert_eq!(callback("198.51.100.1").await.unwrap().status(), 401, "another address is not held up");
}

/// 12 customers, each writing a message every 150 ms for `secs` seconds, delivered like Meta
/// (retried until answered 200); returns every message id delivered, by customer.
async fn load(
    client: reqwest::Client,
    url: String,
    customers: Vec<String>,
    secs: u64,
    prefix: &str,
) -> Vec<String> {
    let mut tasks = Vec::new();
    let start = chrono::Utc::now().timestamp();
    for (c, customer) in customers.into_iter().enumerate() {
        let (client, url, prefix) = (client.clone(), url.clone(), prefix.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            let until = Instant::now() + Duration::from_secs(secs);
            let mut n = 0;
            while Instant::now() < until {
                let id = format!("wamid.{prefix}.{c}.{n}");
                let body = harness::text_notification_at(&customer, &id, "hi", start + n);
                deliver(client.clone(), url.clone(), body).await;
                ids.push(id);
                n += 1;
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await.unwrap());
    }
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_restarted_under_load_loses_no_message_and_customers_are_told_their_chat_restarted() {
    let port = harness::free_port();
    let mut redis = PrivateRedis::start(port);
    let db = TestDb::new(SqlBackend::Postgres).await;
    db.store().await.close().await;
    let kv = KvConfig {
        redis_url: Some(SecretString::from(format!("redis://127.0.0.1:{port}"))),
        prefix: "chaos:".into(),
        tls_ca_cert: None,
        memory_max_keys: 1000,
    };
    let app = TestApp::spawn_with(
        harness::config(env(&db, &[("CUSTOMER_MESSAGES_PER_MINUTE", "0")]), kv),
        db,
        |r| r,
    )
    .await;
    // About 7 messages a second each, 35 in all: over the per-minute limit, which is not what
    // this test is about.
    let customers: Vec<String> = (0..12).map(|n| format!("23480777000{n:02}")).collect();
    let store = app.state.store.clone();

    // Everyone is mid-registration when Redis goes away.
    let started = load(app.client.clone(), app.url("/webhook"), customers.clone(), 1, "before").await;
    // Deadlines only bound a failure; together they stay under nextest's two-minute kill, so a
    // slow run fails here with a count rather than being killed without one.
    all_handled(&store, &customers, started.len(), Duration::from_secs(20)).await;
    let loading = tokio::spawn(load(app.client.clone(), app.url("/webhook"), customers.clone(), 4, "during"));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    redis.stop();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _redis = PrivateRedis::start(port);
    let during = loading.await.unwrap();

    let total = started.len() + during.len();
    all_handled(&store, &customers, total, Duration::from_secs(60)).await;
    let mut told = 0;
    for customer in &customers {
        let replies = store.outbox_for_recipient(&format!("wa:{customer}")).await.unwrap();
        let answered: HashSet<_> = replies.iter().filter_map(|r| r.in_reply_to.clone()).collect();
        for id in
            started.iter().chain(&during).filter(|id| id.contains(&format!(".{}.", customer_index(customer))))
        {
            assert!(answered.contains(id), "{id} was never answered");
        }
        told += replies.iter().filter(|r| text_of(r).contains("lose our place")).count();
    }
    assert!(told >= 1, "customers whose session was lost are told so");
    assert!(told <= customers.len(), "each at most once: {told}");
}

fn customer_index(customer: &str) -> usize {
    customer[customer.len() - 2..].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_graph_api_that_hangs_for_some_customers_holds_up_no_other() {
    let graph = FakeGraph::start().await;
    let db = TestDb::new(SqlBackend::Postgres).await;
    db.store().await.close().await;
    let mut vars: Vec<(String, String)> = graph.env();
    // Long enough that no hung send gives up while the test runs: a round that waited for its
    // slowest send would answer the others only after a minute, far past the deadlines below
    // (which only bound a failure on a loaded machine).
    vars.push(("WHATSAPP_SEND_TIMEOUT_SECS".into(), "60".into()));
    vars.push(("OUTBOX_LEASE_SECS".into(), "120".into()));
    vars.push(("OUTBOX_WORKERS".into(), "4".into()));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app =
        TestApp::spawn_with(harness::config(env(&db, &vars), harness::kv_config(KvKind::Redis)), db, |r| r)
            .await;
    let now = chrono::Utc::now().timestamp();
    // Sends to these never get an answer. Twice as many as send workers, one at a time, so
    // each is in a round of its own: a round that waited for its slowest send would have
    // stalled every worker by the fifth.
    let hung: Vec<String> = (0..8).map(|n| format!("23480888000{n:02}")).collect();
    graph.hang_for(&hung);
    let reached = |customer: &String| graph.sends().iter().any(|s| s["to"] == customer.as_str());
    for (n, customer) in hung.iter().enumerate() {
        assert_eq!(
            post(&app, harness::text_notification_at(customer, &format!("wamid.h{n}"), "menu", now)).await,
            200
        );
        let started = Instant::now();
        while !reached(customer) {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "hung customer {n}'s reply waited on the others"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let others: Vec<String> = (0..30).map(|n| format!("23480999000{n:02}")).collect();
    let started = Instant::now();
    for (n, customer) in others.iter().enumerate() {
        assert_eq!(
            post(&app, harness::text_notification_at(customer, &format!("wamid.o{n}"), "menu", now)).await,
            200
        );
    }
    loop {
        let sent: HashSet<String> =
            graph.sends().iter().filter_map(|s| s["to"].as_str().map(str::to_owned)).collect();
        if others.iter().all(|c| sent.contains(c)) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "other customers waited on the hung sends: {} of {} answered",
            others.iter().filter(|c| sent.contains(*c)).count(),
            others.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for customer in &hung {
        let replies = app.state.store.outbox_for_recipient(&format!("wa:{customer}")).await.unwrap();
        assert!(
            !replies.is_empty() && replies.iter().all(|r| r.state != "sent"),
            "the hung sends are still hung"
        );
    }
    // An operator can see it: each hung send outlasts its round (within a second) and stays in
    // flight, the others are recorded.
    let started = Instant::now();
    loop {
        let metrics = app.get("/metrics").await.text().await.unwrap();
        let value = |name: &str| -> f64 {
            metrics
                .lines()
                .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
                .unwrap_or_else(|| panic!("{name} is not exported: {metrics}"))
        };
        let (stragglers, in_flight) =
            (value("teller_outbox_stragglers_total "), value("teller_outbox_in_flight "));
        if stragglers >= 8.0 && in_flight == 8.0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{stragglers} sends counted as stragglers, {in_flight} in flight (the 8 hung ones expected)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A store for `db` that reaches it through a proxy the test can cut, beside one that does not.
async fn behind_a_proxy(db: &TestDb) -> (Arc<harness::TcpProxy>, Arc<dyn SqlStore>) {
    let mut url = url::Url::parse(&db.url).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap()).parse().unwrap();
    let proxy = Arc::new(harness::TcpProxy::start(target).await);
    url.set_port(Some(proxy.port)).unwrap();
    let config = teller::config::DatabaseConfig {
        url: SecretString::from(url.to_string()),
        backend: SqlBackend::Postgres,
        max_connections: 4,
    };
    (proxy, teller::store::connect(&config).await.unwrap())
}

/// Runs `round` until the database answers again (the pool reconnects).
async fn once_back<T, F, Fut>(round: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, teller::store::StoreError>>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match round().await {
            Ok(done) => return done,
            Err(e) => assert!(Instant::now() < deadline, "the database never came back: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_dispatch_round_the_database_cut_off_is_handled_again_as_soon_as_it_is_back() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use teller::dispatch::{Dispatcher, Handled, Handler, Outcome, Standing};
    use teller::whatsapp::notification::{InboundMessage, Notification};
    use teller::whatsapp::outbound::{Outbound, Text};

    /// Answers every message, cutting the database off the first time.
    struct CutsTheDatabase(Arc<harness::TcpProxy>, AtomicBool);
    #[async_trait::async_trait]
    impl Handler for CutsTheDatabase {
        async fn handle(&self, _: &InboundMessage, _: Option<&Standing>) -> anyhow::Result<Handled> {
            if !self.1.swap(true, Ordering::SeqCst) {
                self.0.stop();
            }
            let reply: Outbound = Text::new("hello")?.into();
            Ok(vec![reply].into())
        }
    }
    let db = TestDb::new(SqlBackend::Postgres).await;
    let direct = db.store().await;
    let (proxy, store) = behind_a_proxy(&db).await;
    let body = harness::text_notification("2348000000077", "wamid.cut", "hi", 1);
    let notification = Notification::parse(&body).unwrap();
    teller::whatsapp::inbox::accept(direct.as_ref(), &body, &notification, None, chrono::Utc::now())
        .await
        .unwrap();
    let handler = Arc::new(CutsTheDatabase(proxy.clone(), AtomicBool::new(false)));
    let dispatcher = Dispatcher::new(store, handler, Duration::from_secs(30), 10);

    let now = chrono::Utc::now();
    let err = format!("{:#}", dispatcher.run_once(now).await.unwrap_err());
    assert!(err.contains("the SQL store is unavailable"), "the round cannot be recorded: {err}");
    proxy.restart().await;
    // A second later, well inside the 30 s lease: handled again once the database answers.
    let outcomes = once_back(|| dispatcher.run_once(now + chrono::Duration::seconds(1))).await;
    assert_eq!(outcomes, [Outcome::Done]);
    assert_eq!(direct.outbox_for_recipient("wa:2348000000077").await.unwrap().len(), 1, "answered once");
}

#[tokio::test]
async fn a_send_the_database_cut_off_is_recorded_once_it_is_back_and_not_sent_again() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use teller::whatsapp::graph::{Accepted, SendError, SendRequest, Transport};

    /// Accepts every send, cutting the database off the first time.
    struct CutsTheDatabase(Arc<harness::TcpProxy>, AtomicUsize);
    #[async_trait::async_trait]
    impl Transport for CutsTheDatabase {
        async fn send(&self, _: &SendRequest<'_>) -> Result<Accepted, SendError> {
            if self.1.fetch_add(1, Ordering::SeqCst) == 0 {
                self.0.stop();
            }
            Ok(Accepted { message_id: "wamid.taken".into() })
        }
        async fn mark_read(&self, _: &str, _: bool) -> Result<(), SendError> {
            Ok(())
        }
        fn name(&self) -> &'static str {
            "cuts-the-database"
        }
    }
    let db = TestDb::new(SqlBackend::Postgres).await;
    let direct = db.store().await;
    let (proxy, store) = behind_a_proxy(&db).await;
    let now = chrono::Utc::now();
    let body = serde_json::json!({"type": "text", "text": {"body": "hello"}});
    let mut tx = direct.begin().await.unwrap();
    tx.enqueue_outbound(&teller::store::NewOutboxMessage {
        recipient_key: "wa:2348000000078",
        wa_id: Some("2348000000078"),
        bsuid: None,
        in_reply_to: None,
        body: &body,
        window_from: Some(now),
        created_at: now,
        scrub_after: None,
        question: None,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let config = teller::config::Config::from_vars(Vec::<(String, String)>::new()).unwrap();
    let transport = Arc::new(CutsTheDatabase(proxy.clone(), AtomicUsize::new(0)));
    let sender = teller::outbox::Sender::new(
        store,
        transport.clone(),
        Arc::new(teller::metrics::Metrics::new()),
        config.outbox,
        config.whatsapp.send_timeout,
        8,
    );

    let err = format!("{:#}", sender.run_once(now).await.unwrap_err());
    assert!(err.contains("the SQL store is unavailable"), "the send cannot be recorded: {err}");
    proxy.restart().await;
    // Recorded as soon as the database answers, not left to its lease and sent again.
    once_back(|| sender.run_once(now + chrono::Duration::seconds(1))).await;
    let reply = &direct.outbox_for_recipient("wa:2348000000078").await.unwrap()[0];
    assert_eq!((reply.state.as_str(), reply.provider_message_id.as_deref()), ("sent", Some("wamid.taken")));
    assert!(sender.run_once(now + chrono::Duration::seconds(60)).await.unwrap().is_empty());
    assert_eq!(transport.1.load(Ordering::SeqCst), 1, "sent once");
}

/// The most memory the process `pid` has held (`VmHWM`), in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024
}

/// 200 logins at once, each from an address of its own (so no per-address limit stops them),
/// against the real binary: argon2 checks are bounded by `HASH_MEMORY_MIB`, the excess is shed
/// with 503 and `Retry-After`, memory stays under 128 MiB and `/health` keeps answering.
/// Before, each attempt ran argon2 (19 MiB) on the blocking pool with no bound: 60 at once
/// took the process to 672 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_logins_from_rotating_addresses_keeps_memory_bounded_and_health_answering() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("teller.db").display());
    let mut create = crate::lifecycle::teller(
        dir.path(),
        &["admin", "create", "--email", "ops@bank.example", "--role", "viewer", "--password-stdin"],
        &[("DATABASE_URL", &database)],
    )
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::null())
    .spawn()
    .unwrap();
    create.stdin.take().unwrap().write_all(b"a long enough password\n").unwrap();
    assert!(create.wait().unwrap().success());
    let env = [("DATABASE_URL", database.as_str()), ("CLIENT_IP_HEADER", "x-forwarded-for")];
    let served = crate::lifecycle::Served::start(crate::lifecycle::teller(dir.path(), &["serve"], &env));
    let base = format!("http://127.0.0.1:{}", served.port);
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();

    let attempts: Vec<_> = (0..200)
        .map(|n| {
            let request = client
                .post(format!("{base}/admin/api/login"))
                .header("x-forwarded-for", format!("10.{}.{}.1", n / 200, n % 200))
                .json(&serde_json::json!({ "email": "ops@bank.example", "password": format!("guess number {n}"), "code": "123456" }));
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
                (response.status().as_u16(), retry_after)
            })
        })
        .collect();
    // While they run, the health check answers, promptly.
    let mut healthy = 0;
    while attempts.iter().any(|a| !a.is_finished()) {
        let started = Instant::now();
        let health = client.get(format!("{base}/health")).send().await.unwrap();
        assert_eq!(health.status(), 200, "health during the flood");
        assert!(started.elapsed() < Duration::from_secs(2), "health took {:?}", started.elapsed());
        healthy += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut answers: HashMap<(u16, Option<String>), usize> = HashMap::new();
    for attempt in attempts {
        *answers.entry(attempt.await.unwrap()).or_default() += 1;
    }
    let peak = peak_rss_mib(served.pid());
    let (_, logs) = served.terminate();
    eprintln!("peak {peak} MiB; answers {answers:?}; health asked {healthy} times");
    assert!(healthy >= 1, "health was asked during the flood");
    assert!(peak < 128, "peak memory {peak} MiB under 200 logins at once");
    let shed = answers.get(&(503, Some("1".to_owned()))).copied().unwrap_or(0);
    let refused = answers.get(&(401, None)).copied().unwrap_or(0);
    assert_eq!(shed + refused, 200, "each is refused (401) or shed (503, Retry-After: 1): {answers:?}");
    assert!(shed > 0 && refused > 0, "{answers:?}");
    assert!(!logs.contains("guess number"), "no password is logged");
}
