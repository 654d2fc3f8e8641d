//! The dispatcher: each inbound message handled once, each customer's in order, replies queued
//! with the handling, leases that expire after a crash and fence a stalled dispatcher out.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use teller::config::{Config, SqlBackend};
use teller::dispatch::{Dispatcher, Handler, Outcome};
use teller::store::{Finish, SqlStore};
use teller::whatsapp::notification::{Content, InboundMessage, Notification};
use teller::whatsapp::signature;
use teller::whatsapp::webhook::accept;

use crate::harness::{self, KvKind, TestApp, TestDb, on_both_sql_backends, post_signed, text_notification};

const SECRET: &str = "test-app-secret";
const LEASE: Duration = Duration::from_secs(30);

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_795_000_000 + secs, 0).single().unwrap()
}

/// Puts messages straight into the inbox, as a verified webhook would.
async fn enqueue(store: &Arc<dyn SqlStore>, body: &[u8]) {
    let notification = Notification::parse(body).unwrap();
    accept(store.as_ref(), body, &notification, None, Utc::now()).await.unwrap();
}

/// Echoes each text back, so replies show which message they answer.
struct Echo;

#[async_trait]
impl Handler for Echo {
    async fn handle(&self, message: &InboundMessage) -> anyhow::Result<Vec<Value>> {
        let Content::Text { body } = &message.content else { anyhow::bail!("not text") };
        Ok(vec![json!({"type": "text", "text": {"body": format!("echo: {body}")}})])
    }
}

async fn replies(store: &Arc<dyn SqlStore>, key: &str) -> Vec<String> {
    store
        .outbox_for_recipient(key)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body.0["text"]["body"].as_str().unwrap_or_default().to_owned())
        .collect()
}

on_both_sql_backends!(
    each_customer_is_answered_in_the_order_they_wrote,
    a_stalled_dispatcher_cannot_finish_a_message_another_has_taken_over,
    a_crashed_dispatchers_message_is_taken_over_when_its_lease_expires,
    a_failing_message_is_retried_then_set_aside,
);

async fn each_customer_is_answered_in_the_order_they_wrote(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    // Ada's second message arrives first, as Meta's unordered delivery allows.
    enqueue(&store, &text_notification("2348000000001", "wamid.a2", "second", 2)).await;
    enqueue(&store, &text_notification("2348000000001", "wamid.a1", "first", 1)).await;
    enqueue(&store, &text_notification("2348000000002", "wamid.b1", "hello", 1)).await;
    let dispatcher = Dispatcher::new(store.clone(), Arc::new(Echo), LEASE, 64);

    // One round takes one message per customer: never two of Ada's at once.
    let round = dispatcher.run_once(t(10)).await.unwrap();
    assert_eq!(round, [Outcome::Done, Outcome::Done]);
    assert_eq!(dispatcher.run_once(t(10)).await.unwrap(), [Outcome::Done]);
    assert!(dispatcher.run_once(t(10)).await.unwrap().is_empty());

    assert_eq!(replies(&store, "wa:2348000000001").await, ["echo: first", "echo: second"]);
    assert_eq!(replies(&store, "wa:2348000000002").await, ["echo: hello"]);
    let inbox = store.inbox_for_sender("wa:2348000000001").await.unwrap();
    assert!(inbox.iter().all(|m| m.state == "done"));
}

async fn a_crashed_dispatchers_message_is_taken_over_when_its_lease_expires(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    enqueue(&store, &text_notification("2348000000001", "wamid.x", "hi", 1)).await;
    // An instance leases it and dies without finishing.
    let taken = store.claim_inbound("crashed", t(0), LEASE, 10).await.unwrap();
    assert_eq!(taken.len(), 1);

    let survivor = Dispatcher::new(store.clone(), Arc::new(Echo), LEASE, 10);
    assert!(survivor.run_once(t(29)).await.unwrap().is_empty(), "a live lease is respected");
    assert_eq!(survivor.run_once(t(30)).await.unwrap(), [Outcome::Done], "an expired lease is taken over");

    // The crashed instance wakes up and tries to finish: fenced out, nothing changes.
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.finish_inbound(taken[0].seq, "crashed", Finish::Done, t(31)).await.unwrap());
    drop(tx);
    assert_eq!(replies(&store, "wa:2348000000001").await, ["echo: hi"], "answered exactly once");
}

async fn a_stalled_dispatcher_cannot_finish_a_message_another_has_taken_over(backend: SqlBackend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    enqueue(&store, &text_notification("2348000000001", "wamid.y", "hi", 1)).await;
    let stalled = store.claim_inbound("stalled", t(0), LEASE, 10).await.unwrap();
    let current = store.claim_inbound("current", t(31), LEASE, 10).await.unwrap();
    assert_eq!(current.len(), 1, "the expired lease passed to another dispatcher");

    // While the new holder works, the stalled one wakes up and tries to finish: fenced out.
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.finish_inbound(stalled[0].seq, "stalled", Finish::Done, t(32)).await.unwrap());
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.finish_inbound(current[0].seq, "current", Finish::Done, t(33)).await.unwrap());
    tx.commit().await.unwrap();
}

async fn a_failing_message_is_retried_then_set_aside(backend: SqlBackend) {
    struct Broken(AtomicUsize);
    #[async_trait]
    impl Handler for Broken {
        async fn handle(&self, _: &InboundMessage) -> anyhow::Result<Vec<Value>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            anyhow::bail!("the handler has a bug")
        }
    }
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    enqueue(&store, &text_notification("2348000000001", "wamid.bad", "boom", 1)).await;
    enqueue(&store, &text_notification("2348000000001", "wamid.next", "after", 2)).await;
    let broken = Arc::new(Broken(AtomicUsize::new(0)));
    let dispatcher = Dispatcher::new(store.clone(), broken.clone(), LEASE, 10);

    let mut outcomes = Vec::new();
    for attempt in 0..5 {
        outcomes.extend(dispatcher.run_once(t(attempt * 31)).await.unwrap());
    }
    assert_eq!(outcomes, [Outcome::Retry, Outcome::Retry, Outcome::Retry, Outcome::Retry, Outcome::Failed]);
    assert_eq!(broken.0.load(Ordering::SeqCst), 5);
    let inbox = store.inbox_for_sender("wa:2348000000001").await.unwrap();
    assert_eq!(inbox[0].state, "failed");
    assert_eq!(inbox[1].state, "pending", "the customer's next message is not blocked for ever");
}

#[tokio::test]
async fn two_instances_answer_every_message_once_and_each_customer_in_order() {
    let first = webhook_app().await;
    let env = [
        ("PORT", "0".to_owned()),
        ("LOG_FORMAT", "json".to_owned()),
        ("DATABASE_URL", first.state.config.database.url.expose_secret().to_owned()),
        ("WHATSAPP_APP_SECRET", SECRET.to_owned()),
    ];
    let mut config = Config::from_vars(env.map(|(k, v)| (k.to_owned(), v))).unwrap();
    config.kv = first.state.config.kv.clone();
    let second = TestApp::spawn_sharing(config).await;

    // 50 customers × 20 messages, each delivered three times to either instance. Each
    // customer's messages are sent in order; customers and redeliveries interleave freely.
    let customers: Vec<_> = (0..50)
        .map(|c| {
            let urls = [first.url("/webhook"), second.url("/webhook")];
            let client = first.client.clone();
            tokio::spawn(async move {
                for n in 0..20 {
                    let body = text_notification(
                        &format!("23480200000{c:02}"),
                        &format!("wamid.c{c}m{n}"),
                        &format!("{n}"),
                        n,
                    );
                    let signature = signature::sign(SECRET.as_bytes(), &body);
                    let copies = (0..3).map(|copy| {
                        let request = client
                            .post(&urls[usize::try_from(c + n + copy).unwrap() % 2])
                            .header("x-hub-signature-256", &signature);
                        request.body(body.clone()).send()
                    });
                    for response in futures_util::future::join_all(copies).await {
                        assert_eq!(response.unwrap().status(), 200);
                    }
                }
            })
        })
        .collect();
    for customer in customers {
        customer.await.unwrap();
    }

    let store = first.state.store.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    for c in 0..50 {
        let key = format!("wa:23480200000{c:02}");
        loop {
            let inbox = store.inbox_for_sender(&key).await.unwrap();
            if inbox.len() == 20 && inbox.iter().all(|m| m.state == "done") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "customer {c}: {} handled of 20",
                inbox.iter().filter(|m| m.state == "done").count()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let outbox = store.outbox_for_recipient(&key).await.unwrap();
        let answered: Vec<_> = outbox.iter().map(|m| m.in_reply_to.clone().unwrap()).collect();
        let expected: Vec<_> = (0..20).map(|n| format!("wamid.c{c}m{n}")).collect();
        assert_eq!(answered, expected, "customer {c}: one reply per message, in order");
    }
}

#[tokio::test]
async fn a_served_app_answers_a_webhook_with_the_welcome() {
    let app = webhook_app().await;
    let body = text_notification("2348000000009", "wamid.welcome", "hi", 1);
    let status = post_signed(app.client.clone(), app.url("/webhook"), SECRET, body).await;
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let outbox = app.state.store.outbox_for_recipient("wa:2348000000009").await.unwrap();
        if let Some(reply) = outbox.first() {
            assert_eq!(reply.body.0["text"]["body"], teller::dispatch::WELCOME_TEXT);
            assert_eq!(reply.state, "pending", "sending it is the outbox sender's job");
            break;
        }
        assert!(Instant::now() < deadline, "no reply was queued");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn webhook_app() -> TestApp {
    let db = TestDb::new(SqlBackend::Postgres).await;
    db.store().await.close().await;
    let mut env = harness::base_env(&db);
    env.insert("WHATSAPP_APP_SECRET".into(), SECRET.into());
    TestApp::spawn_with(harness::config(env, harness::kv_config(KvKind::Redis)), db, |r| r).await
}
